// What mains share: waiting on a peer's pace, consuming, health for probes, and
// identifying callers with auth's tokens.

#include "services/common/service_main.h"

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <atomic>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/common/crypto.h"
#include "services/common/testing/mock_broker.h"
#include "services/common/tokens.h"

ABSL_DECLARE_FLAG(std::string, kafka);
ABSL_DECLARE_FLAG(std::string, metrics_listen);

namespace evc {
namespace {

TEST(WaitUntil, ReturnsOnceTheConditionHolds) {
  absl::Notification never;
  int polls = 0;
  EXPECT_TRUE(WaitUntil([&] { return ++polls == 3; }, never, absl::Milliseconds(1)));
  EXPECT_EQ(polls, 3);
}

TEST(WaitUntil, StopsWhenShutdownIsRequested) {
  absl::Notification stop;
  stop.Notify();
  int polls = 0;
  EXPECT_FALSE(WaitUntil([&] { return ++polls > 1000; }, stop));
  EXPECT_EQ(polls, 1);
}

TEST(StartConsuming, TheConsumerIsStartedAndJoinsItsTopics) {
  MockBroker broker({{"evc.test", 1}});
  std::unique_ptr<KafkaConsumer> consumer =
      StartConsuming({.brokers = broker.bootstrap(),
                      .group_id = "evc-test",
                      .client_id = "evc-test",
                      .topics = {"evc.test"}},
                     "cannot consume (test)", [](std::span<const KafkaMessage>) {});
  ASSERT_NE(consumer, nullptr);
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  absl::Notification never;
  WaitUntil([&] { return consumer->assigned() || absl::Now() > give_up; }, never);
  EXPECT_TRUE(consumer->assigned());
  consumer->Stop();
}

grpc::health::v1::HealthCheckResponse::ServingStatus Check(int port) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.status();
}

TEST(ServeHealth, NothingIsServedWithoutAnAddress) { EXPECT_EQ(ServeHealth("test", ""), nullptr); }

TEST(ServeHealth, ProbesSeeNotServingUntilTold) {
  absl::SetFlag(&FLAGS_metrics_listen, "off");
  std::unique_ptr<ServiceHost> health = ServeHealth("test", "127.0.0.1:0");
  ASSERT_NE(health, nullptr);
  EXPECT_EQ(Check(health->port()), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  health->SetServing(true);
  EXPECT_EQ(Check(health->port()), grpc::health::v1::HealthCheckResponse::SERVING);
  health->Shutdown(absl::ZeroDuration());
  absl::SetFlag(&FLAGS_metrics_listen, "");
}

// Publishes one signing key; no session is revoked.
class FakeAuth : public auth::v1::AuthService::Service {
 public:
  grpc::Status GetSigningKeys(grpc::ServerContext*, const auth::v1::GetSigningKeysRequest*,
                              auth::v1::GetSigningKeysResponse* response) override {
    ++key_fetches;
    auto* key = response->add_keys();
    key->set_key_id("kid-1");
    key->set_algorithm("EdDSA");
    key->set_public_key(pair.public_key);
    return grpc::Status::OK;
  }
  grpc::Status ListRevokedSessions(grpc::ServerContext*, const auth::v1::ListRevokedSessionsRequest*,
                                   auth::v1::ListRevokedSessionsResponse*) override {
    return grpc::Status::OK;
  }
  const crypto::Ed25519KeyPair pair = crypto::NewEd25519KeyPair();
  std::atomic<int> key_fetches = 0;
};

class CallerAuthTest : public ::testing::Test {
 protected:
  CallerAuthTest() : broker_(ProjectTopics()) {
    absl::SetFlag(&FLAGS_kafka, broker_.bootstrap());
    grpc::ServerBuilder builder;
    builder.RegisterService(&auth_);
    server_ = builder.BuildAndStart();
  }
  ~CallerAuthTest() override { server_->Shutdown(); }

  std::string Token(const std::string& private_key) {
    const absl::Time now = absl::Now();
    return *SignToken({"kid-1", private_key}, {.subject = "ana",
                                               .role = kRoleOperator,
                                               .session_id = "s-1",
                                               .token_id = "t-1",
                                               .issued_at = now,
                                               .expires_at = now + absl::Hours(1)});
  }

  MockBroker broker_;
  FakeAuth auth_;
  std::unique_ptr<grpc::Server> server_;
  SystemClock clock_;
};

TEST_F(CallerAuthTest, TokensAuthSignedIdentifyTheirCallerAndOthersDoNot) {
  auto callers =
      CallerAuth::Start("test", server_->InProcessChannel(grpc::ChannelArguments()), clock_);
  ASSERT_TRUE(callers.ok()) << callers.status();

  auto caller = (*callers)->authorizer().IdentifyWithToken(Token(auth_.pair.private_key), "test");
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_TRUE(caller->is_operator());
  EXPECT_EQ(caller->name, "ana");
  EXPECT_GE(auth_.key_fetches, 1);

  const crypto::Ed25519KeyPair forger = crypto::NewEd25519KeyPair();
  EXPECT_TRUE(absl::IsUnauthenticated(
      (*callers)->authorizer().IdentifyWithToken(Token(forger.private_key), "test").status()));
}

}  // namespace
}  // namespace evc
