#include "services/auth/pg_auth_store.h"

namespace evc::auth {

absl::StatusOr<std::optional<CpKey>> PgAuthStore::ActiveKey(const std::string& cp_id) {
  std::optional<CpKey> key;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT key_id, key FROM cp_keys WHERE cp_id = $1 AND revoked_at IS NULL"
        " ORDER BY created_at DESC LIMIT 1",
        cp_id);
    if (r.empty()) return;
    pqxx::binarystring bytes(r[0][1]);
    key = CpKey{r[0][0].as<std::string>(), bytes.str()};
  });
  if (!s.ok()) return s;
  return key;
}

absl::Status PgAuthStore::InsertKey(const std::string& cp_id, const CpKey& key) {
  return pool_.Transact([&](pqxx::work& tx) {
    tx.exec_params("INSERT INTO cp_keys (key_id, cp_id, key) VALUES ($1, $2, $3)", key.key_id,
                   cp_id, pqxx::binarystring(key.key));
  });
}

absl::Status PgAuthStore::InsertToken(const std::string& token_sha256, const TokenRecord& token) {
  return pool_.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "INSERT INTO cp_tokens (token_sha256, cp_id, key_id, expires_at)"
        " VALUES ($1, $2, $3, to_timestamp($4))",
        pqxx::binarystring(token_sha256), token.cp_id, token.key_id,
        absl::ToDoubleSeconds(token.expires_at - absl::UnixEpoch()));
  });
}

absl::StatusOr<TokenRecord> PgAuthStore::FindToken(const std::string& token_sha256) {
  TokenRecord token;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT t.cp_id, t.key_id, extract(epoch from t.expires_at)::float8,"
        " (t.revoked_at IS NOT NULL OR k.revoked_at IS NOT NULL)"
        " FROM cp_tokens t JOIN cp_keys k USING (key_id) WHERE t.token_sha256 = $1",
        pqxx::binarystring(token_sha256));
    if (r.empty()) throw AbortTransaction(absl::NotFoundError("unknown token"));
    token.cp_id = r[0][0].as<std::string>();
    token.key_id = r[0][1].as<std::string>();
    token.expires_at = absl::FromUnixMicros(static_cast<int64_t>(r[0][2].as<double>() * 1e6));
    token.revoked = r[0][3].as<bool>();
  });
  if (!s.ok()) return s;
  return token;
}

absl::StatusOr<std::pair<int, int>> PgAuthStore::RevokeAll(const std::string& cp_id) {
  std::pair<int, int> counts;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    counts.first = static_cast<int>(
        tx.exec_params("UPDATE cp_tokens SET revoked_at = now() WHERE cp_id = $1 AND revoked_at IS NULL",
                       cp_id)
            .affected_rows());
    counts.second = static_cast<int>(
        tx.exec_params("UPDATE cp_keys SET revoked_at = now() WHERE cp_id = $1 AND revoked_at IS NULL",
                       cp_id)
            .affected_rows());
  });
  if (!s.ok()) return s;
  return counts;
}

}  // namespace evc::auth
