// Hostile: keys and sessions that stay revoked (issue 15, point 8). A logged
// out access token, a revoked charging point, a captured sealed envelope and a
// retired signing key must stay refused across restarts of central, auth and
// the registry, and a key auth stops publishing must stop verifying within a
// bounded time even when no event says so.

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "evc/events/v1/events.pb.h"
#include "services/common/client_session.h"
#include "services/common/grpc_util.h"
#include "services/common/kafka.h"
#include "services/common/sealed.h"
#include "tests/integration/loop_client.h"
#include "tests/integration/stack.h"

namespace evc::testing {
namespace {

using central::v1::CentralService;

// How long a verifier may keep trusting a key auth no longer publishes
// (TokenVerifier's periodic refresh, plus the time a call takes).
constexpr absl::Duration kKeyBound = absl::Seconds(45);

class HostileSessionsTest : public StackSuite<HostileSessionsTest> {
 public:
  static Stack::Options StackOptions() { return {}; }

 protected:
  // Central's ListTickets with exactly this access token.
  absl::StatusCode CentralWith(const std::string& token) {
    auto stub = CentralService::NewStub(
        MakeChannel(stack().central_address(), [token] { return token; }, &stack().client_tls()));
    return CallUnary(&CentralService::Stub::ListTickets, *stub, central::v1::ListTicketsRequest(),
                     absl::Seconds(5))
        .status()
        .code();
  }
  absl::StatusCode RegistryWith(const std::string& token, const std::string& username) {
    auto stub = registry::v1::RegistryService::NewStub(
        MakeChannel(stack().registry_address(), [token] { return token; }, &stack().client_tls()));
    registry::v1::GetProfileRequest r;
    r.set_username(username);
    return CallUnary(&registry::v1::RegistryService::Stub::GetProfile, *stub, r, absl::Seconds(5))
        .status()
        .code();
  }
  absl::StatusCode AuthValidates(const std::string& token) {
    auth::v1::ValidateTokenRequest r;
    r.set_access_token(token);
    return CallUnary(&auth::v1::AuthService::Stub::ValidateToken, stack().auth(), r, absl::Seconds(5))
        .status()
        .code();
  }
  int Audited(const std::string& cp_id, const std::string& reason_like) {
    return std::stoi(stack().Sql(
        "SELECT count(*) FROM audit_events WHERE cp_id = '" + cp_id +
        "' AND action = 'sealed_message_rejected' AND category = 'SECURITY'"
        " AND details->>'reason' LIKE '" + reason_like + "'"));
  }
};

// Reads the sealed engine->central envelopes of one CP off Kafka, as anyone
// with access to the broker can.
class EnvelopeTap {
 public:
  explicit EnvelopeTap(Stack& stack, const std::string& cp_id) : cp_id_(cp_id) {
    auto consumer = KafkaConsumer::Create({.brokers = stack.kafka(),
                                           .group_id = "hostile-tap-" + cp_id,
                                           .client_id = "hostile-tap-" + cp_id,
                                           .topics = {topics::kEngineEvents}});
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    if (!consumer.ok()) return;
    consumer_ = std::move(*consumer);
    consumer_->Start([this](std::span<const KafkaMessage> batch) {
      absl::MutexLock lock(&mu_);
      for (const KafkaMessage& m : batch) {
        events::v1::SealedEnvelope e;
        if (m.key == cp_id_ && e.ParseFromString(m.payload) && e.counter() > 0) {
          captured_.push_back(m.payload);
        }
      }
    });
  }
  ~EnvelopeTap() {
    if (consumer_) consumer_->Stop();
  }
  std::optional<std::string> First() {
    absl::MutexLock lock(&mu_);
    if (captured_.empty()) return std::nullopt;
    return captured_.front();
  }

 private:
  const std::string cp_id_;
  std::unique_ptr<KafkaConsumer> consumer_;
  absl::Mutex mu_;
  std::vector<std::string> captured_ ABSL_GUARDED_BY(mu_);
};

TEST_F(HostileSessionsTest, LogoutSurvivesRestartsOfCentralAuthAndRegistry) {
  ASSERT_TRUE(stack().AddDriver("hs-ana").ok());
  ClientSession& session = stack().driver("hs-ana");
  const std::string token = session.AccessToken();
  ASSERT_EQ(CentralWith(token), absl::StatusCode::kOk);
  ASSERT_EQ(RegistryWith(token, "hs-ana"), absl::StatusCode::kOk);
  ASSERT_TRUE(session.Logout().ok());
  // The SessionRevoked event reaches every verifier.
  ASSERT_TRUE(Stack::WaitFor([&] { return CentralWith(token) == absl::StatusCode::kUnauthenticated; }));
  ASSERT_TRUE(Stack::WaitFor([&] { return RegistryWith(token, "hs-ana") == absl::StatusCode::kUnauthenticated; }));

  ASSERT_TRUE(stack().RestartAuth().ok());
  ASSERT_TRUE(stack().RestartCentral().ok());
  ASSERT_TRUE(stack().RestartRegistry().ok());
  // At once, not only once some event has been read again.
  EXPECT_EQ(CentralWith(token), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(RegistryWith(token, "hs-ana"), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(AuthValidates(token), absl::StatusCode::kUnauthenticated);
  // And for as long as the token lives.
  absl::SleepFor(absl::Seconds(3));
  EXPECT_EQ(CentralWith(token), absl::StatusCode::kUnauthenticated);

  // A fresh login still works everywhere.
  auto again = ClientSession::Login(stack().auth_address(), "hs-ana", Stack::kDriverPassword,
                                    &stack().client_tls());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(CentralWith((*again)->AccessToken()), absl::StatusCode::kOk);
  EXPECT_EQ(RegistryWith((*again)->AccessToken(), "hs-ana"), absl::StatusCode::kOk);
}

TEST_F(HostileSessionsTest, CapturedEnvelopeReplayedAfterCentralRestartIsRefusedAndAudited) {
  EnvelopeTap tap(stack(), "HS-REPLAY");
  LoopClient loop(stack());
  ASSERT_NO_FATAL_FAILURE(loop.BringUp("HS-REPLAY", "hs-bea"));
  auto supply = loop.Request("HS-REPLAY", "hs-bea");
  ASSERT_TRUE(supply.ok()) << supply.status();
  loop.WaitForEnergy(supply->supply_id(), 20);
  ASSERT_TRUE(Stack::WaitFor([&] { return tap.First().has_value(); })) << "no envelope seen on Kafka";
  const std::string captured = *tap.First();
  ASSERT_TRUE(loop.Stop(supply->supply_id(), "hs-bea").ok());
  auto ticket = loop.WaitForTicket(supply->supply_id());
  ASSERT_TRUE(ticket.has_value());
  // Let the old central commit its Kafka offsets (every 500 ms), so what it
  // read is not redelivered to the new one: the replay below must be refused
  // by what was persisted, not by a redelivered counter.
  absl::SleepFor(absl::Seconds(2));

  ASSERT_TRUE(stack().RestartCentral().ok());
  ASSERT_TRUE(stack().WaitForState("HS-REPLAY", common::v1::CP_STATE_ACTIVE));
  const int before = Audited("HS-REPLAY", "%replayed%");
  auto producer = KafkaProducer::Create(stack().kafka(), "hostile-replay");
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE((*producer)->Produce(topics::kEngineEvents, "HS-REPLAY", captured).ok());
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(5)).ok());
  EXPECT_TRUE(Stack::WaitFor([&] { return Audited("HS-REPLAY", "%replayed%") > before; }))
      << "the captured envelope was accepted again after the restart";
  // The network carries on: the CP still charges.
  auto next = loop.Request("HS-REPLAY", "hs-bea");
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_TRUE(loop.Stop(next->supply_id(), "hs-bea").ok());
  EXPECT_TRUE(loop.WaitForTicket(next->supply_id()).has_value());
}

TEST_F(HostileSessionsTest, RevokedChargingPointStaysRevokedAfterRestarts) {
  EnvelopeTap tap(stack(), "HS-REVOKED");
  LoopClient loop(stack());
  auto secret = stack().RegisterCp("HS-REVOKED");
  ASSERT_TRUE(secret.ok());
  ASSERT_TRUE(stack().AddDriver("hs-dan").ok());
  stack().StartEngine("HS-REVOKED");
  stack().StartMonitor("HS-REVOKED");
  ASSERT_TRUE(stack().WaitForState("HS-REVOKED", common::v1::CP_STATE_ACTIVE));
  // The engine seals what it sends about a supply.
  auto supply = loop.Request("HS-REVOKED", "hs-dan");
  ASSERT_TRUE(supply.ok()) << supply.status();
  ASSERT_TRUE(Stack::WaitFor([&] { return tap.First().has_value(); })) << "no envelope seen on Kafka";
  const std::string captured = *tap.First();
  ASSERT_TRUE(loop.Stop(supply->supply_id(), "hs-dan").ok());
  ASSERT_TRUE(loop.WaitForTicket(supply->supply_id()).has_value());
  auth::v1::RevokeChargingPointRequest revoke;
  revoke.set_cp_id("HS-REVOKED");
  ASSERT_TRUE(CallUnary(&auth::v1::AuthService::Stub::RevokeChargingPoint, stack().auth(), revoke,
                        absl::Seconds(5)).ok());
  ASSERT_TRUE(stack().RestartAuth().ok());
  ASSERT_TRUE(stack().RestartCentral().ok());

  auth::v1::AuthenticateChargingPointRequest login;
  login.set_cp_id("HS-REVOKED");
  login.set_secret(*secret);
  auto authenticated = CallUnary(&auth::v1::AuthService::Stub::AuthenticateChargingPoint,
                                 stack().auth(), login, absl::Seconds(5));
  EXPECT_FALSE(authenticated.ok()) << "a revoked CP authenticated again after a restart";
  const int before = Audited("HS-REVOKED", "%");
  auto producer = KafkaProducer::Create(stack().kafka(), "hostile-revoked");
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE((*producer)->Produce(topics::kEngineEvents, "HS-REVOKED", captured).ok());
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(5)).ok());
  EXPECT_TRUE(Stack::WaitFor([&] { return Audited("HS-REVOKED", "%") > before; }));
  absl::SleepFor(absl::Seconds(3));
  auto status = stack().Status("HS-REVOKED");
  EXPECT_TRUE(!status.has_value() || status->state() != common::v1::CP_STATE_ACTIVE)
      << "the revoked CP's monitor linked again after the restarts";
}

// Last: it retires the key the stack's own operator token is signed with.
TEST_F(HostileSessionsTest, RetiredSigningKeyStopsVerifyingWithinTheBound) {
  ASSERT_TRUE(stack().AddDriver("hs-cid").ok());
  const std::string old_token = stack().driver("hs-cid").AccessToken();
  ASSERT_EQ(CentralWith(old_token), absl::StatusCode::kOk);
  ASSERT_EQ(RegistryWith(old_token, "hs-cid"), absl::StatusCode::kOk);
  auto rotated = CallUnary(&auth::v1::AuthService::Stub::RotateSigningKey, stack().auth(),
                           auth::v1::RotateSigningKeyRequest(), absl::Seconds(5));
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  // The old key is retired at once (compromised), with no event telling the
  // verifiers: auth just stops publishing it.
  stack().Sql("UPDATE signing_keys SET retired_at = now() WHERE key_id <> '" + rotated->key_id() + "'");
  EXPECT_TRUE(Stack::WaitFor([&] { return CentralWith(old_token) == absl::StatusCode::kUnauthenticated; },
                             kKeyBound))
      << "central still accepts a token signed by a retired key";
  EXPECT_TRUE(Stack::WaitFor([&] { return RegistryWith(old_token, "hs-cid") == absl::StatusCode::kUnauthenticated; },
                             kKeyBound))
      << "the registry still accepts a token signed by a retired key";
  // Tokens of the new key verify.
  auto fresh = ClientSession::Login(stack().auth_address(), "hs-cid", Stack::kDriverPassword,
                                    &stack().client_tls());
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(CentralWith((*fresh)->AccessToken()), absl::StatusCode::kOk);
}

}  // namespace
}  // namespace evc::testing
