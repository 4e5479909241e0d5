// Central's live settings (issue 20) with real processes: an operator changes
// the link timeout and the health interval through CentralConfigService; the
// change takes effect without a restart (a paused monitor is disconnected
// after the new timeout; linked monitors are told the new interval at once),
// is refused with a reason when out of bounds, and survives a restart of
// central.

#include <csignal>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "evc/central/v1/config.grpc.pb.h"
#include "services/common/grpc_util.h"
#include "services/common/proto_time.h"
#include "tests/integration/loop_client.h"
#include "tests/integration/stack.h"

namespace evc::testing {
namespace {

using central::v1::CentralConfig;
using central::v1::CentralConfigService;
using ::testing::HasSubstr;

constexpr absl::Duration kFlagLinkTimeout = absl::Seconds(8);

class LiveConfigTest : public StackSuite<LiveConfigTest> {
 public:
  static Stack::Options StackOptions() {
    Stack::Options options;
    options.link_timeout = kFlagLinkTimeout;
    return options;
  }

 protected:
  static std::unique_ptr<CentralConfigService::Stub> ConfigAs(ClientSession* session) {
    return CentralConfigService::NewStub(MakeChannel(
        stack().central_address(), session != nullptr ? session->Bearer() : nullptr, &stack().client_tls()));
  }
  static absl::StatusOr<CentralConfig> Get(ClientSession* session) {
    return CallUnary(&CentralConfigService::Stub::GetConfig, *ConfigAs(session),
                     central::v1::GetCentralConfigRequest(), absl::Seconds(10));
  }
  static absl::StatusOr<CentralConfig> Change(ClientSession* session,
                                              const central::v1::UpdateCentralConfigRequest& r) {
    return CallUnary(&CentralConfigService::Stub::UpdateConfig, *ConfigAs(session), r, absl::Seconds(10));
  }
  // How long central takes to see `cp` DISCONNECTED once its monitor stops
  // reporting (paused, its link left open); the monitor then resumes.
  static absl::Duration TimeToDisconnect(const std::string& cp) {
    Process& monitor = stack().monitor(cp);
    monitor.Signal(SIGSTOP);
    const absl::Time paused = absl::Now();
    const bool disconnected =
        stack().WaitForState(cp, common::v1::CP_STATE_DISCONNECTED, absl::Seconds(30));
    const absl::Duration took = absl::Now() - paused;
    monitor.Signal(SIGCONT);
    EXPECT_TRUE(disconnected) << cp << " stayed linked 30 s after its monitor stopped";
    EXPECT_TRUE(stack().WaitForState(cp, common::v1::CP_STATE_ACTIVE)) << cp << " did not come back";
    return took;
  }
  // Times the monitor of `cp` logged that central set its health interval to `interval`.
  static int IntervalsLogged(const std::string& cp, const std::string& interval) {
    std::ifstream in(stack().monitor(cp).log_path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string needle = absl::StrCat("\"interval\":\"", interval, "\"");
    int n = 0;
    for (size_t at = text.str().find(needle); at != std::string::npos; at = text.str().find(needle, at + 1)) ++n;
    return n;
  }
};

TEST_F(LiveConfigTest, OnlyOperatorsReadOrChangeTheSettings) {
  ASSERT_TRUE(stack().AddDriver("cfg-driver").ok());
  central::v1::UpdateCentralConfigRequest r;
  r.mutable_config()->mutable_plug_timeout()->set_seconds(60);
  EXPECT_EQ(Get(nullptr).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Get(&stack().driver("cfg-driver")).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Change(nullptr, r).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Change(&stack().driver("cfg-driver"), r).status().code(), absl::StatusCode::kPermissionDenied);
  absl::StatusOr<CentralConfig> config = Get(&stack().operator_session());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(FromProto(config->plug_timeout()), absl::Seconds(120)) << "unchanged";
}

TEST_F(LiveConfigTest, ASettingChangedLiveTakesEffectWithoutARestartAndSurvivesOne) {
  LoopClient loop(stack());
  ASSERT_NO_FATAL_FAILURE(loop.BringUp("LIVE-1"));
  const absl::Duration before = TimeToDisconnect("LIVE-1");
  EXPECT_GE(before, kFlagLinkTimeout - absl::Seconds(1)) << "the flags' link timeout";

  // Out of bounds: refused with the reason, nothing changes.
  central::v1::UpdateCentralConfigRequest bad;
  bad.mutable_config()->mutable_health_interval()->set_seconds(5);
  bad.mutable_update_mask()->add_paths("health_interval");
  absl::StatusOr<CentralConfig> refused = Change(&stack().operator_session(), bad);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("at least three health intervals"));

  central::v1::UpdateCentralConfigRequest change;
  *change.mutable_config()->mutable_link_timeout() = ToProto(absl::Milliseconds(1500));
  *change.mutable_config()->mutable_health_interval() = ToProto(absl::Milliseconds(400));
  change.mutable_update_mask()->add_paths("link_timeout");
  change.mutable_update_mask()->add_paths("healthInterval");
  absl::StatusOr<CentralConfig> changed = Change(&stack().operator_session(), change);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(FromProto(changed->link_timeout()), absl::Milliseconds(1500));
  EXPECT_EQ(changed->updated_by(), "admin");

  // The linked monitor is told at once, and central applies the new timeout.
  EXPECT_TRUE(Stack::WaitFor([] { return IntervalsLogged("LIVE-1", "400ms") == 1; }, absl::Seconds(10)))
      << "the monitor was not told the new health interval";
  const absl::Duration after = TimeToDisconnect("LIVE-1");
  EXPECT_LT(after, absl::Seconds(4)) << "the link timeout changed live (flags: 8 s)";

  // Central restarts: the stored settings are in force again.
  ASSERT_TRUE(stack().RestartCentral().ok());
  ASSERT_TRUE(stack().WaitForState("LIVE-1", common::v1::CP_STATE_ACTIVE));
  absl::StatusOr<CentralConfig> restored = Get(&stack().operator_session());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(FromProto(restored->link_timeout()), absl::Milliseconds(1500));
  EXPECT_EQ(FromProto(restored->health_interval()), absl::Milliseconds(400));
  EXPECT_EQ(restored->updated_by(), "admin");
  EXPECT_TRUE(restored->has_updated_at());
  EXPECT_LT(TimeToDisconnect("LIVE-1"), absl::Seconds(4)) << "after the restart too";
  // A monitor that links afresh is told the stored interval when it registers.
  stack().monitor("LIVE-1").Stop();
  stack().StartMonitor("LIVE-1");
  EXPECT_TRUE(Stack::WaitFor([] { return IntervalsLogged("LIVE-1", "400ms") == 2; }, absl::Seconds(20)))
      << "a new link was not told the stored health interval";
}

}  // namespace
}  // namespace evc::testing
