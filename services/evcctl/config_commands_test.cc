// `evcctl config ...` against a fake central config service in this process.

#include "services/evcctl/config_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "evc/central/v1/config.grpc.pb.h"
#include "services/evcctl/test_network.h"

namespace evc::evcctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FakeConfig : public central::v1::CentralConfigService::Service {
 public:
  grpc::Status GetConfig(grpc::ServerContext*, const central::v1::GetCentralConfigRequest*,
                         central::v1::CentralConfig* response) override {
    response->mutable_link_timeout()->set_seconds(5);
    response->mutable_health_interval()->set_nanos(500'000'000);
    response->set_queue_typical_session_wh(20000);
    return grpc::Status::OK;
  }
  grpc::Status UpdateConfig(grpc::ServerContext*, const central::v1::UpdateCentralConfigRequest* request,
                            central::v1::CentralConfig* response) override {
    absl::MutexLock lock(&mu);
    updated = *request;
    *response = request->config();
    response->set_updated_by("operator:admin");
    response->mutable_updated_at()->set_seconds(1'700'000'000);
    return grpc::Status::OK;
  }

  absl::Mutex mu;
  central::v1::UpdateCentralConfigRequest updated ABSL_GUARDED_BY(mu);
};

class ConfigCommandsTest : public ::testing::Test {
 protected:
  FakeConfig config;
  TestNetwork network{&config};
  Context& context = network.context();
};

TEST_F(ConfigCommandsTest, WithoutChangesShowsEverySettingAsAnOperator) {
  EXPECT_EQ(CentralConfigCommand(context, {"config"}), 0);
  const std::string out = network.Out();
  EXPECT_THAT(out, HasSubstr("link_timeout               5s\n"));
  EXPECT_THAT(out, HasSubstr("health_interval            500ms\n"));
  EXPECT_THAT(out, HasSubstr("queue_typical_session_wh   20000 Wh\n"));
  EXPECT_THAT(out, HasSubstr("no operator has changed a setting"));
  // Who may change the network's timings is not public.
  EXPECT_TRUE(network.connections().opened[0].login);
}

TEST_F(ConfigCommandsTest, ChangesOnlyTheSettingsGiven) {
  EXPECT_EQ(CentralConfigCommand(context, {"config", "link_timeout=3s", "health_interval=250ms",
                                           "queue_typical_session_wh=15000"}),
            0);
  EXPECT_THAT(network.Out(), HasSubstr("stored by operator:admin at "));
  absl::MutexLock lock(&config.mu);
  EXPECT_THAT(config.updated.update_mask().paths(),
              ElementsAre("link_timeout", "health_interval", "queue_typical_session_wh"));
  EXPECT_EQ(config.updated.config().link_timeout().seconds(), 3);
  EXPECT_EQ(config.updated.config().health_interval().nanos(), 250'000'000);
  EXPECT_EQ(config.updated.config().queue_typical_session_wh(), 15000);
  EXPECT_FALSE(config.updated.config().has_plug_timeout());
}

TEST_F(ConfigCommandsTest, BadChangesNameTheSettingsAndCallNobody) {
  EXPECT_EQ(CentralConfigCommand(context, {"config", "colour=blue"}), 1);
  EXPECT_THAT(network.Err(), HasSubstr("unknown setting 'colour'; the settings are: link_timeout,"));
  EXPECT_EQ(CentralConfigCommand(context, {"config", "updated_by=me"}), 1);
  EXPECT_THAT(network.Err(), HasSubstr("unknown setting 'updated_by'"));
  EXPECT_EQ(CentralConfigCommand(context, {"config", "link_timeout=soon"}), 1);
  EXPECT_THAT(network.Err(), HasSubstr("link_timeout: 'soon' is not a duration"));
  EXPECT_EQ(CentralConfigCommand(context, {"config", "queue_typical_session_wh=lots"}), 1);
  EXPECT_THAT(network.Err(), HasSubstr("is not a number of Wh"));
  EXPECT_EQ(CentralConfigCommand(context, {"config", "link_timeout"}), 1);
  EXPECT_THAT(network.Err(), HasSubstr("changes are NAME=VALUE"));
  EXPECT_TRUE(network.connections().opened.empty());
}

}  // namespace
}  // namespace evc::evcctl
