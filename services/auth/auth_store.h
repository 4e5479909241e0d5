#pragma once
// Persistence of CP keys and tokens. Tokens are looked up by their SHA-256.

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/sealed.h"
#include "services/common/tokens.h"

namespace evc::auth {

struct TokenRecord {
  std::string cp_id;
  std::string key_id;
  absl::Time expires_at;
  bool revoked = false;
};

class AuthStore {
 public:
  virtual ~AuthStore() = default;
  // The CP's newest unrevoked key without an end (not being rotated out), if any.
  virtual absl::StatusOr<std::optional<CpKey>> ActiveKey(const std::string& cp_id) = 0;
  // Every unrevoked key that still opens messages at `now`, oldest first.
  virtual absl::StatusOr<std::vector<CpKey>> ValidKeys(const std::string& cp_id, absl::Time now) = 0;
  // Ends the CP's current keys at `old_until` and adds `fresh`, atomically.
  virtual absl::Status RotateKey(const std::string& cp_id, const CpKey& fresh, absl::Time old_until) = 0;
  virtual absl::Status InsertKey(const std::string& cp_id, const CpKey& key) = 0;
  virtual absl::Status InsertToken(const std::string& token_sha256, const TokenRecord& token) = 0;
  // NOT_FOUND for an unknown token.
  virtual absl::StatusOr<TokenRecord> FindToken(const std::string& token_sha256) = 0;
  // A blocked CP (revoked as compromised) cannot authenticate until its
  // credentials are reset.
  virtual absl::Status SetBlocked(const std::string& cp_id, bool blocked) = 0;
  virtual absl::StatusOr<bool> IsBlocked(const std::string& cp_id) = 0;
  // Revokes every token and key of the CP; returns how many of each.
  virtual absl::StatusOr<std::pair<int, int>> RevokeAll(const std::string& cp_id) = 0;
};

struct Session {
  std::string session_id;
  std::string username;
  std::string role;
  absl::Time expires_at;
};

struct StoredSigningKey {
  std::string key_id;
  std::string private_key;
  std::string public_key;
  absl::Time retired_at = absl::InfiniteFuture();
};

struct LoginThrottle {
  int failures = 0;
  absl::Time locked_until = absl::InfinitePast();
};

// Persistence of driver/operator sessions, token-signing keys and failed
// logins.
class SessionStore {
 public:
  virtual ~SessionStore() = default;
  virtual absl::Status InsertSession(const Session& session, const std::string& refresh_sha256) = 0;
  // Swaps a live session's refresh token; NOT_FOUND if the old one is
  // unknown, spent, revoked or expired.
  virtual absl::StatusOr<Session> RotateRefresh(const std::string& old_sha256,
                                                const std::string& new_sha256,
                                                absl::Time new_expiry, absl::Time now) = 0;
  // NOT_FOUND if unknown or already revoked.
  virtual absl::StatusOr<Session> RevokeSession(const std::string& session_id) = 0;
  // Sessions revoked after `now - access_ttl` and not expired at `now`: the
  // only ones that can still have unexpired access tokens (none is issued
  // after the revocation). `until` is when the last of them expires.
  virtual absl::StatusOr<std::vector<RevokedSession>> RevokedSessions(absl::Time now,
                                                                      absl::Duration access_ttl) = 0;

  // Unretired (or retiring later than `now`) keys, oldest first.
  virtual absl::StatusOr<std::vector<StoredSigningKey>> SigningKeys(absl::Time now) = 0;
  // Adds `fresh` and retires the others at `others_retire_at`.
  virtual absl::Status AddSigningKey(const StoredSigningKey& fresh, absl::Time others_retire_at) = 0;

  virtual absl::StatusOr<LoginThrottle> GetThrottle(const std::string& username) = 0;
  // Counts one more failure; the returned count includes it.
  virtual absl::StatusOr<int> RecordFailure(const std::string& username) = 0;
  virtual absl::Status LockUntil(const std::string& username, absl::Time until) = 0;
  virtual absl::Status ClearFailures(const std::string& username) = 0;
};

}  // namespace evc::auth
