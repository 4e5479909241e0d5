#pragma once
// Persistence of CP keys and tokens. Tokens are looked up by their SHA-256.

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace evc::auth {

struct CpKey {
  std::string key_id;
  std::string key;  // 32 bytes
};

struct TokenRecord {
  std::string cp_id;
  std::string key_id;
  absl::Time expires_at;
  bool revoked = false;
};

class AuthStore {
 public:
  virtual ~AuthStore() = default;
  // The CP's newest unrevoked key, if any.
  virtual absl::StatusOr<std::optional<CpKey>> ActiveKey(const std::string& cp_id) = 0;
  virtual absl::Status InsertKey(const std::string& cp_id, const CpKey& key) = 0;
  virtual absl::Status InsertToken(const std::string& token_sha256, const TokenRecord& token) = 0;
  // NOT_FOUND for an unknown token.
  virtual absl::StatusOr<TokenRecord> FindToken(const std::string& token_sha256) = 0;
  // Revokes every token and key of the CP; returns how many of each.
  virtual absl::StatusOr<std::pair<int, int>> RevokeAll(const std::string& cp_id) = 0;
};

}  // namespace evc::auth
