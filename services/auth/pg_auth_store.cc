#include "services/auth/pg_auth_store.h"

#include "absl/strings/str_cat.h"

namespace evc::auth {

absl::StatusOr<std::optional<CpKey>> PgAuthStore::ActiveKey(const std::string& cp_id) {
  std::optional<CpKey> key;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT key_id, key FROM cp_keys WHERE cp_id = $1 AND revoked_at IS NULL"
        "   AND not_after IS NULL ORDER BY created_at DESC LIMIT 1",
        cp_id);
    if (r.empty()) return;
    pqxx::binarystring bytes(r[0][1]);
    key = CpKey{r[0][0].as<std::string>(), bytes.str()};
  });
  if (!s.ok()) return s;
  return key;
}

absl::StatusOr<std::vector<CpKey>> PgAuthStore::ValidKeys(const std::string& cp_id, absl::Time now) {
  std::vector<CpKey> keys;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT key_id, key, coalesce(extract(epoch from not_after)::float8, 0) FROM cp_keys"
        " WHERE cp_id = $1 AND revoked_at IS NULL"
        "   AND (not_after IS NULL OR not_after > to_timestamp($2))"
        " ORDER BY (not_after IS NULL), created_at",
        cp_id, PgEpoch(now));
    for (const pqxx::row& row : r) {
      const double not_after = row[2].as<double>();
      keys.push_back({row[0].as<std::string>(), pqxx::binarystring(row[1]).str(),
                      not_after > 0 ? PgFromEpoch(not_after) : absl::InfiniteFuture()});
    }
  });
  if (!s.ok()) return s;
  return keys;
}

absl::Status PgAuthStore::RotateKey(const std::string& cp_id, const CpKey& fresh, absl::Time old_until) {
  return pool_.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "UPDATE cp_keys SET not_after = to_timestamp($2) WHERE cp_id = $1 AND revoked_at IS NULL"
        "   AND (not_after IS NULL OR not_after > to_timestamp($2))",
        cp_id, PgEpoch(old_until));
    tx.exec_params("INSERT INTO cp_keys (key_id, cp_id, key) VALUES ($1, $2, $3)", fresh.key_id,
                   cp_id, pqxx::binarystring(fresh.key));
  });
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
        " (t.revoked_at IS NOT NULL OR k.revoked_at IS NOT NULL OR coalesce(k.not_after < now(), false))"
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

absl::Status PgAuthStore::SetBlocked(const std::string& cp_id, bool blocked) {
  return pool_.Transact([&](pqxx::work& tx) {
    if (blocked) {
      tx.exec_params("INSERT INTO cp_blocks (cp_id) VALUES ($1) ON CONFLICT DO NOTHING", cp_id);
    } else {
      tx.exec_params("DELETE FROM cp_blocks WHERE cp_id = $1", cp_id);
    }
  });
}

absl::StatusOr<bool> PgAuthStore::IsBlocked(const std::string& cp_id) {
  bool blocked = false;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    blocked = !tx.exec_params("SELECT 1 FROM cp_blocks WHERE cp_id = $1", cp_id).empty();
  });
  if (!s.ok()) return s;
  return blocked;
}

namespace {

Session SessionFromRow(const pqxx::row& r) {
  return {r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
          PgFromEpoch(r[3].as<double>())};
}

constexpr char kSessionColumns[] =
    "session_id, username, role, extract(epoch from expires_at)::float8";

}  // namespace

absl::Status PgAuthStore::InsertSession(const Session& session, const std::string& refresh_sha256) {
  return pool_.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "INSERT INTO sessions (session_id, username, role, refresh_sha256, expires_at)"
        " VALUES ($1, $2, $3, $4, to_timestamp($5))",
        session.session_id, session.username, session.role, pqxx::binarystring(refresh_sha256),
        PgEpoch(session.expires_at));
  });
}

absl::StatusOr<Session> PgAuthStore::RotateRefresh(const std::string& old_sha256,
                                                   const std::string& new_sha256,
                                                   absl::Time new_expiry, absl::Time now) {
  Session session;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        absl::StrCat("UPDATE sessions SET refresh_sha256 = $2, expires_at = to_timestamp($3)"
                     " WHERE refresh_sha256 = $1 AND revoked_at IS NULL"
                     "   AND expires_at > to_timestamp($4) RETURNING ",
                     kSessionColumns),
        pqxx::binarystring(old_sha256), pqxx::binarystring(new_sha256), PgEpoch(new_expiry),
        PgEpoch(now));
    if (r.empty()) throw AbortTransaction(absl::NotFoundError("no live session for this refresh token"));
    session = SessionFromRow(r[0]);
  });
  if (!s.ok()) return s;
  return session;
}

absl::StatusOr<Session> PgAuthStore::RevokeSession(const std::string& session_id) {
  Session session;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        absl::StrCat("UPDATE sessions SET revoked_at = now() WHERE session_id = $1"
                     "   AND revoked_at IS NULL RETURNING ",
                     kSessionColumns),
        session_id);
    if (r.empty()) throw AbortTransaction(absl::NotFoundError("no live session"));
    session = SessionFromRow(r[0]);
  });
  if (!s.ok()) return s;
  return session;
}

absl::StatusOr<std::vector<RevokedSession>> PgAuthStore::RevokedSessions(absl::Time now,
                                                                         absl::Duration access_ttl) {
  std::vector<RevokedSession> revoked;
  const double ttl = absl::ToDoubleSeconds(access_ttl);
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT session_id, extract(epoch from least(expires_at,"
        "   revoked_at + make_interval(secs => $2)))::float8"
        " FROM sessions WHERE revoked_at > to_timestamp($1) - make_interval(secs => $2)"
        "   AND expires_at > to_timestamp($1)",
        PgEpoch(now), ttl);
    for (const pqxx::row& row : r) {
      revoked.push_back({row[0].as<std::string>(), PgFromEpoch(row[1].as<double>())});
    }
  });
  if (!s.ok()) return s;
  return revoked;
}

absl::StatusOr<std::vector<StoredSigningKey>> PgAuthStore::SigningKeys(absl::Time now) {
  std::vector<StoredSigningKey> keys;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT key_id, private_key, public_key, coalesce(extract(epoch from retired_at)::float8, 0)"
        " FROM signing_keys WHERE retired_at IS NULL OR retired_at > to_timestamp($1)"
        " ORDER BY created_at",
        PgEpoch(now));
    for (const pqxx::row& row : r) {
      const double retired = row[3].as<double>();
      keys.push_back({row[0].as<std::string>(), pqxx::binarystring(row[1]).str(),
                      pqxx::binarystring(row[2]).str(),
                      retired > 0 ? PgFromEpoch(retired) : absl::InfiniteFuture()});
    }
  });
  if (!s.ok()) return s;
  return keys;
}

absl::Status PgAuthStore::AddSigningKey(const StoredSigningKey& fresh, absl::Time others_retire_at) {
  return pool_.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "UPDATE signing_keys SET retired_at = to_timestamp($1)"
        " WHERE retired_at IS NULL OR retired_at > to_timestamp($1)",
        PgEpoch(others_retire_at));
    tx.exec_params("INSERT INTO signing_keys (key_id, private_key, public_key) VALUES ($1, $2, $3)",
                   fresh.key_id, pqxx::binarystring(fresh.private_key),
                   pqxx::binarystring(fresh.public_key));
  });
}

absl::StatusOr<LoginThrottle> PgAuthStore::GetThrottle(const std::string& username) {
  LoginThrottle throttle;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT failures, coalesce(extract(epoch from locked_until)::float8, 0) FROM login_failures"
        " WHERE username = lower($1)",
        username);
    if (r.empty()) return;
    throttle.failures = r[0][0].as<int>();
    const double until = r[0][1].as<double>();
    if (until > 0) throttle.locked_until = PgFromEpoch(until);
  });
  if (!s.ok()) return s;
  return throttle;
}

absl::StatusOr<int> PgAuthStore::RecordFailure(const std::string& username) {
  int failures = 0;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "INSERT INTO login_failures (username, failures) VALUES (lower($1), 1)"
        " ON CONFLICT (username) DO UPDATE SET failures = login_failures.failures + 1,"
        "   last_failure_at = now() RETURNING failures",
        username);
    failures = r[0][0].as<int>();
  });
  if (!s.ok()) return s;
  return failures;
}

absl::Status PgAuthStore::LockUntil(const std::string& username, absl::Time until) {
  return pool_.Transact([&](pqxx::work& tx) {
    tx.exec_params("UPDATE login_failures SET locked_until = to_timestamp($2) WHERE username = lower($1)",
                   username, PgEpoch(until));
  });
}

absl::Status PgAuthStore::ClearFailures(const std::string& username) {
  return pool_.Transact([&](pqxx::work& tx) {
    tx.exec_params("DELETE FROM login_failures WHERE username = lower($1)", username);
  });
}

}  // namespace evc::auth
