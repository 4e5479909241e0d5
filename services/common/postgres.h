#pragma once
// A small pool of Postgres connections. Work runs inside a transaction;
// libpqxx exceptions become absl::Status with a reason a human can act on, and
// a broken connection is re-opened (once) before giving up.

#include <functional>
#include <source_location>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

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
  // ALREADY_EXISTS, a lost connection to UNAVAILABLE, anything else INTERNAL.
  // Timed in evc_pg_transaction_seconds{statement}, named after the calling
  // function (e.g. "PgSupplyStore::Write").
  absl::Status Transact(const std::function<void(pqxx::work&)>& work,
                        std::source_location caller = std::source_location::current());

 private:
  explicit PgPool(std::string url) : url_(std::move(url)) {}
  std::unique_ptr<pqxx::connection> Acquire();
  void Release(std::unique_ptr<pqxx::connection> connection);

  std::string url_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_ ABSL_GUARDED_BY(mu_);
  int size_ = 0;
};

// Applies the migrations under sql/ (embedded at build time) that this
// database has not seen yet, under an advisory lock so concurrent services
// starting together apply each exactly once.
absl::Status ApplyMigrations(PgPool& pool);

// Helpers for multi-row writes with unnest(): Postgres array literals and
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
