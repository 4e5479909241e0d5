// Issue 17: two central replicas on one Postgres. The leader killed (kill -9)
// during running supplies is replaced by the other within seconds, and every
// supply ends with exactly one ticket; a leader paused past its lease
// (SIGSTOP) and resumed after the take-over is fenced: it writes no row and
// exits with code 75.

#include <signal.h>

#include <future>

#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/central/central_replica.h"
#include "tests/integration/loop_client.h"
#include "tests/integration/stack.h"

namespace evc::testing {
namespace {

using central::v1::CentralService;
using grpc::health::v1::HealthCheckResponse;

constexpr char kCentralService[] = "evc.central.v1.CentralService";
constexpr char kSpareCp[] = "HA-SPARE";
constexpr char kSpareDriver[] = "ha-spare";

class HaCentralTest : public StackSuite<HaCentralTest> {
 public:
  static Stack::Options StackOptions() {
    Stack::Options options;
    options.central_flags = {"--leader_lease=3s", "--leader_renew=1s"};
    return options;
  }
  // The second replica, a follower of the stack's central.
  static absl::Status AfterStart(Stack& stack) {
    standby_port_ = FreePort();
    standby_ = stack.StartCentralReplica("central-b", standby_port_, {"--replica_id=central-b"})
                   .release();
    if (!Stack::WaitFor([&] { return stack.Health(standby_port_, "").has_value(); })) {
      return absl::UnavailableError("the second central never answered: see central-b.log");
    }
    return absl::OkStatus();
  }
  static void TearDownTestSuite() {
    delete standby_;
    StackSuite<HaCentralTest>::TearDownTestSuite();
  }

 protected:
  static std::string standby_address() { return absl::StrCat("127.0.0.1:", standby_port_); }
  std::unique_ptr<CentralService::Stub> StandbyAs(const std::string& driver) {
    return CentralService::NewStub(MakeChannel(
        standby_address(), stack().driver(driver).Bearer(), &stack().client_tls()));
  }
  static absl::StatusOr<central::v1::RequestChargeResponse> RequestCharge(
      CentralService::Stub& central, const std::string& cp, const std::string& driver) {
    central::v1::RequestChargeRequest r;
    r.set_cp_id(cp);
    r.set_driver_id(driver);
    return CallUnary(&CentralService::Stub::RequestCharge, central, r, absl::Seconds(10));
  }
  bool LeadsOn(int port) {
    return stack().Health(port, kCentralService) == HealthCheckResponse::SERVING;
  }
  int Rows(const std::string& query) { return std::stoi(stack().Sql(query)); }

  static inline int standby_port_ = 0;
  static inline Process* standby_ = nullptr;
};

TEST_F(HaCentralTest, FollowerRefusesCallsNamingTheLeaderAndIsNotReady) {
  EXPECT_EQ(stack().Health(standby_port_, kCentralService), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(stack().Health(standby_port_, ""), HealthCheckResponse::SERVING) << "alive";
  EXPECT_TRUE(LeadsOn(std::stoi(stack().central_address().substr(10))));
  ASSERT_TRUE(stack().AddDriver("ha-refused").ok());
  auto refused = RequestCharge(*StandbyAs("ha-refused"), "HA-NONE", "ha-refused");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), stack().central_address()))
      << refused.status();
  EXPECT_EQ(Rows("SELECT epoch FROM central_leader"), 1) << "a lone central leads at once";
}

TEST_F(HaCentralTest, KilledLeaderIsReplacedAndEverySupplyEndsWithOneTicket) {
  LoopClient loop(stack());
  std::vector<std::string> running;
  for (const std::string cp : {"HA-1", "HA-2", "HA-3"}) {
    const std::string driver = absl::AsciiStrToLower(cp);
    loop.BringUp(cp, driver);
    auto supply = loop.Request(cp, driver);
    ASSERT_TRUE(supply.ok()) << supply.status();
    running.push_back(supply->supply_id());
  }
  for (const std::string& id : running) EXPECT_GE(loop.WaitForEnergy(id, 20), 20);
  // A CP whose monitor is given both replicas: it links to the leader now and
  // follows leadership to the second replica (MakeCentralChannel), where it charges.
  ASSERT_TRUE(stack().RegisterCp(kSpareCp).ok());
  ASSERT_TRUE(stack().AddDriver(kSpareDriver).ok());
  stack().StartEngine(kSpareCp);
  stack().StartMonitor(kSpareCp, "ipv4:" + stack().central_address() + "," + standby_address());
  ASSERT_TRUE(stack().WaitForState(kSpareCp, common::v1::CP_STATE_ACTIVE)) << "linked to the first leader";

  stack().central_process().Kill();
  const absl::Time killed = absl::Now();
  ASSERT_TRUE(Stack::WaitFor([&] { return LeadsOn(standby_port_); }, absl::Seconds(30)));
  const absl::Duration to_leading = absl::Now() - killed;
  auto spare = StandbyAs(kSpareDriver);
  absl::StatusOr<central::v1::RequestChargeResponse> charged;
  ASSERT_TRUE(Stack::WaitFor([&] {
    charged = RequestCharge(*spare, kSpareCp, kSpareDriver);
    return charged.ok();
  }, absl::Seconds(60))) << charged.status();
  const absl::Duration to_charging = absl::Now() - killed;
  std::printf("take-over after kill -9: serving %s, first RequestCharge accepted %s (monitor relink included)\n",
              absl::FormatDuration(to_leading).c_str(), absl::FormatDuration(to_charging).c_str());
  EXPECT_EQ(Rows("SELECT epoch FROM central_leader"), 2);
  EXPECT_EQ(stack().Sql("SELECT holder FROM central_leader"), "central-b");

  // The killed leader's supplies: their monitors linked to it, so the new leader
  // closes them after --restart_grace, each with one ticket.
  for (const std::string& id : running) {
    EXPECT_TRUE(Stack::WaitFor([&] {
      return Rows("SELECT count(*) FROM tickets WHERE supply_id = '" + id + "'") > 0;
    }, absl::Seconds(60))) << id << " never got its ticket";
    EXPECT_EQ(loop.TicketRows(id), 1) << id;
  }
  central::v1::StopChargeRequest stop;
  stop.set_supply_id(charged->supply().supply_id());
  stop.set_driver_id(kSpareDriver);
  ASSERT_TRUE(CallUnary(&CentralService::Stub::StopCharge, *spare, stop, absl::Seconds(10)).ok());
  EXPECT_TRUE(Stack::WaitFor([&] { return loop.TicketRows(charged->supply().supply_id()) == 1; }));
  EXPECT_GE(Rows("SELECT count(*) FROM audit_events WHERE category = 'SYSTEM'"
                 " AND action = 'central_leading' AND details->>'replica' = 'central-b'"),
            1);
}

TEST_F(HaCentralTest, PausedOldLeaderIsFencedWritesNothingAndExits75) {
  ASSERT_TRUE(LeadsOn(standby_port_)) << "runs after the kill test: central-b leads";
  // The killed replica comes back (as its supervisor would start it): a follower.
  const int a_port = std::stoi(stack().central_address().substr(10));
  std::unique_ptr<Process> a = stack().StartCentralReplica("central-a2", a_port, {});
  ASSERT_TRUE(Stack::WaitFor([&] { return stack().Health(a_port, "").has_value(); }));
  EXPECT_EQ(stack().Health(a_port, kCentralService), HealthCheckResponse::NOT_SERVING);
  const int supplies_before = Rows("SELECT count(*) FROM supplies");

  standby_->Signal(SIGSTOP);
  ASSERT_TRUE(Stack::WaitFor([&] { return LeadsOn(a_port); }, absl::Seconds(30)))
      << "the follower did not take over the paused leader's lease";
  // Reaches the paused leader as it wakes: it must not journal the supply.
  auto spare = StandbyAs(kSpareDriver);
  auto late = std::async(std::launch::async,
                         [&] { return RequestCharge(*spare, kSpareCp, kSpareDriver); });
  // Not a wait for start-up: the call should be on the wire before the leader
  // wakes (if it is not, the leader exits before it and the checks still hold).
  absl::SleepFor(absl::Milliseconds(200));
  standby_->Signal(SIGCONT);
  ASSERT_TRUE(Stack::WaitFor([&] { return !standby_->Running(); }, absl::Seconds(30)))
      << "the superseded leader kept running";
  EXPECT_EQ(standby_->exit_code(), central::kExitSuperseded);
  EXPECT_FALSE(late.get().ok()) << "a superseded leader accepted a charge";
  EXPECT_EQ(Rows("SELECT count(*) FROM supplies"), supplies_before);
  // Its renewal and a fenced write may both notice before it exits.
  EXPECT_GE(Rows("SELECT count(*) FROM audit_events WHERE category = 'SYSTEM'"
                 " AND action IN ('central_superseded', 'central_fenced_write')"
                 " AND details->>'replica' = 'central-b'"),
            1);
  EXPECT_EQ(Rows("SELECT epoch FROM central_leader"), 3);
}

}  // namespace
}  // namespace evc::testing
