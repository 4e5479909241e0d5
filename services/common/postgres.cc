#include "services/common/postgres.h"

#include "services/common/metrics.h"

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

namespace {

struct PgMetrics {
  prometheus::Family<prometheus::Gauge>& connections = prometheus::BuildGauge()
      .Name("evc_pg_pool_connections")
      .Help("Postgres pool connections, by state (idle, in_use)")
      .Register(metrics::Registry());
  prometheus::Histogram& wait = prometheus::BuildHistogram()
      .Name("evc_pg_pool_wait_seconds")
      .Help("Time waiting for a free pool connection")
      .Register(metrics::Registry())
      .Add({}, metrics::LatencyBuckets());
  prometheus::Family<prometheus::Histogram>& transaction = prometheus::BuildHistogram()
      .Name("evc_pg_transaction_seconds")
      .Help("Postgres transactions, by statement (the calling function)")
      .Register(metrics::Registry());
  prometheus::Family<prometheus::Counter>& errors = prometheus::BuildCounter()
      .Name("evc_pg_errors_total")
      .Help("Failed Postgres transactions, by statement and status code")
      .Register(metrics::Registry());
  prometheus::Gauge& idle = connections.Add({{"state", "idle"}});
  prometheus::Gauge& in_use = connections.Add({{"state", "in_use"}});

  void Count(size_t idle_now, int size) {
    idle.Set(static_cast<double>(idle_now));
    in_use.Set(static_cast<double>(size - static_cast<int>(idle_now)));
  }
};

PgMetrics& Metrics() {
  static PgMetrics* m = new PgMetrics();
  return *m;
}

// "absl::Status evc::central::PgSupplyStore::Write(const JournalBatch&)" -> "PgSupplyStore::Write".
std::string StatementName(const std::source_location& caller) {
  std::string_view f = caller.function_name();
  f = f.substr(0, f.find('('));
  const size_t last = f.rfind("::");
  if (last == std::string_view::npos) return std::string(f.substr(f.rfind(' ') + 1));
  const size_t before = f.rfind("::", last - 1);
  const size_t space = f.rfind(' ', last);
  size_t start = before == std::string_view::npos ? 0 : before + 2;
  if (space != std::string_view::npos && space + 1 > start) start = space + 1;
  return std::string(f.substr(start));
}

}  // namespace

std::unique_ptr<pqxx::connection> PgPool::Acquire() {
  const absl::Time asked = absl::Now();
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](std::vector<std::unique_ptr<pqxx::connection>>* idle) { return !idle->empty(); },
      &idle_));
  std::unique_ptr<pqxx::connection> c = std::move(idle_.back());
  idle_.pop_back();
  Metrics().wait.Observe(absl::ToDoubleSeconds(absl::Now() - asked));
  Metrics().Count(idle_.size(), size_);
  return c;
}

void PgPool::Release(std::unique_ptr<pqxx::connection> connection) {
  absl::MutexLock lock(&mu_);
  idle_.push_back(std::move(connection));
  Metrics().Count(idle_.size(), size_);
}

absl::Status PgPool::Transact(const std::function<void(pqxx::work&)>& work, std::source_location caller) {
  const absl::Time started = absl::Now();
  const std::string statement = StatementName(caller);
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
  Metrics().transaction.Add({{"statement", statement}}, metrics::LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(absl::Now() - started));
  if (!result.ok()) {
    Metrics().errors.Add({{"statement", statement}, {"code", metrics::CodeName(static_cast<int>(result.code()))}})
        .Increment();
  }
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
