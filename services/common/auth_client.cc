#include "services/common/auth_client.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "services/common/crypto.h"
#include "services/common/grpc_util.h"
#include "services/common/log.h"
#include "services/common/proto_time.h"
#include "services/common/service_main.h"

namespace evc {

PublishedTrust TrustFromAuth(const auth::v1::GetSigningKeysResponse& keys,
                             const auth::v1::ListRevokedSessionsResponse& revoked) {
  PublishedTrust trust;
  for (const auto& k : keys.keys()) {
    if (k.algorithm() == "EdDSA") trust.keys.push_back({k.key_id(), k.public_key()});
  }
  for (const auto& r : revoked.sessions()) {
    trust.revoked.push_back({r.session_id(), FromProto(r.until())});
  }
  return trust;
}

std::unique_ptr<TokenVerifier> MakeAuthTokenVerifier(auth::v1::AuthService::StubInterface& auth,
                                                     const Clock& clock, TokenVerifierOptions options) {
  auto fetch = [&auth]() -> absl::StatusOr<PublishedTrust> {
    auto deadline = [] { return std::chrono::system_clock::now() + std::chrono::seconds(3); };
    grpc::ClientContext keys_context;
    keys_context.set_deadline(deadline());
    auth::v1::GetSigningKeysResponse keys;
    grpc::Status status = auth.GetSigningKeys(&keys_context, auth::v1::GetSigningKeysRequest(), &keys);
    if (!status.ok()) return absl::UnavailableError(absl::StrCat("auth: ", status.error_message()));
    // Keys without the revocations would let a logged-out session back in.
    grpc::ClientContext revoked_context;
    revoked_context.set_deadline(deadline());
    auth::v1::ListRevokedSessionsResponse revoked;
    status = auth.ListRevokedSessions(&revoked_context, auth::v1::ListRevokedSessionsRequest(), &revoked);
    if (!status.ok()) {
      return absl::UnavailableError(absl::StrCat("auth (revoked sessions): ", status.error_message()));
    }
    return TrustFromAuth(keys, revoked);
  };
  return std::make_unique<TokenVerifier>(std::move(fetch), clock, options);
}

void ApplyAuthEvent(const events::v1::AuthEvent& event, TokenVerifier& verifier) {
  if (event.has_session_revoked()) {
    verifier.RevokeSession(event.session_revoked().session_id(),
                           FromProto(event.session_revoked().expires_at()));
  } else if (event.has_signing_key_rotated()) {
    verifier.KeysChanged();
  }
}

absl::StatusOr<std::unique_ptr<KafkaConsumer>> FollowAuthEvents(
    const std::string& service, TokenVerifier& verifier, VerifyingKeys& auth_keys,
    std::function<void(const events::v1::AuthEvent&)> also) {
  const std::string group = absl::StrCat("evc-", service, "-auth-", getpid(), "-", crypto::RandomId());
  auto consumer = KafkaConsumer::Create({.brokers = KafkaBrokers(),
                                         .group_id = group,
                                         .client_id = group,
                                         .topics = {topics::kAuthEvents}});
  if (!consumer.ok()) return consumer.status();
  (*consumer)->Start([&verifier, &auth_keys, service, also = std::move(also)](std::span<const KafkaMessage> batch) {
    static const SystemClock clock;
    for (const KafkaMessage& m : batch) {
      events::v1::AuthEvent event;
      if (absl::Status s = OpenSignedEvent(m.payload, auth_keys, &event); !s.ok()) {
        RefuseEvent(m, s, service, nullptr, clock);
        continue;
      }
      ApplyAuthEvent(event, verifier);
      if (also) also(event);
    }
  });
  return consumer;
}

}  // namespace evc
