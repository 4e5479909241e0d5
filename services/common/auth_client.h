#pragma once
// What a service needs to check access tokens locally: a TokenVerifier fed
// with auth's public keys (fetched on first use of a key id), and a follower
// of evc.auth-events that applies logouts and key rotations as they happen.

#include <functional>
#include <memory>
#include <string>

#include "evc/auth/v1/auth.grpc.pb.h"
#include "evc/events/v1/events.pb.h"
#include "services/common/kafka.h"
#include "services/common/tokens.h"

namespace evc {

// A verifier whose keys come from auth's GetSigningKeys.
std::unique_ptr<TokenVerifier> MakeAuthTokenVerifier(auth::v1::AuthService::StubInterface& auth,
                                                     const Clock& clock);

// Applies token-related events (session revoked, signing key rotated).
void ApplyAuthEvent(const events::v1::AuthEvent& event, TokenVerifier& verifier);

// Follows evc.auth-events from the start with a consumer group of this
// process alone (every replica must see every event), calling `also` for
// each event after the verifier has seen it.
absl::StatusOr<std::unique_ptr<KafkaConsumer>> FollowAuthEvents(
    const std::string& service, TokenVerifier& verifier,
    std::function<void(const events::v1::AuthEvent&)> also = nullptr);

}  // namespace evc
