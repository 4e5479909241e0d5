#pragma once
// Driver and operator sessions: login (password checked by the registry) ->
// an Ed25519-signed access token (JWT) + a refresh token stored only as
// SHA-256 and rotated on every use; logout revokes the session everywhere
// (an AuthEvent tells every verifier). Failed logins are audited as SECURITY
// events, and an account that keeps failing is locked for a time that
// doubles with every further failure.

#include <functional>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "evc/auth/v1/auth.pb.h"
#include "evc/registry/v1/registry.pb.h"
#include "services/auth/auth_store.h"
#include "services/common/audit.h"
#include "services/common/caller.h"
#include "services/common/clock.h"
#include "services/common/publisher.h"
#include "services/common/tokens.h"

namespace evc::auth {

// Asks the registry for the account if the password is right
// (UNAUTHENTICATED if not).
using PasswordChecker = std::function<absl::StatusOr<registry::v1::Account>(
    const std::string& username, const std::string& password)>;

struct SessionOptions {
  absl::Duration access_ttl = absl::Minutes(15);
  absl::Duration refresh_ttl = absl::Hours(12);
  // Consecutive failures before the account locks, and the first lock.
  int lock_after_failures = 5;
  absl::Duration first_lock = absl::Seconds(30);
  absl::Duration max_lock = absl::Minutes(15);
  // Lifetime of a charge assertion (single use, bound to one request).
  absl::Duration assertion_ttl = absl::Seconds(60);
};

class Sessions {
 public:
  Sessions(SessionStore& store, PasswordChecker check, Publisher& events, AuditSink& audit,
           const Clock& clock, SessionOptions options = {});

  // Loads the signing keys, creating the first one if there is none.
  absl::Status Start();

  absl::StatusOr<v1::TokenPair> Login(const v1::LoginRequest& request, const std::string& source);
  absl::StatusOr<v1::TokenPair> Refresh(const v1::RefreshRequest& request, const std::string& source);
  absl::Status Logout(const Caller& caller);
  absl::StatusOr<v1::GetSigningKeysResponse> PublicKeys();
  // The sessions revoked whose access tokens may not all have expired.
  absl::StatusOr<v1::ListRevokedSessionsResponse> RevokedSessions();
  absl::StatusOr<v1::RotateSigningKeyResponse> RotateSigningKey(const Caller& caller);
  // For a driver (`caller`): a Signed ChargeAssertion for one request at one
  // CP, valid `options.assertion_ttl`, and the driver's notification key.
  absl::StatusOr<v1::IssueChargeAssertionResponse> IssueChargeAssertion(
      const Caller& caller, const v1::IssueChargeAssertionRequest& request);
  // The key central seals `driver_id`'s notifications with.
  absl::StatusOr<v1::NotificationKey> NotificationKeyFor(const std::string& driver_id);
  // The key that signs tokens, assertions and auth's events now.
  SigningKey CurrentSigningKey();
  // Verifies tokens with this auth's own keys (also the ValidateToken RPC).
  TokenVerifier& verifier() { return verifier_; }

 private:
  absl::StatusOr<v1::TokenPair> Issue(const Session& session, const std::string& refresh_token);
  // RESOURCE_EXHAUSTED while the account is locked.
  absl::Status CheckNotLocked(const std::string& username, const std::string& source);
  void LoginFailed(const std::string& username, const std::string& source, const std::string& why);
  void Audit(AuditCategory category, const std::string& action, const std::string& actor,
             const std::string& source, const std::string& outcome,
             nlohmann::json details = nlohmann::json::object());

  SessionStore& store_;
  PasswordChecker check_;
  Publisher& events_;
  AuditSink& audit_;
  const Clock& clock_;
  const SessionOptions options_;
  TokenVerifier verifier_;
  absl::Mutex mu_;
  SigningKey signing_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evc::auth
