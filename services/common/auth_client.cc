#include "services/common/auth_client.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "services/common/crypto.h"
#include "services/common/grpc_util.h"
#include "services/common/log.h"
#include "services/common/proto_time.h"
#include "services/common/service_main.h"

namespace evc {

std::unique_ptr<TokenVerifier> MakeAuthTokenVerifier(auth::v1::AuthService::StubInterface& auth,
                                                     const Clock& clock) {
  auto fetch = [&auth]() -> absl::StatusOr<std::vector<VerifyingKey>> {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    auth::v1::GetSigningKeysResponse response;
    grpc::Status status = auth.GetSigningKeys(&context, auth::v1::GetSigningKeysRequest(), &response);
    if (!status.ok()) {
      return absl::UnavailableError(absl::StrCat("auth: ", status.error_message()));
    }
    std::vector<VerifyingKey> keys;
    for (const auto& k : response.keys()) {
      if (k.algorithm() == "EdDSA") keys.push_back({k.key_id(), k.public_key()});
    }
    return keys;
  };
  return std::make_unique<TokenVerifier>(std::move(fetch), clock);
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
    const std::string& service, TokenVerifier& verifier,
    std::function<void(const events::v1::AuthEvent&)> also) {
  const std::string group = absl::StrCat("evc-", service, "-auth-", getpid(), "-", crypto::RandomId());
  auto consumer = KafkaConsumer::Create({.brokers = KafkaBrokers(),
                                         .group_id = group,
                                         .client_id = group,
                                         .topics = {topics::kAuthEvents}});
  if (!consumer.ok()) return consumer.status();
  (*consumer)->Start([&verifier, also = std::move(also)](std::span<const KafkaMessage> batch) {
    for (const KafkaMessage& m : batch) {
      events::v1::AuthEvent event;
      if (!event.ParseFromString(m.payload)) {
        log::Warn("ignored a malformed auth event", {{"offset", m.offset}});
        continue;
      }
      ApplyAuthEvent(event, verifier);
      if (also) also(event);
    }
  });
  return consumer;
}

}  // namespace evc
