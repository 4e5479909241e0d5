#include "services/common/postgres.h"

#include "services/common/metrics.h"

#include <algorithm>

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
std::string StatementName(const CallerLocation& caller) {
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

absl::Status PgErrorStatus(absl::string_view sqlstate, absl::string_view what) {
  const absl::string_view cls = sqlstate.substr(0, 2);
  // The database cannot take writes now; the same rows may pass later.
  if (cls == "08" || cls == "53" || cls == "57" || cls == "58" || cls == "55" || cls == "40" ||
      sqlstate == "25006") {
    return absl::UnavailableError(absl::StrCat("postgres is not accepting writes (SQLSTATE ",
                                               sqlstate, "): ", what));
  }
  // The rows themselves are refused: retrying them can never succeed.
  if (cls == "22") {
    return absl::InvalidArgumentError(absl::StrCat("postgres refused the data (SQLSTATE ", sqlstate,
                                                   "): ", what));
  }
  if (cls == "23") {
    return absl::FailedPreconditionError(absl::StrCat(
        "postgres refused the rows: a constraint was violated (SQLSTATE ", sqlstate, "): ", what));
  }
  return absl::InternalError(absl::StrCat("postgres (SQLSTATE ", sqlstate, "): ", what));
}

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

absl::Status PgPool::Transact(const std::function<void(pqxx::work&)>& work, CallerLocation caller) {
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
    } catch (const pqxx::in_doubt_error& e) {
      result = absl::UnavailableError(absl::StrCat("postgres commit outcome unknown: ", e.what()));
      break;
    } catch (const pqxx::sql_error& e) {
      result = PgErrorStatus(e.sqlstate(), e.what());
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

bool IsTransientWriteError(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsAborted(status);
}

absl::Status WriteIsolating(size_t n, const std::function<absl::Status(size_t, size_t)>& write,
                            const std::function<void(size_t, const absl::Status&)>& refused,
                            size_t* done) {
  *done = 0;
  std::function<absl::Status(size_t, size_t)> isolate = [&](size_t begin, size_t end) -> absl::Status {
    if (begin == end) return absl::OkStatus();
    absl::Status s = write(begin, end);
    if (IsTransientWriteError(s)) return s;
    if (!s.ok() && end - begin == 1) refused(begin, s);
    if (s.ok() || end - begin == 1) {
      *done = end;
      return absl::OkStatus();
    }
    const size_t mid = begin + (end - begin) / 2;
    if (absl::Status left = isolate(begin, mid); !left.ok()) return left;
    return isolate(mid, end);
  };
  return isolate(0, n);
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

namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD
constexpr char kEllipsis[] = "\xE2\x80\xA6";     // U+2026

// Length of the well-formed UTF-8 sequence at the start of `s`, 0 if none
// (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF).
size_t Utf8SequenceLength(absl::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto in = [&](size_t i, unsigned lo, unsigned hi) {
    return i < s.size() && b(i) >= lo && b(i) <= hi;
  };
  const unsigned c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return in(1, 0x80, 0xBF) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return in(1, lo, hi) && in(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return in(1, lo, hi) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

nlohmann::json PgJsonAt(const nlohmann::json& value, size_t max_string_bytes, int depth) {
  constexpr int kMaxDepth = 32;
  if (depth > kMaxDepth && (value.is_object() || value.is_array())) return kEllipsis;
  switch (value.type()) {
    case nlohmann::json::value_t::object: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& [key, v] : value.items()) {
        out[PgText(key, max_string_bytes)] = PgJsonAt(v, max_string_bytes, depth + 1);
      }
      return out;
    }
    case nlohmann::json::value_t::array: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& v : value) out.push_back(PgJsonAt(v, max_string_bytes, depth + 1));
      return out;
    }
    case nlohmann::json::value_t::string:
      return PgText(value.get_ref<const std::string&>(), max_string_bytes);
    case nlohmann::json::value_t::binary:
      return "(binary)";
    default:
      return value;
  }
}

}  // namespace

std::string PgText(absl::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 4);
  for (size_t i = 0; i < text.size() && out.size() <= max_bytes;) {
    const size_t n = Utf8SequenceLength(text.substr(i));
    if (n == 0 || text[i] == '\0') {
      out += kReplacement;
      i += n == 0 ? 1 : n;
    } else {
      out.append(text.data() + i, n);
      i += n;
    }
  }
  if (out.size() <= max_bytes) return out;
  const size_t ellipsis = sizeof(kEllipsis) - 1;
  if (max_bytes < ellipsis) return "";
  size_t cut = max_bytes - ellipsis;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
  out.resize(cut);
  return out + kEllipsis;
}

nlohmann::json PgJson(const nlohmann::json& value, size_t max_string_bytes) {
  return PgJsonAt(value, max_string_bytes, 0);
}

std::string PgJsonText(const nlohmann::json& value) {
  // Valid UTF-8 throughout once sanitised; `replace` only as a last guard.
  std::string text = PgJson(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() <= kPgJsonMaxBytes) return text;
  return nlohmann::json{{"truncated", PgText(text, kPgJsonMaxBytes / 2)}}.dump();
}

std::string PgTextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ",";
    out += "\"";
    for (char c : PgText(values[i], std::string::npos - 8)) {
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
