#pragma once
// The audit trail (MISSION.md flow 10): every security-relevant or business
// event, with time, category, actor, source address and outcome, written to
// Postgres (audit_events) and as a JSON log line. Central journals its records
// with its state; the other services use an AuditSink, which batches rows off
// the request path.

#include <deque>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "evc/common/v1/types.pb.h"
#include "nlohmann/json.hpp"
#include "services/common/postgres.h"

namespace evc {

enum class AuditCategory { kAuth, kCharge, kIncident, kStatus, kError, kSecurity, kSystem };
const char* AuditCategoryName(AuditCategory c);
// Accepts the names above; INVALID_ARGUMENT otherwise.
absl::StatusOr<AuditCategory> ParseAuditCategory(absl::string_view name);

struct AuditRecord {
  absl::Time at;
  AuditCategory category;
  std::string action;
  std::string actor;
  std::string cp_id;
  std::string outcome = "OK";
  nlohmann::json details = nlohmann::json::object();
  std::string source;
};

// The JSON log line of a record.
void LogAudit(const AuditRecord& record);
// One multi-row INSERT for all of `records`.
void WriteAuditRows(pqxx::work& tx, const std::vector<AuditRecord>& records);

struct AuditQuery {
  std::string category;
  std::string actor;
  std::string cp_id;
  absl::Time since = absl::InfinitePast();
  absl::Time until = absl::InfiniteFuture();
  int limit = 200;
};
// Newest first.
absl::StatusOr<std::vector<common::v1::AuditEvent>> QueryAudit(PgPool& pool, const AuditQuery& q);

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual void Record(AuditRecord record) = 0;
};

// Logs at once and writes to Postgres in batches from its own thread. The
// queue is bounded: past it, rows are dropped (and counted) rather than
// stalling logins; the log line is always written.
class PgAuditSink : public AuditSink {
 public:
  explicit PgAuditSink(PgPool& pool, size_t max_queued = 10000);
  ~PgAuditSink() override;
  void Record(AuditRecord record) override;
  // Waits until everything recorded so far is written (tests, shutdown).
  void Flush();
  int64_t dropped() const;

 private:
  void Loop();

  PgPool& pool_;
  const size_t max_queued_;
  mutable absl::Mutex mu_;
  std::deque<AuditRecord> queue_ ABSL_GUARDED_BY(mu_);
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Keeps records in memory (unit tests).
class RecordingAuditSink : public AuditSink {
 public:
  void Record(AuditRecord record) override {
    absl::MutexLock lock(&mu_);
    records_.push_back(std::move(record));
  }
  std::vector<AuditRecord> records() const {
    absl::MutexLock lock(&mu_);
    return records_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<AuditRecord> records_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evc
