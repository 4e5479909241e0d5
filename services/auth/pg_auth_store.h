#pragma once

#include "services/auth/auth_store.h"
#include "services/common/postgres.h"

namespace evc::auth {

class PgAuthStore : public AuthStore {
 public:
  explicit PgAuthStore(PgPool& pool) : pool_(pool) {}
  absl::StatusOr<std::optional<CpKey>> ActiveKey(const std::string& cp_id) override;
  absl::Status InsertKey(const std::string& cp_id, const CpKey& key) override;
  absl::Status InsertToken(const std::string& token_sha256, const TokenRecord& token) override;
  absl::StatusOr<TokenRecord> FindToken(const std::string& token_sha256) override;
  absl::StatusOr<std::pair<int, int>> RevokeAll(const std::string& cp_id) override;

 private:
  PgPool& pool_;
};

}  // namespace evc::auth
