#pragma once
// Access tokens for drivers and operators: JWTs (RFC 7519) signed with
// Ed25519 ("alg": "EdDSA", RFC 8037), the signing key's id in the header so
// keys rotate without breaking tokens in flight. Auth signs; every service
// verifies locally with auth's public keys (TokenVerifier), so no request
// costs a round trip to auth. Logged-out sessions reach verifiers as
// SessionRevoked events.

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/common/clock.h"

namespace evc {

inline constexpr char kRoleDriver[] = "driver";
inline constexpr char kRoleOperator[] = "operator";
inline constexpr char kTokenIssuer[] = "evc-auth";

struct Claims {
  std::string subject;  // username
  std::string role;     // kRoleDriver or kRoleOperator
  std::string session_id;
  std::string token_id;
  absl::Time issued_at;
  absl::Time expires_at;
};

struct SigningKey {
  std::string key_id;
  std::string private_key;  // Ed25519, 32 bytes
};

struct VerifyingKey {
  std::string key_id;
  std::string public_key;  // Ed25519, 32 bytes
};

absl::StatusOr<std::string> SignToken(const SigningKey& key, const Claims& claims);

// Checks form, algorithm and signature; not expiry or revocation. Every
// failure is UNAUTHENTICATED with the reason.
using VerifyingKeyLookup = std::function<const VerifyingKey*(const std::string& key_id)>;
absl::StatusOr<Claims> ParseSignedToken(absl::string_view token, const VerifyingKeyLookup& keys);

// The local verification path. Thread-safe.
class TokenVerifier {
 public:
  // Fetches auth's current public keys; called when a token names a key id
  // not seen yet (at most once per `refetch_interval`).
  using KeyFetcher = std::function<absl::StatusOr<std::vector<VerifyingKey>>()>;
  TokenVerifier(KeyFetcher fetch, const Clock& clock,
                absl::Duration refetch_interval = absl::Seconds(2));

  // UNAUTHENTICATED (with the reason) unless signed by a known key, unexpired
  // and not revoked.
  absl::StatusOr<Claims> Verify(absl::string_view token);
  void RevokeSession(const std::string& session_id, absl::Time until);
  // Fetch the keys again on the next unknown key id, without waiting.
  void KeysChanged();

 private:
  KeyFetcher fetch_;
  const Clock& clock_;
  const absl::Duration refetch_interval_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, VerifyingKey> keys_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> revoked_ ABSL_GUARDED_BY(mu_);
  absl::Time next_fetch_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace evc
