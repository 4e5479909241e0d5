#pragma once
// CP authentication: credentials (checked by the registry) -> a CP token and
// the CP's AES-256 key. Tokens are random, stored only as SHA-256, and expire.

#include <functional>

#include "absl/status/statusor.h"
#include "evc/auth/v1/auth.pb.h"
#include "evc/common/v1/types.pb.h"
#include "services/auth/auth_store.h"
#include "services/common/clock.h"

namespace evc::auth {

// Asks the registry whether id + secret are valid (UNAUTHENTICATED if not).
using CredentialChecker =
    std::function<absl::StatusOr<common::v1::ChargingPoint>(const std::string& cp_id,
                                                            const std::string& secret)>;

class Auth {
 public:
  Auth(AuthStore& store, CredentialChecker check, const Clock& clock, absl::Duration token_ttl)
      : store_(store), check_(std::move(check)), clock_(clock), token_ttl_(token_ttl) {}

  absl::StatusOr<v1::AuthenticateChargingPointResponse> Authenticate(
      const v1::AuthenticateChargingPointRequest& request);
  // UNAUTHENTICATED for unknown, expired or revoked tokens.
  absl::StatusOr<v1::ValidateChargingPointTokenResponse> Validate(const std::string& token);
  absl::StatusOr<v1::RevokeChargingPointResponse> Revoke(const std::string& cp_id);

 private:
  AuthStore& store_;
  CredentialChecker check_;
  const Clock& clock_;
  absl::Duration token_ttl_;
};

}  // namespace evc::auth
