// Issue 19, the "ingest stall": central restarted with a backlog of telemetry
// waiting applies all of it, on every partition of evc.engine-events, within a
// deadline; and a backlog the broker's retention deleted before central read
// it is counted and logged by central, not lost in silence.

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "services/common/kafka.h"
#include "services/edge/test_http_client.h"
#include "tests/integration/backlog.h"
#include "tests/integration/loop_client.h"
#include "tests/integration/stack.h"

namespace evc::testing {
namespace {

// Enough CPs for their keys to land on every partition of the topic.
constexpr int kCps = 48;
constexpr char kCentralGroup[] = "evc-central";

class IngestRestartTest : public StackSuite<IngestRestartTest> {
 public:
  static Stack::Options StackOptions() {
    Stack::Options o;
    // Enrolling the fleet would otherwise measure scrypt.
    o.registry_flags = {"--secret_hash_cost=10"};
    // The CPs stay down while central catches up: their supplies must stay open.
    o.restart_grace = absl::Minutes(30);
    return o;
  }
  // A fleet with one supply open on every CP.
  static absl::Status AfterStart(Stack& stack) {
    if (absl::Status s = AddFleetDrivers(stack, kCps); !s.ok()) return s;
    fleet_ = StartFleet(stack, kCps);
    if (absl::Status s = WaitConnected(stack, kCps, absl::Minutes(3)); !s.ok()) return s;
    for (int i = 1; i <= kCps; ++i) {
      if (auto id = RequestChargeAs(stack, FleetCpId(i), FleetDriverId(i)); !id.ok()) return id.status();
    }
    return absl::OkStatus();
  }
  static void TearDownTestSuite() {
    fleet_.reset();
    StackSuite<IngestRestartTest>::TearDownTestSuite();
  }
  static inline std::unique_ptr<Process> fleet_;

 protected:
  // Central and the engines down, supplies open: what central will find.
  // Central has committed an offset on every partition it reads (else nothing
  // it missed could count as expired), then dies with the engines.
  std::vector<OpenSupply> StopTheNetwork() {
    EXPECT_TRUE(Stack::WaitFor([&] {
      for (const PartitionBacklog& p : Backlog()) {
        if (p.high > 0 && p.committed < 0) return false;
      }
      return true;
    }, absl::Seconds(60))) << "central committed no offset on some partition";
    stack().central_process().Kill();
    if (fleet_ != nullptr) fleet_->Stop();
    return OpenSupplies(stack());
  }

  std::vector<PartitionBacklog> Backlog() {
    auto backlog = BacklogOf(stack().kafka(), topics::kEngineEvents, kCentralGroup);
    EXPECT_TRUE(backlog.ok()) << backlog.status();
    return backlog.ok() ? *backlog : std::vector<PartitionBacklog>{};
  }

  // The supplies central has not brought up to their last reading (10 Wh each).
  std::vector<std::string> NotCaughtUp(const std::vector<OpenSupply>& supplies) {
    LoopClient loop(stack());
    std::vector<std::string> behind;
    for (const OpenSupply& s : supplies) {
      auto view = loop.GetSupply(s.supply_id);
      if (!view.ok() || view->supply().energy_wh() != s.last_seq * 10) behind.push_back(s.supply_id);
    }
    return behind;
  }

  // Restarts central and waits until it applied every supply's last reading.
  void RestartAndCatchUp(const std::vector<OpenSupply>& supplies, absl::Duration deadline) {
    ASSERT_TRUE(stack().RestartCentral().ok());
    std::vector<std::string> behind;
    Stack::WaitFor([&] {
      behind = NotCaughtUp(supplies);
      return behind.empty();
    }, deadline);
    EXPECT_TRUE(behind.empty()) << behind.size() << " of " << supplies.size()
                                << " supplies not caught up after the restart, e.g. " << behind.front();
  }

  std::string ScrapeCentral() {
    auto reply = edge::testing::HttpCall(stack().metrics_port("central"), boost::beast::http::verb::get,
                                         "/metrics");
    EXPECT_EQ(reply.status, 200);
    return reply.body;
  }
};

TEST_F(IngestRestartTest, ABacklogOnEveryPartitionIsAllAppliedAfterARestart) {
  std::vector<OpenSupply> supplies = StopTheNetwork();
  ASSERT_EQ(supplies.size(), static_cast<size_t>(kCps));
  ASSERT_TRUE(ProduceTelemetry(stack(), supplies, 20000).ok());
  const std::vector<PartitionBacklog> backlog = Backlog();
  ASSERT_EQ(backlog.size(), static_cast<size_t>(PartitionCount(topics::kEngineEvents)));
  for (const PartitionBacklog& p : backlog) {
    EXPECT_GT(p.Unread(), 0) << "partition " << p.partition << " has no backlog: the test covers too little";
    EXPECT_EQ(p.Expired(), 0) << "partition " << p.partition << " lost messages to retention";
  }

  RestartAndCatchUp(supplies, absl::Seconds(90));
  auto stats = CallUnary(&central::v1::CentralService::Stub::GetNetworkStats, stack().central(),
                         central::v1::GetNetworkStatsRequest(), absl::Seconds(5));
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GE(stats->telemetry_applied(), 20000);
}

TEST_F(IngestRestartTest, ABacklogBeyondRetentionIsCountedNotLostInSilence) {
  std::vector<OpenSupply> supplies = StopTheNetwork();
  ASSERT_FALSE(supplies.empty());
  // One CP's readings, all on its partition, until the dev broker (5 MiB a
  // partition) deleted the oldest: ~12 MB a round.
  std::vector<OpenSupply> one = {supplies.front()};
  int64_t expired = 0;
  for (int round = 0; round < 8 && expired == 0; ++round) {
    ASSERT_TRUE(ProduceTelemetry(stack(), one, 80000).ok());
    for (const PartitionBacklog& p : Backlog()) expired += p.Expired();
  }
  ASSERT_GT(expired, 0) << "the broker was expected to delete the oldest of the backlog";

  // What is still held is applied, to the last reading; what was deleted is
  // counted by central, exactly.
  RestartAndCatchUp(one, absl::Seconds(90));
  EXPECT_EQ(MetricSum(ScrapeCentral(), "evc_kafka_expired_unread_messages_total",
                      {absl::StrCat("topic=\"", topics::kEngineEvents, "\"")}),
            static_cast<double>(expired));
}

}  // namespace
}  // namespace evc::testing
