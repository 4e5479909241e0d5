#pragma once
// What a service needs to check access tokens locally: a TokenVerifier fed
// with auth's public keys and revoked sessions (fetched on first use, on an
// unknown key id and periodically), and a follower of evc.auth-events that
// applies logouts and key rotations as they happen.

#include <functional>
#include <memory>
#include <string>

#include "evc/auth/v1/auth.grpc.pb.h"
#include "evc/events/v1/events.pb.h"
#include "services/common/kafka.h"
#include "services/common/message_auth.h"
#include "services/common/tokens.h"

namespace evc {

// What auth's GetSigningKeys and ListRevokedSessions answered, for a verifier.
PublishedTrust TrustFromAuth(const auth::v1::GetSigningKeysResponse& keys,
                             const auth::v1::ListRevokedSessionsResponse& revoked);

// A verifier whose keys and revoked sessions come from auth (GetSigningKeys
// and ListRevokedSessions, fetched together): a service that starts refuses
// the sessions logged out before, and a key auth stops publishing stops
// verifying within `options.refresh_interval`.
std::unique_ptr<TokenVerifier> MakeAuthTokenVerifier(auth::v1::AuthService::StubInterface& auth,
                                                     const Clock& clock,
                                                     TokenVerifierOptions options = {});

// Applies token-related events (session revoked, signing key rotated).
void ApplyAuthEvent(const events::v1::AuthEvent& event, TokenVerifier& verifier);

// Follows evc.auth-events from the start with a consumer group of this
// process alone (every replica must see every event), calling `also` for
// each event after the verifier has seen it. Only events auth signed
// (verified with `auth_keys`, see AuthEventKeys) are applied; others are
// logged as SECURITY and skipped.
absl::StatusOr<std::unique_ptr<KafkaConsumer>> FollowAuthEvents(
    const std::string& service, TokenVerifier& verifier, VerifyingKeys& auth_keys,
    std::function<void(const events::v1::AuthEvent&)> also = nullptr);

}  // namespace evc
