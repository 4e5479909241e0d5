// The driver's charges against fakes of auth, central and the notification topic:
// central answers each request as a test scripts it, sealed as the real one does.

#include "services/driver/charger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <functional>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/common/kafka.h"
#include "services/common/message_auth.h"

namespace evc::driver {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const char kDriver[] = "ana";

auth::v1::NotificationKey Key(const std::string& key_id, char fill) {
  auth::v1::NotificationKey key;
  key.set_driver_id(kDriver);
  key.set_key_id(key_id);
  key.set_key(std::string(32, fill));
  return key;
}

class FakeAuth : public DriverAuth {
 public:
  absl::StatusOr<auth::v1::IssueChargeAssertionResponse> IssueChargeAssertion(
      const std::string& cp_id, const std::string& request_id) override {
    if (refuse) return absl::PermissionDeniedError("drivers only");
    auth::v1::IssueChargeAssertionResponse response;
    response.set_assertion("assertion-" + std::to_string(++issued));
    *response.mutable_notification_key() = Key("k1", 'a');
    return response;
  }
  absl::StatusOr<auth::v1::NotificationKey> GetNotificationKey(
      const std::string& driver_id) override {
    ++key_requests;
    return Key("k2", 'b');
  }
  bool refuse = false;
  int issued = 0;
  int key_requests = 0;
};

class FakeFeed : public NotificationFeed {
 public:
  std::optional<KafkaMessage> Next(absl::Duration wait) override {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(this, &FakeFeed::HasMessages), wait);
    if (messages_.empty()) return std::nullopt;
    KafkaMessage m = std::move(messages_.front());
    messages_.pop_front();
    return m;
  }
  void Push(KafkaMessage m) {
    absl::MutexLock lock(&mu_);
    messages_.push_back(std::move(m));
  }

 private:
  bool HasMessages() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !messages_.empty(); }

  absl::Mutex mu_;
  std::deque<KafkaMessage> messages_ ABSL_GUARDED_BY(mu_);
};

// Central as the driver sees it: takes requests, answers on the feed.
class FakeCentral : public Publisher, public SupplyStopper {
 public:
  explicit FakeCentral(FakeFeed& feed) : feed_(feed) {}

  absl::Status Publish(const std::string& topic, const std::string& key,
                       const google::protobuf::Message& message, Delivered on_delivery) override {
    EXPECT_EQ(topic, topics::kChargeRequests);
    events::v1::ChargeRequest request;
    request.CopyFrom(message);
    requests.push_back(request);
    if (answer) answer(request);
    return absl::OkStatus();
  }
  absl::Status StopCharge(const std::string& supply_id) override {
    stopped.push_back(supply_id);
    if (on_stop) on_stop(supply_id);
    return absl::OkStatus();
  }

  // `n` sealed for the driver under `key`, on the feed.
  void Send(events::v1::DriverNotification n, const auth::v1::NotificationKey& key = Key("k1", 'a'),
            const std::string& to = kDriver) {
    n.set_driver_id(to);
    auto sealed = SealNotification({key.key_id(), key.key()}, n);
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    feed_.Push(
        {.topic = topics::kDriverNotifications, .key = to, .payload = sealed->SerializeAsString()});
  }
  void Accept(const events::v1::ChargeRequest& r, const std::string& supply_id) {
    events::v1::DriverNotification n;
    n.set_request_id(r.request_id());
    n.mutable_accepted()->set_supply_id(supply_id);
    n.mutable_accepted()->set_price_millieuros_per_kwh(350);
    Send(n);
  }
  void Reading(const std::string& supply_id, int64_t energy_wh) {
    events::v1::DriverNotification n;
    n.mutable_reading()->set_supply_id(supply_id);
    n.mutable_reading()->set_energy_wh(energy_wh);
    n.mutable_reading()->set_power_w(22000);
    Send(n);
  }
  void Ticket(const std::string& supply_id, const std::string& cp_id) {
    events::v1::DriverNotification n;
    n.mutable_ticket()->set_supply_id(supply_id);
    n.mutable_ticket()->set_cp_id(cp_id);
    n.mutable_ticket()->set_energy_wh(1500);
    n.mutable_ticket()->set_amount_millieuros(530);
    n.mutable_ticket()->set_end_reason(common::v1::END_REASON_UNPLUGGED);
    Send(n);
  }

  std::function<void(const events::v1::ChargeRequest&)> answer;
  std::function<void(const std::string&)> on_stop;
  std::vector<events::v1::ChargeRequest> requests;
  std::vector<std::string> stopped;

 private:
  FakeFeed& feed_;
};

class ChargerTest : public ::testing::Test {
 protected:
  ChargerTest() : out_(open_memstream(&buffer_, &size_)) {}
  ~ChargerTest() override {
    std::fclose(out_);
    std::free(buffer_);
  }

  Charger NewCharger(ChargeOptions options = {.answer_timeout = absl::Milliseconds(200)}) {
    return Charger(kDriver, central, inbox, auth, central, stopping, options, out_);
  }
  std::string Printed() {
    std::fflush(out_);
    return std::string(buffer_, size_);
  }

  FakeAuth auth;
  FakeFeed feed;
  FakeCentral central{feed};
  absl::Notification stopping;
  char* buffer_ = nullptr;
  size_t size_ = 0;
  std::FILE* out_;
  Inbox inbox{kDriver, auth, feed, stopping, out_};
};

TEST_F(ChargerTest, ARejectionIsPrintedWithItsReason) {
  central.answer = [&](const events::v1::ChargeRequest& r) {
    events::v1::DriverNotification n;
    n.set_request_id(r.request_id());
    n.mutable_rejected()->set_detail("charging point is busy");
    central.Send(n);
  };
  EXPECT_TRUE(NewCharger().ChargeAt("ALC-1"));
  ASSERT_EQ(central.requests.size(), 1u);
  EXPECT_EQ(central.requests[0].cp_id(), "ALC-1");
  EXPECT_EQ(central.requests[0].driver_id(), kDriver);
  EXPECT_EQ(central.requests[0].assertion(), "assertion-1");
  EXPECT_THAT(Printed(), HasSubstr("  REJECTED at ALC-1: charging point is busy\n"));
}

TEST_F(ChargerTest, AnAcceptedChargeIsFollowedThroughItsReadingsToTheTicket) {
  central.answer = [&](const events::v1::ChargeRequest& r) {
    central.Accept(r, "S1");
    central.Reading("OTHER", 999);  // another supply's: not printed
    central.Reading("S1", 1200);
    central.Ticket("S1", r.cp_id());
  };
  EXPECT_TRUE(NewCharger().ChargeAt("ALC-1"));
  const std::string printed = Printed();
  EXPECT_THAT(printed,
              HasSubstr("  ACCEPTED: supply S1 at ALC-1 (0.350 EUR/kWh); waiting for the plug\n"));
  EXPECT_THAT(printed, HasSubstr("  ALC-1     1.200 kWh"));
  EXPECT_THAT(printed, Not(HasSubstr("0.999 kWh")));
  EXPECT_THAT(printed, HasSubstr("  TICKET  supply S1 at ALC-1\n"));
  EXPECT_THAT(printed,
              HasSubstr("energy 1.500 kWh  x 0.000 EUR/kWh  =  0.53 EUR   (vehicle unplugged)"));
  EXPECT_TRUE(central.stopped.empty());
}

TEST_F(ChargerTest, AnUnansweredRequestIsSentAgainWithTheSameIdAndAFreshAssertion) {
  central.answer = [&](const events::v1::ChargeRequest& r) {
    if (central.requests.size() < 2) return;
    central.Accept(r, "S1");
    central.Ticket("S1", r.cp_id());
  };
  EXPECT_TRUE(NewCharger().ChargeAt("ALC-1"));
  ASSERT_EQ(central.requests.size(), 2u);
  EXPECT_EQ(central.requests[0].request_id(), central.requests[1].request_id());
  EXPECT_NE(central.requests[0].assertion(), central.requests[1].assertion());
  EXPECT_THAT(Printed(), HasSubstr("no answer from central yet; asking again"));
}

TEST_F(ChargerTest, CentralSilentOnEveryAttemptIsGivenUpOn) {
  EXPECT_TRUE(
      NewCharger({.answer_timeout = absl::Milliseconds(50), .attempts = 2}).ChargeAt("ALC-1"));
  EXPECT_EQ(central.requests.size(), 2u);
  EXPECT_THAT(Printed(), HasSubstr("central did not answer; giving up on ALC-1"));
}

TEST_F(ChargerTest, NoAssertionFromAuthIsAHardError) {
  auth.refuse = true;
  EXPECT_FALSE(NewCharger().ChargeAt("ALC-1"));
  EXPECT_TRUE(central.requests.empty());
  EXPECT_THAT(Printed(),
              HasSubstr("auth gave no charge assertion: PERMISSION_DENIED: drivers only"));
}

TEST_F(ChargerTest, StopAfterAsksCentralToStopTheSupply) {
  central.answer = [&](const events::v1::ChargeRequest& r) { central.Accept(r, "S1"); };
  central.on_stop = [&](const std::string& supply_id) { central.Ticket(supply_id, "ALC-1"); };
  EXPECT_TRUE(NewCharger({.answer_timeout = absl::Seconds(5), .stop_after = absl::Milliseconds(1)})
                  .ChargeAt("ALC-1"));
  EXPECT_EQ(central.stopped, std::vector<std::string>{"S1"});
  EXPECT_THAT(Printed(), HasSubstr("  stop requested: ok\n"));
  EXPECT_THAT(Printed(), HasSubstr("TICKET  supply S1"));
}

TEST_F(ChargerTest, OthersNotificationsAreSkippedAndANewKeyIsAskedOfAuthOnce) {
  central.answer = [&](const events::v1::ChargeRequest& r) {
    events::v1::DriverNotification n;
    n.set_request_id(r.request_id());
    n.mutable_rejected()->set_detail("not for ana");
    central.Send(n, Key("k1", 'a'), "bob");
    n.mutable_rejected()->set_detail("under a rotated key");
    central.Send(n, Key("k2", 'b'));
  };
  EXPECT_TRUE(NewCharger().ChargeAt("ALC-1"));
  EXPECT_EQ(auth.key_requests, 1);
  EXPECT_THAT(Printed(), Not(HasSubstr("not for ana")));
  EXPECT_THAT(Printed(), HasSubstr("REJECTED at ALC-1: under a rotated key"));
}

TEST_F(ChargerTest, EachCpIsAskedInTurn) {
  central.answer = [&](const events::v1::ChargeRequest& r) {
    events::v1::DriverNotification n;
    n.set_request_id(r.request_id());
    n.mutable_rejected()->set_detail("busy");
    central.Send(n);
  };
  EXPECT_TRUE(NewCharger().ChargeAtEach({"ALC-1", "MAD-2"}, /*loop=*/false, absl::Milliseconds(1)));
  ASSERT_EQ(central.requests.size(), 2u);
  EXPECT_EQ(central.requests[0].cp_id(), "ALC-1");
  EXPECT_EQ(central.requests[1].cp_id(), "MAD-2");
}

}  // namespace
}  // namespace evc::driver
