#pragma once
// CP authentication: credentials (checked by the registry) -> a CP token and
// the CP's AES-256 key. Tokens are random, stored only as SHA-256, and expire.
// Keys rotate (the old one opens messages for a grace period) and are revoked
// at once for a compromised or removed CP; both are announced as AuthEvents
// so central follows without polling. Every step is audited.

#include <functional>

#include "absl/status/statusor.h"
#include "evc/auth/v1/auth.pb.h"
#include "evc/common/v1/types.pb.h"
#include "services/auth/auth_store.h"
#include "services/common/audit.h"
#include "services/common/caller.h"
#include "services/common/clock.h"
#include "services/common/publisher.h"

namespace evc::auth {

// Asks the registry whether id + secret are valid (UNAUTHENTICATED if not).
using CredentialChecker =
    std::function<absl::StatusOr<common::v1::ChargingPoint>(const std::string& cp_id,
                                                            const std::string& secret)>;

class Auth {
 public:
  Auth(AuthStore& store, CredentialChecker check, Publisher& events, AuditSink& audit,
       const Clock& clock, absl::Duration token_ttl)
      : store_(store), check_(std::move(check)), events_(events), audit_(audit), clock_(clock),
        token_ttl_(token_ttl) {}

  absl::StatusOr<v1::AuthenticateChargingPointResponse> Authenticate(
      const v1::AuthenticateChargingPointRequest& request, const std::string& source);
  // UNAUTHENTICATED for unknown, expired or revoked tokens.
  absl::StatusOr<v1::ValidateChargingPointTokenResponse> Validate(const std::string& token);
  // `block`: also refuse to authenticate it until its credentials are reset
  // (a compromised CP); without it the CP may log in again (credentials reset).
  absl::StatusOr<v1::RevokeChargingPointResponse> Revoke(const std::string& cp_id, const Caller& who,
                                                         const std::string& reason, bool block);
  // New credentials were issued: a blocked CP may authenticate again.
  absl::Status Unblock(const std::string& cp_id);
  absl::StatusOr<v1::RotateChargingPointKeyResponse> RotateKey(
      const v1::RotateChargingPointKeyRequest& request, const Caller& who);
  absl::StatusOr<v1::GetChargingPointKeysResponse> Keys(const std::string& cp_id);

 private:
  void Announce(const std::string& cp_id, events::v1::AuthEvent event);
  void Audit(AuditCategory category, const std::string& action, const Caller& who,
             const std::string& cp_id, const std::string& outcome,
             nlohmann::json details = nlohmann::json::object());

  AuthStore& store_;
  CredentialChecker check_;
  Publisher& events_;
  AuditSink& audit_;
  const Clock& clock_;
  absl::Duration token_ttl_;
};

}  // namespace evc::auth
