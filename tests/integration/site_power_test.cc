// Site power limits and the audit topic (issue 20) with real processes: a
// site's cap limits the summed power of its supplies as the network stream
// shows it, the shares follow supplies starting and ending and survive a
// restart of central; audit records of several services arrive on Kafka.

#include <thread>

#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/common/grpc_util.h"
#include "services/common/kafka.h"
#include "tests/integration/loop_client.h"
#include "tests/integration/stack.h"

namespace evc::testing {
namespace {

using central::v1::CentralService;

constexpr char kCity[] = "Powerville";
constexpr char kAddress[] = "Test street 1";  // every CP the stack registers has it
constexpr int64_t kCapW = 30000;

// Follows WatchNetwork as the operator and keeps, for the site's CPs, each
// one's latest supply power and limit; after every update, checks the sum.
class SiteWatch {
 public:
  SiteWatch(Stack& stack, std::set<std::string> cps) : cps_(std::move(cps)) {
    stub_ = stack.CentralAs(stack.operator_session());
    reader_ = stub_->WatchNetwork(&context_, central::v1::WatchNetworkRequest());
    thread_ = std::thread([this] { Loop(); });
  }
  ~SiteWatch() {
    context_.TryCancel();
    thread_.join();
  }
  // The largest summed power the stream showed for the site.
  int64_t max_sum() {
    absl::MutexLock lock(&mu_);
    return max_sum_;
  }
  int64_t max_limit_sum() {
    absl::MutexLock lock(&mu_);
    return max_limit_sum_;
  }
  // Waits until each CP named shows that power and limit.
  bool WaitFor(const std::map<std::string, int64_t>& power, absl::Duration timeout = absl::Seconds(20)) {
    return Stack::WaitFor(
        [&] {
          absl::MutexLock lock(&mu_);
          for (const auto& [cp, w] : power) {
            if (power_[cp] != w || limit_[cp] != w) return false;
          }
          return true;
        },
        timeout);
  }
  std::string Seen() {
    absl::MutexLock lock(&mu_);
    std::string out;
    for (const auto& [cp, w] : power_) absl::StrAppend(&out, cp, "=", w, "W/", limit_[cp], "W ");
    return out;
  }

 private:
  void Loop() {
    central::v1::NetworkUpdate u;
    while (reader_->Read(&u)) {
      if (!u.has_charging_point()) continue;
      const auto& s = u.charging_point();
      const std::string& id = s.charging_point().cp_id();
      if (!cps_.count(id)) continue;
      absl::MutexLock lock(&mu_);
      const bool open = s.has_supply() && s.supply().phase() != common::v1::SUPPLY_PHASE_ENDED;
      power_[id] = open ? s.supply().power_w() : 0;
      limit_[id] = open ? s.supply().power_limit_w() : 0;
      int64_t sum = 0, limits = 0;
      for (const auto& [cp, w] : power_) sum += w;
      for (const auto& [cp, w] : limit_) limits += w;
      max_sum_ = std::max(max_sum_, sum);
      max_limit_sum_ = std::max(max_limit_sum_, limits);
    }
    reader_->Finish();
  }

  const std::set<std::string> cps_;
  std::unique_ptr<CentralService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<central::v1::NetworkUpdate>> reader_;
  std::thread thread_;
  absl::Mutex mu_;
  std::map<std::string, int64_t> power_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> limit_ ABSL_GUARDED_BY(mu_);
  int64_t max_sum_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t max_limit_sum_ ABSL_GUARDED_BY(mu_) = 0;
};

class SitePowerTest : public StackSuite<SitePowerTest> {
 public:
  static Stack::Options StackOptions() { return {}; }

 protected:
  absl::StatusOr<central::v1::SitePowerCap> SetCap(CentralService::Stub& stub, int64_t cap_w) {
    central::v1::SetSitePowerCapRequest r;
    r.set_address(kAddress);
    r.set_city(kCity);
    r.set_cap_w(cap_w);
    return CallUnary(&CentralService::Stub::SetSitePowerCap, stub, r, absl::Seconds(10));
  }
};

TEST_F(SitePowerTest, ADriverCannotCapASite) {
  ASSERT_TRUE(stack().AddDriver("pw-nocap").ok());
  auto driver = stack().CentralAs(stack().driver("pw-nocap"));
  EXPECT_EQ(SetCap(*driver, 1000).status().code(), absl::StatusCode::kPermissionDenied);
  auto anonymous = CentralService::NewStub(MakeChannel(stack().central_address(), nullptr, &stack().client_tls()));
  EXPECT_EQ(SetCap(*anonymous, 1000).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CallUnary(&CentralService::Stub::ListSitePowerCaps, *driver,
                      central::v1::ListSitePowerCapsRequest(), absl::Seconds(5))
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  central::v1::SetSitePowerCapRequest no_city;
  no_city.set_address(kAddress);
  no_city.set_cap_w(1000);
  EXPECT_EQ(CallUnary(&CentralService::Stub::SetSitePowerCap, stack().central(), no_city,
                      absl::Seconds(5))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SitePowerTest, ASiteCapLimitsTheSummedPowerOfItsSuppliesOnTheStream) {
  const std::vector<std::string> cps = {"PW-1", "PW-2", "PW-3"};
  LoopClient loop(stack());
  for (const auto& cp : cps) ASSERT_NO_FATAL_FAILURE(loop.BringUp(cp, "d-" + cp, kCity));  // 36 kW each
  auto cap = SetCap(stack().central(), kCapW);
  ASSERT_TRUE(cap.ok()) << cap.status();
  EXPECT_EQ(cap->cp_ids_size(), 3);

  SiteWatch watch(stack(), {cps.begin(), cps.end()});
  // One after the other, each once the one before charges.
  ASSERT_TRUE(loop.Request("PW-1", "d-PW-1").ok());
  ASSERT_TRUE(watch.WaitFor({{"PW-1", 30000}})) << watch.Seen();
  ASSERT_TRUE(loop.Request("PW-2", "d-PW-2").ok());
  ASSERT_TRUE(watch.WaitFor({{"PW-1", 15000}, {"PW-2", 15000}})) << watch.Seen();
  auto third = loop.Request("PW-3", "d-PW-3");
  ASSERT_TRUE(third.ok());
  ASSERT_TRUE(watch.WaitFor({{"PW-1", 10000}, {"PW-2", 10000}, {"PW-3", 10000}})) << watch.Seen();
  absl::SleepFor(absl::Seconds(3));  // a few readings at the shares
  EXPECT_LE(watch.max_sum(), kCapW) << "the stream showed the site above its cap";
  EXPECT_LE(watch.max_limit_sum(), kCapW);
  EXPECT_GE(watch.max_sum(), kCapW - 3) << "the cap is used";

  // Central restarts: the cap is in Postgres, the shares are computed again.
  ASSERT_TRUE(stack().RestartCentral().ok());
  {
    SiteWatch after(stack(), {cps.begin(), cps.end()});
    EXPECT_TRUE(after.WaitFor({{"PW-1", 10000}, {"PW-2", 10000}, {"PW-3", 10000}}, absl::Seconds(30)))
        << after.Seen();
    auto listed = CallUnary(&CentralService::Stub::ListSitePowerCaps, stack().central(),
                            central::v1::ListSitePowerCapsRequest(), absl::Seconds(5));
    ASSERT_TRUE(listed.ok()) << listed.status();
    ASSERT_EQ(listed->sites_size(), 1);
    EXPECT_EQ(listed->sites(0).cap_w(), kCapW);
    EXPECT_EQ(listed->sites(0).allocated_w(), kCapW);
  }

  // A supply ends: the two left share the cap; a cap change reaches them.
  SiteWatch later(stack(), {cps.begin(), cps.end()});
  ASSERT_TRUE(loop.Stop(third->supply_id(), "d-PW-3").ok());
  EXPECT_TRUE(later.WaitFor({{"PW-1", 15000}, {"PW-2", 15000}, {"PW-3", 0}})) << later.Seen();
  ASSERT_TRUE(SetCap(stack().central(), 12000).ok());
  EXPECT_TRUE(later.WaitFor({{"PW-1", 6000}, {"PW-2", 6000}})) << later.Seen();
  EXPECT_LE(later.max_sum(), kCapW);
  ASSERT_TRUE(SetCap(stack().central(), 0).ok());
  EXPECT_TRUE(later.WaitFor({{"PW-1", 36000}, {"PW-2", 36000}})) << "lifted: each CP's maximum";
}

TEST_F(SitePowerTest, AuditRecordsArriveOnKafka) {
  absl::Mutex mu;
  std::vector<common::v1::AuditEvent> seen;
  std::vector<std::string> keys;
  auto consumer = KafkaConsumer::Create({.brokers = stack().kafka(),
                                         .group_id = "siem-test",
                                         .client_id = "siem-test",
                                         .topics = {topics::kAuditEvents}});
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  (*consumer)->Start([&](std::span<const KafkaMessage> batch) {
    absl::MutexLock lock(&mu);
    for (const KafkaMessage& m : batch) {
      common::v1::AuditEvent e;
      EXPECT_TRUE(e.ParseFromString(m.payload)) << "every event parses";
      seen.push_back(e);
      keys.push_back(m.key);
    }
  });
  // Central's record (an operator's cap) and auth's (a login).
  ASSERT_TRUE(SetCap(stack().central(), 5000).ok());
  ASSERT_TRUE(stack().AddDriver("pw-audit").ok());
  auto has = [&](const std::string& action, const std::string& actor) {
    absl::MutexLock lock(&mu);
    for (size_t i = 0; i < seen.size(); ++i) {
      if (seen[i].action() == action && seen[i].actor() == actor) {
        EXPECT_EQ(keys[i], seen[i].cp_id().empty() ? seen[i].actor() : seen[i].cp_id());
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(Stack::WaitFor([&] { return has("site_power_cap_set", "admin"); }, absl::Seconds(30)));
  EXPECT_TRUE(Stack::WaitFor([&] {
    absl::MutexLock lock(&mu);
    for (const auto& e : seen) {
      if (e.category() == "AUTH" && e.actor() == "pw-audit") return true;
    }
    return false;
  }, absl::Seconds(30))) << "auth's records too";
  {
    absl::MutexLock lock(&mu);
    for (const auto& e : seen) {
      EXPECT_EQ(e.details_json().find(Stack::kDriverPassword), std::string::npos) << e.action();
    }
  }
  (*consumer)->Stop();
  ASSERT_TRUE(SetCap(stack().central(), 0).ok());
}

}  // namespace
}  // namespace evc::testing
