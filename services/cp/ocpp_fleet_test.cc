// The simulated OCPP charger against the gateway's own WebSocket server, with
// a central system faked behind it: boot, status, a remote start and stop, the
// unplug rules, availability, a refused password and a reconnect.

#include "services/cp/ocpp_fleet.h"

#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/ocpp/schemas.h"
#include "services/ocpp/server.h"

namespace evc::cp {
namespace {

using nlohmann::json;

// Polls `done` until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

struct Received {
  std::string action;
  json payload;
};

// The central system's side: answers every CALL as a CSMS would and keeps them.
class FakeCentralSystem : public ocpp::ChargerSession, public ocpp::ChargerAdmission {
 public:
  ocpp::Answer OnCall(const std::string& action, const json& payload) override {
    absl::MutexLock lock(&mu_);
    received_.push_back({action, payload});
    if (action == "BootNotification") {
      return json{{"status", "Accepted"}, {"currentTime", "2026-12-07T10:00:00.000Z"}, {"interval", 1}};
    }
    if (action == "Heartbeat") return json{{"currentTime", "2026-12-07T10:00:00.000Z"}};
    if (action == "StartTransaction") return json{{"transactionId", 42}, {"idTagInfo", {{"status", "Accepted"}}}};
    return json::object();  // StatusNotification, MeterValues, StopTransaction
  }
  void Connected(std::shared_ptr<ocpp::ChargerLink> link) override {
    absl::MutexLock lock(&mu_);
    link_ = std::move(link);
    ++connections_;
  }
  void Disconnected(const ocpp::ChargerLink& link) override {
    absl::MutexLock lock(&mu_);
    if (link_.get() == &link) link_.reset();
  }
  void Admit(const std::string& cp_id, const std::string& password, const std::string&, Done done) override {
    {
      absl::MutexLock lock(&mu_);
      ++admissions_;
    }
    if (password != "s3cret") return done(absl::UnauthenticatedError("wrong password"));
    done(std::shared_ptr<ChargerSession>(this, [](ChargerSession*) {}));
  }

  // A CALL to the charger, waited for.
  absl::StatusOr<json> Call(const std::string& action, json payload) {
    std::shared_ptr<ocpp::ChargerLink> link;
    {
      absl::MutexLock lock(&mu_);
      link = link_;
    }
    if (link == nullptr) return absl::UnavailableError("no charger connected");
    absl::Notification done;
    absl::StatusOr<json> result;
    link->Call(action, std::move(payload), [&](absl::StatusOr<json> r) {
      result = std::move(r);
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }

  void Drop() {
    absl::MutexLock lock(&mu_);
    if (link_) link_->Close("dropped by the test");
  }

  // Waits until `n` CALLs of `action` have arrived; the last of them.
  std::optional<json> WaitFor(const std::string& action, int n = 1, absl::Duration timeout = absl::Seconds(10)) {
    if (!Eventually([&] { return Count(action) >= n; }, timeout)) return std::nullopt;
    absl::MutexLock lock(&mu_);
    for (auto it = received_.rbegin(); it != received_.rend(); ++it) {
      if (it->action == action) return it->payload;
    }
    return std::nullopt;
  }
  // The statuses reported, in order.
  std::vector<std::string> Statuses() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> s;
    for (const Received& r : received_) {
      if (r.action == "StatusNotification") s.push_back(r.payload["status"]);
    }
    return s;
  }
  int Count(const std::string& action) {
    absl::MutexLock lock(&mu_);
    return std::count_if(received_.begin(), received_.end(), [&](const Received& r) { return r.action == action; });
  }
  int admissions() {
    absl::MutexLock lock(&mu_);
    return admissions_;
  }
  int connections() {
    absl::MutexLock lock(&mu_);
    return connections_;
  }
  // Waits until the charger is linked (again).
  bool WaitLinked(int connections) {
    return Eventually([&] {
      absl::MutexLock lock(&mu_);
      return link_ != nullptr && connections_ >= connections;
    });
  }

 private:
  absl::Mutex mu_;
  std::vector<Received> received_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<ocpp::ChargerLink> link_ ABSL_GUARDED_BY(mu_);
  int admissions_ ABSL_GUARDED_BY(mu_) = 0;
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
};

class OcppFleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ocpp::OcppServerConfig config;
    config.listen = "127.0.0.1:0";
    config.io_threads = 1;
    server_ = std::make_unique<ocpp::OcppServer>(config, central_, ocpp::Schemas::Ocpp16());
    ASSERT_TRUE(server_->Start().ok());
    url_ = *ocpp::ParseCentralSystemUrl(absl::StrCat("ws://127.0.0.1:", server_->port(), "/ocpp"));
  }
  void TearDown() override {
    StopTicking();
    pool_.Stop();
    server_->Stop();
  }

  // A charger ticked every 20 ms until the test ends.
  SimulatedOcppCharger& StartCharger(OcppChargerBehaviour behaviour, const std::string& secret = "s3cret") {
    charger_ = std::make_unique<SimulatedOcppCharger>("CP-1", secret, behaviour, nullptr);
    ticker_ = std::thread([this] {
      do {
        charger_->Tick(absl::Now(), pool_, url_);
      } while (!stop_.WaitForNotificationWithTimeout(absl::Milliseconds(20)));
      charger_->Shutdown();
    });
    return *charger_;
  }
  void StopTicking() {
    if (!ticker_.joinable()) return;
    stop_.Notify();
    ticker_.join();
  }

  FakeCentralSystem central_;
  std::unique_ptr<ocpp::OcppServer> server_;
  ocpp::CentralSystemUrl url_;
  // After the charger: it stops (and calls the charger) first.
  std::unique_ptr<SimulatedOcppCharger> charger_;
  ocpp::OcppClientPool pool_{1, ocpp::Schemas::Ocpp16()};
  absl::Notification stop_;
  std::thread ticker_;
};

TEST(CentralSystemUrlTest, ParsesWsUrlsAndRefusesOthers) {
  auto url = ocpp::ParseCentralSystemUrl("ws://gateway.local:9220/ocpp/");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "gateway.local");
  EXPECT_EQ(url->port, "9220");
  EXPECT_EQ(url->path, "/ocpp");
  EXPECT_EQ(ocpp::ParseCentralSystemUrl("ws://h:1")->path, "");
  for (const char* bad : {"http://h:1/ocpp", "ws://h/ocpp", "ws://h:0/ocpp", "ws://h:70000/", "ws://:80/", "wss://h:1/"}) {
    EXPECT_FALSE(ocpp::ParseCentralSystemUrl(bad).ok()) << bad;
  }
}

TEST_F(OcppFleetTest, BootsAndChargesWhenStartedAndStoppedRemotely) {
  SimulatedOcppCharger& charger = StartCharger({.power_w = 36000, .meter_period = absl::Milliseconds(100)});
  ASSERT_TRUE(central_.WaitFor("BootNotification"));
  ASSERT_TRUE(central_.WaitFor("StatusNotification"));
  EXPECT_EQ(central_.Statuses().front(), "Available");
  ASSERT_TRUE(central_.WaitLinked(1));

  auto started = central_.Call("RemoteStartTransaction", json{{"connectorId", 1}, {"idTag", "SUPPLY-1"}});
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ((*started)["status"], "Accepted");
  auto start = central_.WaitFor("StartTransaction");
  ASSERT_TRUE(start);
  EXPECT_EQ((*start)["idTag"], "SUPPLY-1");
  const int64_t meter_start = (*start)["meterStart"];
  // A second start while charging is refused.
  auto again = central_.Call("RemoteStartTransaction", json{{"idTag", "SUPPLY-2"}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)["status"], "Rejected");

  auto meter = central_.WaitFor("MeterValues", 3);
  ASSERT_TRUE(meter);
  EXPECT_EQ((*meter)["transactionId"], 42);
  const json& samples = (*meter)["meterValue"][0]["sampledValue"];
  EXPECT_EQ(samples[0]["measurand"], "Energy.Active.Import.Register");
  EXPECT_GT(std::stoll(samples[0]["value"].get<std::string>()), meter_start);
  EXPECT_EQ(samples[1]["value"], "36000");
  EXPECT_TRUE(charger.charging());

  auto wrong = central_.Call("RemoteStopTransaction", json{{"transactionId", 7}});
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ((*wrong)["status"], "Rejected");
  auto stopped = central_.Call("RemoteStopTransaction", json{{"transactionId", 42}});
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ((*stopped)["status"], "Accepted");
  auto stop = central_.WaitFor("StopTransaction");
  ASSERT_TRUE(stop);
  EXPECT_EQ((*stop)["reason"], "Remote");
  EXPECT_GE((*stop)["meterStop"].get<int64_t>(), std::stoll(samples[0]["value"].get<std::string>()));
  ASSERT_TRUE(central_.WaitFor("StatusNotification", 4));
  EXPECT_EQ(central_.Statuses(), (std::vector<std::string>{"Available", "Preparing", "Charging", "Available"}));
  EXPECT_FALSE(charger.charging());
  // Heartbeats at the interval BootNotification gave (1 s).
  EXPECT_TRUE(central_.WaitFor("Heartbeat", 1, absl::Seconds(3)));
}

TEST_F(OcppFleetTest, UnplugsAfterItsReadingsAndAppliesAvailabilityAfterTheTransaction) {
  StartCharger({.unplug_after_readings = 3, .meter_period = absl::Milliseconds(50)});
  ASSERT_TRUE(central_.WaitLinked(1));
  ASSERT_TRUE(central_.WaitFor("StatusNotification"));
  ASSERT_TRUE(central_.Call("RemoteStartTransaction", json{{"idTag", "SUPPLY-1"}}).ok());
  ASSERT_TRUE(central_.WaitFor("MeterValues"));
  auto scheduled = central_.Call("ChangeAvailability", json{{"connectorId", 0}, {"type", "Inoperative"}});
  ASSERT_TRUE(scheduled.ok());
  EXPECT_EQ((*scheduled)["status"], "Scheduled");
  auto stop = central_.WaitFor("StopTransaction");
  ASSERT_TRUE(stop);
  EXPECT_EQ((*stop)["reason"], "EVDisconnected");
  EXPECT_EQ(central_.Count("MeterValues"), 3);
  ASSERT_TRUE(central_.WaitFor("StatusNotification", 4));
  EXPECT_EQ(central_.Statuses().back(), "Unavailable");
  // Inoperative: a remote start is refused until it is made operative again.
  auto refused = central_.Call("RemoteStartTransaction", json{{"idTag", "SUPPLY-2"}});
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ((*refused)["status"], "Rejected");
  auto operative = central_.Call("ChangeAvailability", json{{"connectorId", 0}, {"type", "Operative"}});
  ASSERT_TRUE(operative.ok());
  EXPECT_EQ((*operative)["status"], "Accepted");
  ASSERT_TRUE(central_.WaitFor("StatusNotification", 5));
  EXPECT_EQ(central_.Statuses().back(), "Available");
}

TEST_F(OcppFleetTest, ReconnectsWithoutBootingAgainAndGoesOnCharging) {
  SimulatedOcppCharger& charger = StartCharger({.meter_period = absl::Milliseconds(100)});
  ASSERT_TRUE(central_.WaitLinked(1));
  ASSERT_TRUE(central_.WaitFor("StatusNotification"));
  ASSERT_TRUE(central_.Call("RemoteStartTransaction", json{{"idTag", "SUPPLY-1"}}).ok());
  ASSERT_TRUE(central_.WaitFor("MeterValues"));
  central_.Drop();
  ASSERT_TRUE(central_.WaitLinked(2)) << "the charger did not come back";
  const int meter_values = central_.Count("MeterValues");
  EXPECT_TRUE(central_.WaitFor("MeterValues", meter_values + 2));
  EXPECT_EQ(central_.Count("BootNotification"), 1);
  EXPECT_EQ(central_.Statuses().back(), "Charging");
  EXPECT_TRUE(charger.charging());
}

TEST_F(OcppFleetTest, AWrongPasswordIsRefusedAndTriedAgainWithBackoff) {
  SimulatedOcppCharger& charger = StartCharger({}, "wrong");
  ASSERT_TRUE(Eventually([&] { return central_.admissions() >= 2; }, absl::Seconds(10)));
  EXPECT_FALSE(charger.connected());
  EXPECT_EQ(central_.connections(), 0);
  // Backoff: no more than a few attempts in a second.
  const int before = central_.admissions();
  absl::SleepFor(absl::Seconds(1));
  EXPECT_LE(central_.admissions() - before, 3);
}

TEST_F(OcppFleetTest, AnswersConfigurationTriggersAndWhatItDoesNotSupport) {
  StartCharger({.meter_period = absl::Seconds(10)});
  ASSERT_TRUE(central_.WaitLinked(1));
  auto config = central_.Call("GetConfiguration", json{{"key", {"MeterValueSampleInterval", "Nope"}}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)["configurationKey"][0]["value"], "10");
  EXPECT_EQ((*config)["unknownKey"][0], "Nope");
  auto changed = central_.Call("ChangeConfiguration", json{{"key", "MeterValueSampleInterval"}, {"value", "5"}});
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ((*changed)["status"], "Accepted");
  EXPECT_EQ((*central_.Call("ChangeConfiguration", json{{"key", "Foo"}, {"value", "1"}}))["status"], "NotSupported");
  EXPECT_EQ((*central_.Call("GetConfiguration", json::object()))["configurationKey"].size(), 3u);
  auto trigger = central_.Call("TriggerMessage", json{{"requestedMessage", "StatusNotification"}});
  ASSERT_TRUE(trigger.ok());
  EXPECT_EQ((*trigger)["status"], "Accepted");
  EXPECT_EQ((*central_.Call("Reset", json{{"type", "Soft"}}))["status"], "Rejected");
  auto unsupported = central_.Call("UnlockConnector", json{{"connectorId", 1}});
  EXPECT_TRUE(absl::IsFailedPrecondition(unsupported.status()) || absl::IsUnimplemented(unsupported.status()))
      << unsupported.status();
}

}  // namespace
}  // namespace evc::cp
