#include "services/common/postgres.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/backoff.h"
#include "services/common/log.h"
#include "services/common/sql_migrations.h"

namespace evc {

absl::StatusOr<std::unique_ptr<PgPool>> PgPool::Connect(const std::string& url, int size,
                                                        absl::Duration timeout,
                                                        const absl::Notification* stop) {
  std::unique_ptr<PgPool> pool(new PgPool(url));
  pool->size_ = size;
  absl::Status status = RetryWithBackoff(
      "connect to postgres",
      [&]() -> absl::Status {
        try {
          absl::MutexLock lock(&pool->mu_);
          while (static_cast<int>(pool->idle_.size()) < size) {
            pool->idle_.push_back(std::make_unique<pqxx::connection>(url));
          }
          return absl::OkStatus();
        } catch (const std::exception& e) {
          return absl::UnavailableError(e.what());
        }
      },
      absl::Now() + timeout, stop);
  if (!status.ok()) return status;
  return pool;
}

std::unique_ptr<pqxx::connection> PgPool::Acquire() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](std::vector<std::unique_ptr<pqxx::connection>>* idle) { return !idle->empty(); },
      &idle_));
  std::unique_ptr<pqxx::connection> c = std::move(idle_.back());
  idle_.pop_back();
  return c;
}

void PgPool::Release(std::unique_ptr<pqxx::connection> connection) {
  absl::MutexLock lock(&mu_);
  idle_.push_back(std::move(connection));
}

absl::Status PgPool::Transact(const std::function<void(pqxx::work&)>& work) {
  std::unique_ptr<pqxx::connection> connection = Acquire();
  absl::Status result;
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (!connection->is_open()) connection = std::make_unique<pqxx::connection>(url_);
      pqxx::work tx(*connection);
      work(tx);
      tx.commit();
      result = absl::OkStatus();
      break;
    } catch (const pqxx::broken_connection& e) {
      result = absl::UnavailableError(absl::StrCat("postgres connection lost: ", e.what()));
      try {
        connection = std::make_unique<pqxx::connection>(url_);
      } catch (const std::exception& reconnect) {
        result = absl::UnavailableError(absl::StrCat("postgres unreachable: ", reconnect.what()));
        break;
      }
    } catch (const pqxx::unique_violation& e) {
      result = absl::AlreadyExistsError(e.what());
      break;
    } catch (const pqxx::check_violation& e) {
      result = absl::InvalidArgumentError(e.what());
      break;
    } catch (const AbortTransaction& e) {
      result = e.status;
      break;
    } catch (const std::exception& e) {
      result = absl::InternalError(absl::StrCat("postgres: ", e.what()));
      break;
    }
  }
  Release(std::move(connection));
  return result;
}

absl::Status ApplyMigrations(PgPool& pool) {
  return pool.Transact([](pqxx::work& tx) {
    // Any constant works as the lock id, as long as every service uses it.
    tx.exec("SELECT pg_advisory_xact_lock(727274)");
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    for (const SqlMigration& m : EmbeddedMigrations()) {
      pqxx::result seen =
          tx.exec_params("SELECT 1 FROM schema_migrations WHERE version = $1", m.version);
      if (!seen.empty()) continue;
      tx.exec(std::string(m.sql));
      tx.exec_params("INSERT INTO schema_migrations(version, name) VALUES ($1, $2)", m.version,
                     std::string(m.name));
      log::Info("applied migration", {{"version", m.version}, {"name", std::string(m.name)}});
    }
  });
}

std::string PgTextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ",";
    out += "\"";
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\"";
  }
  return out + "}";
}

double PgEpoch(absl::Time t) { return absl::ToDoubleSeconds(t - absl::UnixEpoch()); }
absl::Time PgFromEpoch(double s) { return absl::FromUnixMicros(static_cast<int64_t>(s * 1e6)); }

}  // namespace evc
