#pragma once
// A small pool of Postgres connections. Work runs inside a transaction;
// libpqxx exceptions become absl::Status with a reason a human can act on, and
// a broken connection is re-opened (once) before giving up.

#include <functional>
#include "services/common/caller_location.h"
#include <memory>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace evc {

// Thrown inside Transact() work to roll back with a specific status.
struct AbortTransaction : std::exception {
  explicit AbortTransaction(absl::Status s) : status(std::move(s)) {}
  const char* what() const noexcept override { return "transaction aborted"; }
  absl::Status status;
};

class PgPool {
 public:
  // Opens `size` connections, retrying with backoff until `timeout` (the
  // database may start after the service).
  static absl::StatusOr<std::unique_ptr<PgPool>> Connect(const std::string& url, int size,
                                                         absl::Duration timeout,
                                                         const absl::Notification* stop = nullptr);

  // Runs `work` in a transaction and commits it. Unique violations map to
  // ALREADY_EXISTS, check violations to INVALID_ARGUMENT, the rest as
  // PgErrorStatus does: UNAVAILABLE means "try again later" (a lost
  // connection, a database shutting down, read-only or out of space); the
  // other codes mean the rows themselves were refused.
  // Timed in evc_pg_transaction_seconds{statement}, named after the calling
  // function (e.g. "PgSupplyStore::Write").
  absl::Status Transact(const std::function<void(pqxx::work&)>& work,
                        CallerLocation caller = CallerLocation::current());

 private:
  explicit PgPool(std::string url) : url_(std::move(url)) {}
  std::unique_ptr<pqxx::connection> Acquire();
  void Release(std::unique_ptr<pqxx::connection> connection);

  std::string url_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_ ABSL_GUARDED_BY(mu_);
  int size_ = 0;
};

// The status of a Postgres error by its SQLSTATE class: UNAVAILABLE when the
// database cannot take writes now (08, 40, 53, 55, 57, 58, 25006),
// INVALID_ARGUMENT for refused data (22), FAILED_PRECONDITION for a violated
// constraint (23), INTERNAL otherwise.
absl::Status PgErrorStatus(absl::string_view sqlstate, absl::string_view what);

// Whether a failed write may pass later unchanged (UNAVAILABLE, ABORTED), as
// opposed to rows refused for what they hold.
bool IsTransientWriteError(const absl::Status& status);

// Writes rows [0, n) in order, `write(begin, end)` being one transaction. A
// range refused for its data is halved until the refused row is alone; that
// row goes to `refused` and everything else is written. Stops at the first
// transient error and returns it; `*done` is then the number of leading rows
// written or refused (the rest is still to write).
absl::Status WriteIsolating(size_t n, const std::function<absl::Status(size_t, size_t)>& write,
                            const std::function<void(size_t, const absl::Status&)>& refused,
                            size_t* done);

// Applies the migrations under sql/ (embedded at build time) that this
// database has not seen yet, under an advisory lock so concurrent services
// starting together apply each exactly once.
absl::Status ApplyMigrations(PgPool& pool);

// The one boundary outside text crosses into Postgres. Every writer of a text
// or jsonb column passes what it did not make itself through these: NUL (which
// no text column holds, and which jsonb refuses as \u0000) and invalid UTF-8
// become U+FFFD, so the refusal of a hostile value is stored (and seen) instead
// of failing its whole transaction; text longer than `max_bytes` is cut at a
// character boundary and ends with "…".
inline constexpr size_t kPgTextMaxBytes = 4096;
std::string PgText(absl::string_view text, size_t max_bytes = kPgTextMaxBytes);
// The same for a JSON document, recursively: object keys and string values
// (each cut at `max_string_bytes`); nesting deeper than 32 becomes "…".
nlohmann::json PgJson(const nlohmann::json& value, size_t max_string_bytes = 1024);
// PgJson(value) as jsonb input text, at most kPgJsonMaxBytes (a larger document
// is kept as {"truncated": <its beginning>}).
inline constexpr size_t kPgJsonMaxBytes = 32 * 1024;
std::string PgJsonText(const nlohmann::json& value);

// Helpers for multi-row writes with unnest(): Postgres array literals (each
// element through PgText, unbounded: writers bound their columns) and
// timestamps as epoch seconds.
std::string PgTextArray(const std::vector<std::string>& values);
template <typename T>
std::string PgNumArray(const std::vector<T>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(values[i]);
  }
  return out + "}";
}
double PgEpoch(absl::Time t);
absl::Time PgFromEpoch(double seconds);

}  // namespace evc
