// Issue 17: a rolling restart of both central replicas under load loses
// nothing. Two replicas on one Postgres; CPs whose monitors know both; drivers
// charging and stopping all along through a channel that follows the leader.
// The follower restarts, then the leader (SIGTERM: it resigns, the other takes
// over), as a Kubernetes rolling update does. Every charge accepted ends with
// exactly one ticket, no supply stays open, no supply exists that no driver
// was told of, and the long supplies' telemetry kept flowing into their tickets.

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "tests/integration/loop_client.h"
#include "tests/integration/stack.h"

namespace evc::testing {
namespace {

using central::v1::CentralService;
using grpc::health::v1::HealthCheckResponse;

constexpr char kCentralService[] = "evc.central.v1.CentralService";
const std::vector<std::string> kLongCps = {"RR-L1", "RR-L2"};
const std::vector<std::string> kCycleCps = {"RR-C1", "RR-C2"};

// Drivers that charge and stop in a loop at their CP, through the leader,
// retrying whatever a take-over makes UNAVAILABLE; remembers every supply
// central accepted.
class ChargeCycles {
 public:
  ChargeCycles(Stack& stack, const std::vector<std::string>& cps) {
    for (const std::string& cp : cps) {
      threads_.emplace_back([this, &stack, cp] { Loop(stack, cp); });
    }
  }
  ~ChargeCycles() { Stop(); }
  void Stop() {
    stopping_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  std::vector<std::string> accepted() {
    absl::MutexLock lock(&mu_);
    return accepted_;
  }
  std::vector<std::string> failures() {
    absl::MutexLock lock(&mu_);
    return failures_;
  }

 private:
  static std::string DriverOf(const std::string& cp) { return "driver-" + cp; }
  // Retries while the answer is UNAVAILABLE (no leader yet, or a follower's
  // refusal), for up to 60 s.
  template <typename Call>
  auto Retrying(Call call) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    auto result = call();
    while (!result.ok() && absl::IsUnavailable(result.status()) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(200));
      result = call();
    }
    return result;
  }
  void Loop(Stack& stack, const std::string& cp) {
    auto central = stack.CentralAs(stack.driver(DriverOf(cp)));
    for (int cycle = 0; !stopping_; ++cycle) {
      central::v1::RequestChargeRequest request;
      request.set_cp_id(cp);
      // The same id on every retry: a request applied before a take-over is
      // answered, not applied twice.
      request.set_request_id(absl::StrCat(cp, "-", cycle));
      auto charged = Retrying([&] {
        return CallUnary(&CentralService::Stub::RequestCharge, *central, request, absl::Seconds(10));
      });
      if (!charged.ok()) {
        // The CP may still be closing the previous supply: not a loss.
        if (!absl::IsFailedPrecondition(charged.status())) Failed(cp, "charge", charged.status());
        absl::SleepFor(absl::Milliseconds(500));
        continue;
      }
      const std::string supply = charged->supply().supply_id();
      {
        absl::MutexLock lock(&mu_);
        accepted_.push_back(supply);
      }
      absl::SleepFor(absl::Seconds(2));
      central::v1::StopChargeRequest stop;
      stop.set_supply_id(supply);
      auto stopped = Retrying([&] {
        return CallUnary(&CentralService::Stub::StopCharge, *central, stop, absl::Seconds(10));
      });
      // Already ending (the engine's completion won the race) is fine.
      if (!stopped.ok() && !absl::IsFailedPrecondition(stopped.status())) {
        Failed(cp, "stop", stopped.status());
      }
      // Wait for the CP to be free again before the next cycle.
      Stack::WaitFor([&] {
        auto s = stack.Status(cp);
        return s && s->state() == common::v1::CP_STATE_ACTIVE;
      }, absl::Seconds(30));
    }
  }
  void Failed(const std::string& cp, const std::string& what, const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    failures_.push_back(absl::StrCat(cp, " ", what, ": ", status.ToString()));
  }

  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  std::vector<std::string> accepted_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> failures_ ABSL_GUARDED_BY(mu_);
};

class HaRollingTest : public StackSuite<HaRollingTest> {
 public:
  static Stack::Options StackOptions() {
    Stack::Options options;
    options.central_flags = {"--leader_lease=3s", "--leader_renew=1s", "--replica_id=central-a"};
    return options;
  }
  static absl::Status AfterStart(Stack& stack) {
    second_port_ = FreePort();
    second_ = StartSecond(stack);
    if (!Stack::WaitFor([&] { return stack.Health(second_port_, "").has_value(); })) {
      return absl::UnavailableError("the second central never answered: see central-b.log");
    }
    stack.FollowCentralLeader({second_port_});
    return absl::OkStatus();
  }
  static void TearDownTestSuite() {
    second_.reset();
    StackSuite<HaRollingTest>::TearDownTestSuite();
  }

 protected:
  static std::unique_ptr<Process> StartSecond(Stack& stack) {
    return stack.StartCentralReplica("central-b", second_port_, {"--replica_id=central-b"});
  }
  static bool Leads(int port) { return stack().Health(port, kCentralService) == HealthCheckResponse::SERVING; }
  static int first_port() { return std::stoi(stack().central_address().substr(10)); }
  static int Rows(const std::string& query) { return std::stoi(stack().Sql(query)); }
  static void BringUp(const std::string& cp) {
    ASSERT_TRUE(stack().RegisterCp(cp).ok());
    ASSERT_TRUE(stack().AddDriver("driver-" + cp).ok());
    stack().StartEngine(cp);
    stack().StartMonitor(cp, stack().central_target());
    ASSERT_TRUE(stack().WaitForState(cp, common::v1::CP_STATE_ACTIVE)) << cp;
  }

  void TearDown() override {
    if (!HasFailure()) return;
    stack().KeepDirectory();
    std::printf("logs kept in %s\n", stack().dir().c_str());
  }

  static inline int second_port_ = 0;
  static inline std::unique_ptr<Process> second_;
};

TEST_F(HaRollingTest, RollingRestartOfBothReplicasUnderLoadLosesNothing) {
  for (const auto& cp : kLongCps) ASSERT_NO_FATAL_FAILURE(BringUp(cp));
  for (const auto& cp : kCycleCps) ASSERT_NO_FATAL_FAILURE(BringUp(cp));
  ASSERT_TRUE(Leads(first_port()));
  LoopClient loop(stack());
  // Two supplies that run through both restarts.
  std::vector<std::string> long_supplies;
  for (const auto& cp : kLongCps) {
    auto s = loop.Request(cp, "driver-" + cp);
    ASSERT_TRUE(s.ok()) << s.status();
    long_supplies.push_back(s->supply_id());
  }
  ChargeCycles cycles(stack(), kCycleCps);
  absl::SleepFor(absl::Seconds(5));

  // The follower first, as a rolling update takes the pods one by one.
  second_->Stop(absl::Seconds(10));
  second_ = StartSecond(stack());
  ASSERT_TRUE(Stack::WaitFor([] { return stack().Health(second_port_, "").has_value(); }, absl::Seconds(30)));
  absl::SleepFor(absl::Seconds(5));
  ASSERT_TRUE(Leads(first_port())) << "restarting the follower moved nothing";

  // Then the leader: it resigns on SIGTERM, the other takes over, and it
  // comes back as a follower.
  const absl::Time stopped = absl::Now();
  stack().central_process().Stop(absl::Seconds(10));
  ASSERT_TRUE(Stack::WaitFor([] { return Leads(second_port_); }, absl::Seconds(30)));
  std::printf("leader stopped (SIGTERM): the other replica leads after %s\n",
              absl::FormatDuration(absl::Now() - stopped).c_str());
  ASSERT_TRUE(stack().RestartCentral().ok());
  EXPECT_EQ(Rows("SELECT epoch FROM central_leader"), 2) << "one take-over, no flapping";
  for (const auto& cp : kLongCps) {
    EXPECT_TRUE(stack().WaitForState(cp, common::v1::CP_STATE_SUPPLYING, absl::Seconds(30)))
        << cp << " did not relink to the new leader with its supply";
  }
  absl::SleepFor(absl::Seconds(8));  // charging and stopping go on under the new leader
  cycles.Stop();
  EXPECT_TRUE(cycles.failures().empty()) << absl::StrJoin(cycles.failures(), "\n");
  const std::vector<std::string> accepted = cycles.accepted();
  EXPECT_GE(accepted.size(), 6u) << "the load kept running through the restarts";

  // The long supplies end now; their energy went on across both restarts.
  for (const std::string& id : long_supplies) {
    auto view = loop.GetSupply(id);
    ASSERT_TRUE(view.ok()) << view.status();
    EXPECT_EQ(view->supply().phase(), common::v1::SUPPLY_PHASE_CHARGING) << id;
    central::v1::StopChargeRequest stop;
    stop.set_supply_id(id);
    auto central = stack().CentralAs(stack().driver("driver-" + view->supply().cp_id()));
    ASSERT_TRUE(CallUnary(&CentralService::Stub::StopCharge, *central, stop, absl::Seconds(10)).ok());
  }
  std::vector<std::string> every = accepted;
  every.insert(every.end(), long_supplies.begin(), long_supplies.end());
  for (const std::string& id : every) {
    EXPECT_TRUE(Stack::WaitFor([&] { return loop.TicketRows(id) >= 1; }, absl::Seconds(60)))
        << id << " never got its ticket";
    EXPECT_EQ(loop.TicketRows(id), 1) << id;
  }
  for (const std::string& id : long_supplies) {
    // 36 kW for well over 25 s: at least 200 Wh, applied across both restarts.
    EXPECT_GE(Rows("SELECT energy_wh FROM tickets WHERE supply_id = '" + id + "'"), 200) << id;
  }
  EXPECT_EQ(Rows("SELECT count(*) FROM supplies WHERE ended_at IS NULL"), 0)
      << "a supply stayed open";
  // No supply no driver was told of: every row is one the drivers saw accepted.
  EXPECT_EQ(Rows("SELECT count(*) FROM supplies WHERE cp_id LIKE 'RR-%'"),
            static_cast<int>(every.size()));
  EXPECT_EQ(Rows("SELECT count(*) FROM tickets WHERE cp_id LIKE 'RR-%'"), static_cast<int>(every.size()));
}

}  // namespace
}  // namespace evc::testing
