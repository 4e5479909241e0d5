// The gateway's bookkeeping of admitted chargers, without a network.

#include "services/ocpp/gateway.h"

#include <gtest/gtest.h>

#include <grpcpp/create_channel.h>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "services/cp/accepting_authenticator.h"

namespace evc::ocpp {
namespace {

class NoOutput : public cp::EngineOutput {
 public:
  void Send(const events::v1::EngineEvent&, const events::v1::SealedEnvelope&) override {}
  void Say(const std::string&, const std::string&) override {}
};

class IdleLink : public ChargerLink {
 public:
  void Call(const std::string&, nlohmann::json, RpcEndpoint::Done done) override {
    done(absl::UnavailableError("not in this test"));
  }
  void Close(const std::string&) override {}
};

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override { gateway_.SetCommandChannelReady(); }
  void TearDown() override { gateway_.Shutdown(); }

  std::shared_ptr<ChargerSession> Admit(const std::string& cp_id) {
    absl::Notification done;
    absl::StatusOr<std::shared_ptr<ChargerSession>> session;
    gateway_.Admit(cp_id, "secret", "127.0.0.1", [&](absl::StatusOr<std::shared_ptr<ChargerSession>> s) {
      session = std::move(s);
      done.Notify();
    });
    done.WaitForNotification();
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? *session : nullptr;
  }

  cp::AcceptingAuthenticator auth_;
  NoOutput out_;
  // Nobody listens: the monitors' links to central just fail and retry.
  std::unique_ptr<central::v1::CentralService::Stub> central_ =
      central::v1::CentralService::NewStub(grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()));
  Gateway gateway_{GatewayOptions{}, auth_, *central_, out_};
};

// Seen in ./evc bench ocpp: a tick between a charger's admission and the end
// of its upgrade forgot it, so its connection lived on and was never linked
// to central.
TEST_F(GatewayTest, AChargerAdmittedButNotConnectedYetIsKeptAndLinkedOnceConnected) {
  std::shared_ptr<ChargerSession> session = Admit("CP-1");
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(auth_.calls, 1);  // the admission's check
  gateway_.Tick(absl::Now());
  EXPECT_EQ(gateway_.chargers(), 1u);

  auto link = std::make_shared<IdleLink>();
  session->Connected(link);
  gateway_.Tick(absl::Now());
  EXPECT_EQ(auth_.calls, 2) << "the connected charger got no monitor (no authentication for its link to central)";

  // Gone, and nothing running on it: forgotten.
  session->Disconnected(*link);
  gateway_.Tick(absl::Now());
  gateway_.Tick(absl::Now() + Gateway::kAdmissionGrace + absl::Seconds(1));
  EXPECT_EQ(gateway_.chargers(), 0u);
}

TEST_F(GatewayTest, AnAdmissionThatNeverConnectsIsForgottenAfterTheGrace) {
  ASSERT_NE(Admit("CP-2"), nullptr);
  gateway_.Tick(absl::Now() + Gateway::kAdmissionGrace / 2);
  EXPECT_EQ(gateway_.chargers(), 1u);
  gateway_.Tick(absl::Now() + Gateway::kAdmissionGrace + absl::Seconds(1));
  EXPECT_EQ(gateway_.chargers(), 0u);
}

}  // namespace
}  // namespace evc::ocpp
