#pragma once
// Access tokens for drivers and operators: JWTs (RFC 7519) signed with
// Ed25519 ("alg": "EdDSA", RFC 8037), the signing key's id in the header so
// keys rotate without breaking tokens in flight. Auth signs; every service
// verifies locally with auth's public keys (TokenVerifier), so no request
// costs a round trip to auth. Logged-out sessions reach verifiers as
// SessionRevoked events, and with every fetch of the keys (so a verifier that
// starts knows the ones revoked before).

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

// A session logged out or revoked; its access tokens are all expired by
// `until`.
struct RevokedSession {
  std::string session_id;
  absl::Time until;
};

// What auth publishes for verifiers: the keys that verify now (a key missing
// here is retired or withdrawn) and the sessions revoked before their tokens
// expire.
struct PublishedTrust {
  std::vector<VerifyingKey> keys;
  std::vector<RevokedSession> revoked;
};

struct TokenVerifierOptions {
  // Least time between two fetches (an unknown key id, a refresh).
  absl::Duration refetch_interval = absl::Seconds(2);
  // Fetched again this often even when every token names a known key: a key
  // auth stops publishing stops verifying within this (plus one fetch).
  absl::Duration refresh_interval = absl::Seconds(30);
  // With no successful fetch for this long (auth unreachable) the keys are no
  // longer trusted and every token is refused until auth answers. Tokens live
  // 15 minutes, so an auth outage this long has ended every session anyway;
  // cutting auth off cannot keep a withdrawn key alive.
  absl::Duration max_staleness = absl::Minutes(15);
};

// The local verification path. Thread-safe.
class TokenVerifier {
 public:
  // Fetches auth's current keys and revoked sessions. Called on the first
  // token, on a key id not seen yet and every `refresh_interval`, never more
  // often than `refetch_interval`, and never under the lock (verifications
  // go on with the current keys meanwhile). Each successful fetch replaces
  // the key set; revocations are added to those already known.
  using TrustFetcher = std::function<absl::StatusOr<PublishedTrust>()>;
  TokenVerifier(TrustFetcher fetch, const Clock& clock, TokenVerifierOptions options = {});
  // Keys alone, nothing revoked at start (tests, fixed keys).
  using KeyFetcher = std::function<absl::StatusOr<std::vector<VerifyingKey>>()>;
  TokenVerifier(KeyFetcher fetch, const Clock& clock,
                absl::Duration refetch_interval = absl::Seconds(2));

  // UNAUTHENTICATED (with the reason) unless signed by a currently published
  // key, unexpired and not revoked.
  absl::StatusOr<Claims> Verify(absl::string_view token);
  void RevokeSession(const std::string& session_id, absl::Time until);
  // Fetch again on the next verification, without waiting.
  void KeysChanged();

 private:
  // Claims the next fetch if one is due (an unknown key id or the periodic
  // refresh) and allowed by the rate limit.
  bool ClaimFetch(absl::Time now, bool unknown_key);
  void Fetch();
  // Checks `token` against the current state; `*unknown_key` when it names a
  // key not in the set.
  absl::StatusOr<Claims> Check(absl::string_view token, absl::Time now, bool* unknown_key);

  // Blocks (at most kFetchWait) until a fetch another call claimed has finished.
  void WaitForFetchInFlight();
  static constexpr absl::Duration kFetchWait = absl::Seconds(5);

  TrustFetcher fetch_;
  const Clock& clock_;
  const TokenVerifierOptions options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, VerifyingKey> keys_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> revoked_ ABSL_GUARDED_BY(mu_);
  bool fetching_ ABSL_GUARDED_BY(mu_) = false;
  // Earliest next attempt (rate limit) and when the periodic refresh is due.
  absl::Time next_fetch_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time refresh_due_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time fetched_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace evc
