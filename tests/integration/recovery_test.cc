// Issue 21: state that heals itself. Central reconciles every supply with what
// its CP reports, and what it owes an engine (AUTHORIZE, STOP) or a driver (a
// ticket) is sent again until it is acted on. Real processes: registry, auth,
// central, engines and monitors, Postgres and the dev Kafka broker.

#include <signal.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "services/central/effects.h"
#include "tests/integration/loop_client.h"
#include "tests/integration/stack.h"

namespace evc::testing {
namespace {

using common::v1::CpState;
using common::v1::EndReason;

// What the suite's central is told; README's Recovery section states the
// bounds with the defaults (10 s grace, 3 s resend).
constexpr absl::Duration kReconcileGrace = absl::Seconds(3);

class RecoveryTest : public StackSuite<RecoveryTest> {
 public:
  static Stack::Options StackOptions() {
    Stack::Options options;
    // Restarted monitors relink well within this even on a loaded machine: the
    // supplies here end by reconciliation, not by the monitor-lost rule.
    options.restart_grace = absl::Seconds(60);
    options.central_flags = {
        absl::StrCat("--reconcile_grace=", absl::FormatDuration(kReconcileGrace)),
        "--command_resend_interval=1s",
        // A message the frozen broker cannot take is given up quickly: lost.
        "--kafka_delivery_timeout=2s"};
    return options;
  }

 protected:
  LoopClient loop() { return LoopClient(stack()); }
  // A running supply of `driver` at `cp` that has delivered some energy.
  common::v1::Supply Charging(const std::string& cp, const std::string& driver) {
    loop().BringUp(cp, driver);
    auto supply = loop().Request(cp, driver);
    EXPECT_TRUE(supply.ok()) << supply.status();
    if (!supply.ok()) return {};
    EXPECT_GE(loop().WaitForEnergy(supply->supply_id(), 20), 20) << "telemetry did not flow";
    return *supply;
  }
  static std::string Log(Process& p) {
    std::ifstream in(p.log_path());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // The CP is free again: ACTIVE, and the driver's next request is accepted.
  void ExpectFreeAgain(const std::string& cp, const std::string& driver) {
    EXPECT_TRUE(stack().WaitForState(cp, common::v1::CP_STATE_ACTIVE));
    auto next = loop().Request(cp, driver);
    ASSERT_TRUE(next.ok()) << next.status();
    ASSERT_TRUE(loop().Stop(next->supply_id(), driver).ok());
    EXPECT_TRUE(loop().WaitForTicket(next->supply_id()).has_value());
  }
  void ExpectOneCorrectTicket(const common::v1::Ticket& ticket, int64_t at_least_wh) {
    EXPECT_GE(ticket.energy_wh(), at_least_wh);
    EXPECT_EQ(ticket.amount_millieuros(), central::AmountMillieuros(ticket.energy_wh(), 350));
    EXPECT_EQ(loop().TicketRows(ticket.supply_id()), 1);
  }
};

// The defect as found: `./evc down` then `./evc up` (a host reboot). Central
// reloads the open supply, the engine comes back with none; the supply must not
// stay SUPPLYING with no telemetry.
TEST_F(RecoveryTest, AWholeNetworkRestartClosesTheOrphanSupplyAndFreesTheCp) {
  const common::v1::Supply supply = Charging("IT-REBOOT", "it-reboot");
  ASSERT_FALSE(supply.supply_id().empty());
  // As `./evc down` stops them (SIGTERM): the engine's consumer leaves its
  // group, so the restarted one is not kept waiting for a dead member.
  stack().monitor("IT-REBOOT").Stop();
  stack().engine("IT-REBOOT").Stop();
  ASSERT_TRUE(stack().RestartCentral().ok());
  const int64_t stored = std::stoll(
      stack().Sql("SELECT energy_wh FROM supplies WHERE supply_id = '" + supply.supply_id() + "'"));
  const absl::Time back = absl::Now();
  stack().StartEngine("IT-REBOOT");
  stack().StartMonitor("IT-REBOOT");
  auto ticket = loop().WaitForTicket(supply.supply_id(), absl::Seconds(30));
  ASSERT_TRUE(ticket.has_value()) << "the orphan supply was never closed";
  const absl::Duration took = absl::Now() - back;
  EXPECT_EQ(ticket->end_reason(), common::v1::END_REASON_CP_LOST_SUPPLY);
  ExpectOneCorrectTicket(*ticket, stored);
  // Start-up, link and the grace: well inside the bound README states.
  EXPECT_LT(took, kReconcileGrace + absl::Seconds(12)) << absl::FormatDuration(took);
  std::printf("whole-network restart: orphan closed %s after the CP came back\n",
              absl::FormatDuration(took).c_str());
  ExpectFreeAgain("IT-REBOOT", "it-reboot");
}

TEST_F(RecoveryTest, AnEngineRestartedMidSupplyEndsItWithOneTicket) {
  const common::v1::Supply supply = Charging("IT-REENGINE", "it-reengine");
  ASSERT_FALSE(supply.supply_id().empty());
  const int64_t seen = loop().WaitForEnergy(supply.supply_id(), 30);
  stack().engine("IT-REENGINE").Kill();
  stack().StartEngine("IT-REENGINE");
  auto ticket = loop().WaitForTicket(supply.supply_id(), absl::Seconds(30));
  ASSERT_TRUE(ticket.has_value());
  // Whether the monitor saw the engine down (a fault) or already back with no
  // supply (a lost supply) depends on when it looked; both close it at once.
  EXPECT_TRUE(ticket->end_reason() == common::v1::END_REASON_ENGINE_FAULT ||
              ticket->end_reason() == common::v1::END_REASON_CP_LOST_SUPPLY)
      << common::v1::EndReason_Name(ticket->end_reason());
  ExpectOneCorrectTicket(*ticket, seen);
  ExpectFreeAgain("IT-REENGINE", "it-reengine");
}

TEST_F(RecoveryTest, AStopLostWhileKafkaWasDownIsDeliveredOnceItIsBack) {
  const common::v1::Supply supply = Charging("IT-KSTOP", "it-kstop");
  ASSERT_FALSE(supply.supply_id().empty());
  Process& kafka = stack().kafka_process();
  kafka.Signal(SIGSTOP);
  // Durable in Postgres at once; its STOP cannot leave.
  absl::Status stopped = loop().Stop(supply.supply_id(), "it-kstop");
  // Held past central's delivery timeout (2 s): the first STOP is given up.
  absl::SleepFor(absl::Seconds(5));
  kafka.Signal(SIGCONT);
  ASSERT_TRUE(stopped.ok()) << stopped;
  auto ticket = loop().WaitForTicket(supply.supply_id(), absl::Seconds(30));
  ASSERT_TRUE(ticket.has_value());
  // The engine obeyed the STOP sent again: the driver's reason, the engine's
  // figures (not ENGINE_SILENT after the stop timeout).
  EXPECT_EQ(ticket->end_reason(), common::v1::END_REASON_DRIVER_STOP);
  ExpectOneCorrectTicket(*ticket, 20);
  EXPECT_TRUE(absl::StrContains(Log(stack().engine("IT-KSTOP")),
                                "STOP received for supply " + supply.supply_id()));
  EXPECT_TRUE(absl::StrContains(Log(stack().central_process()), "engine command not delivered"))
      << "the first STOP was expected to be lost";
  ExpectFreeAgain("IT-KSTOP", "it-kstop");
}

TEST_F(RecoveryTest, ASupplyTheEngineRunsButCentralLostIsStoppedAndAudited) {
  const common::v1::Supply supply = Charging("IT-GHOST", "it-ghost");
  ASSERT_FALSE(supply.supply_id().empty());
  // Central loses its record while it is down (a restore from an old backup).
  stack().central_process().Kill();
  stack().Sql("DELETE FROM supplies WHERE supply_id = '" + supply.supply_id() + "'");
  ASSERT_TRUE(stack().RestartCentral().ok());
  ASSERT_TRUE(Stack::WaitFor([&] {
    return stack().Sql("SELECT count(*) FROM audit_events WHERE action = 'unknown_supply_stopped'"
                       " AND category = 'INCIDENT' AND details->>'supply_id' = '" +
                       supply.supply_id() + "'") == "1";
  }, absl::Seconds(30))) << "the supply central lost was not stopped and audited";
  EXPECT_TRUE(Stack::WaitFor([&] {
    return absl::StrContains(Log(stack().engine("IT-GHOST")),
                             "STOP received for supply " + supply.supply_id());
  }));
  EXPECT_EQ(loop().TicketRows(supply.supply_id()), 0) << "nobody was authorised for it";
  ExpectFreeAgain("IT-GHOST", "it-ghost");
}

}  // namespace
}  // namespace evc::testing
