#pragma once

#include "services/auth/auth_store.h"
#include "services/common/postgres.h"

namespace evc::auth {

class PgAuthStore : public AuthStore, public SessionStore {
 public:
  explicit PgAuthStore(PgPool& pool) : pool_(pool) {}
  absl::StatusOr<std::optional<CpKey>> ActiveKey(const std::string& cp_id) override;
  absl::StatusOr<std::vector<CpKey>> ValidKeys(const std::string& cp_id, absl::Time now) override;
  absl::Status RotateKey(const std::string& cp_id, const CpKey& fresh, absl::Time old_until) override;
  absl::Status InsertKey(const std::string& cp_id, const CpKey& key) override;
  absl::Status InsertToken(const std::string& token_sha256, const TokenRecord& token) override;
  absl::StatusOr<TokenRecord> FindToken(const std::string& token_sha256) override;
  absl::StatusOr<std::pair<int, int>> RevokeAll(const std::string& cp_id) override;
  absl::Status SetBlocked(const std::string& cp_id, bool blocked) override;
  absl::StatusOr<bool> IsBlocked(const std::string& cp_id) override;

  absl::Status InsertSession(const Session& session, const std::string& refresh_sha256) override;
  absl::StatusOr<Session> RotateRefresh(const std::string& old_sha256, const std::string& new_sha256,
                                        absl::Time new_expiry, absl::Time now) override;
  absl::StatusOr<Session> RevokeSession(const std::string& session_id) override;
  absl::StatusOr<std::vector<RevokedSession>> RevokedSessions(absl::Time now,
                                                              absl::Duration access_ttl) override;
  absl::StatusOr<std::vector<StoredSigningKey>> SigningKeys(absl::Time now) override;
  absl::Status AddSigningKey(const StoredSigningKey& fresh, absl::Time others_retire_at) override;
  absl::StatusOr<LoginThrottle> GetThrottle(const std::string& username) override;
  absl::StatusOr<int> RecordFailure(const std::string& username) override;
  absl::Status LockUntil(const std::string& username, absl::Time until) override;
  absl::Status ClearFailures(const std::string& username) override;

 private:
  PgPool& pool_;
};

}  // namespace evc::auth
