#include "services/central/live_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/common/proto_time.h"

namespace evc::central {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

v1::CentralConfig Update(std::initializer_list<std::pair<const char*, absl::Duration>> durations) {
  v1::CentralConfig c;
  for (const auto& [name, d] : durations) {
    const auto* field = c.descriptor()->FindFieldByName(name);
    c.GetReflection()->MutableMessage(&c, field)->CopyFrom(ToProto(d));
  }
  return c;
}

TEST(LiveConfigTest, ProtoCarriesEverySetting) {
  NetworkConfig config;
  config.health_interval = absl::Milliseconds(500);
  config.queue.offer_timeout = absl::Seconds(90);
  config.queue.typical_session_wh = 12000;
  const v1::CentralConfig proto = ConfigProto(config);
  EXPECT_EQ(FromProto(proto.link_timeout()), absl::Seconds(5));
  EXPECT_EQ(FromProto(proto.health_interval()), absl::Milliseconds(500));
  EXPECT_EQ(FromProto(proto.queue_offer_timeout()), absl::Seconds(90));
  EXPECT_EQ(proto.queue_typical_session_wh(), 12000);
  EXPECT_FALSE(proto.has_updated_at());
  // And back: a stored configuration restores what was stored.
  absl::StatusOr<NetworkConfig> restored = RestoreConfig(NetworkConfig(), proto);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_TRUE(ConfigChanges(config, *restored).empty());
}

TEST(LiveConfigTest, MaskChangesOnlyTheNamedSettingsInEitherCase) {
  const v1::CentralConfig update =
      Update({{"link_timeout", absl::Seconds(3)}, {"plug_timeout", absl::Seconds(30)}});
  absl::StatusOr<NetworkConfig> merged = MergeConfig(NetworkConfig(), update, {"linkTimeout"});
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->link_timeout, absl::Seconds(3));
  EXPECT_EQ(merged->plug_timeout, NetworkConfig().plug_timeout);
}

TEST(LiveConfigTest, WithoutAMaskTheSettingsGivenChange) {
  v1::CentralConfig update = Update({{"queue_offer_timeout", absl::Seconds(45)}});
  update.set_queue_typical_session_wh(8000);
  absl::StatusOr<NetworkConfig> merged = MergeConfig(NetworkConfig(), update, {});
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->queue.offer_timeout, absl::Seconds(45));
  EXPECT_EQ(merged->queue.typical_session_wh, 8000);
  EXPECT_THAT(ConfigChanges(NetworkConfig(), *merged),
              UnorderedElementsAre(Pair("queue_offer_timeout", "2m -> 45s"),
                                   Pair("queue_typical_session_wh", "20000 -> 8000")));
}

TEST(LiveConfigTest, NothingToChangeIsRefused) {
  EXPECT_EQ(MergeConfig(NetworkConfig(), v1::CentralConfig(), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LiveConfigTest, UnknownAndOutputOnlyFieldsAreRefusedNamingTheSettings) {
  for (const char* path : {"colour", "updated_by", "updated_at"}) {
    absl::StatusOr<NetworkConfig> merged = MergeConfig(NetworkConfig(), v1::CentralConfig(), {path});
    EXPECT_EQ(merged.status().code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_THAT(merged.status().message(),
                AllOf(HasSubstr(path), HasSubstr("link_timeout"), HasSubstr("queue_typical_session_wh")));
  }
}

TEST(LiveConfigTest, EverySettingOutOfBoundsIsNamedAtOnce) {
  v1::CentralConfig update = Update({{"plug_timeout", absl::Seconds(1)},
                                     {"command_resend_interval", absl::Hours(2)},
                                     {"stop_timeout", -absl::Seconds(1)}});
  update.set_queue_typical_session_wh(5);
  absl::StatusOr<NetworkConfig> merged = MergeConfig(NetworkConfig(), update, {});
  ASSERT_EQ(merged.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(merged.status().message(),
              AllOf(HasSubstr("plug_timeout must be between 10s and 1h (got 1s)"),
                    HasSubstr("command_resend_interval must be between 200ms and 1m (got 2h)"),
                    HasSubstr("stop_timeout must be between 1s and 10m (got -1s)"),
                    HasSubstr("queue_typical_session_wh must be between 100 and 1000000 Wh (got 5)")));
}

TEST(LiveConfigTest, TheLinkTimeoutMustCoverThreeHealthIntervals) {
  absl::StatusOr<NetworkConfig> merged =
      MergeConfig(NetworkConfig(), Update({{"health_interval", absl::Seconds(2)}}), {});
  ASSERT_EQ(merged.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(merged.status().message(),
              HasSubstr("link_timeout (5s) must be at least three health intervals (6s)"));
  // Both at once is fine.
  merged = MergeConfig(NetworkConfig(), Update({{"health_interval", absl::Seconds(2)},
                                                {"link_timeout", absl::Seconds(6)}}),
                       {});
  EXPECT_TRUE(merged.ok()) << merged.status();
}

TEST(LiveConfigTest, SettingsLeftAloneAreNotJudged) {
  // The deployer's flags may be tighter than an operator may set.
  NetworkConfig base;
  base.restart_grace = absl::Milliseconds(300);
  absl::StatusOr<NetworkConfig> merged =
      MergeConfig(base, Update({{"link_timeout", absl::Seconds(4)}}), {});
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->restart_grace, absl::Milliseconds(300));
}

TEST(LiveConfigTest, AStoredConfigurationWithANonPositiveSettingIsNotTaken) {
  absl::StatusOr<NetworkConfig> restored =
      RestoreConfig(NetworkConfig(), Update({{"link_timeout", absl::ZeroDuration()}}));
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kDataLoss);
  // Settings it does not hold (an older release's) keep the flags' values.
  restored = RestoreConfig(NetworkConfig(), Update({{"plug_timeout", absl::Seconds(60)}}));
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->plug_timeout, absl::Seconds(60));
  EXPECT_EQ(restored->link_timeout, NetworkConfig().link_timeout);
}

}  // namespace
}  // namespace evc::central
