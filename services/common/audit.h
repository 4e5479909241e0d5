#pragma once
// The audit trail (MISSION.md flow 10): every security-relevant or business
// event, with time, category, actor, source address and outcome, written to
// Postgres (audit_events) and as a JSON log line. Central journals its records
// with its state; the other services use an AuditSink, which batches rows off
// the request path.

#include <deque>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "evc/common/v1/types.pb.h"
#include "nlohmann/json.hpp"
#include "services/common/postgres.h"

namespace evc {

class Publisher;

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
// One multi-row INSERT for all of `records`, every field through PgText /
// PgJsonText (records carry outside text: token refusals, Kafka keys).
void WriteAuditRows(pqxx::work& tx, std::span<const AuditRecord> records);
// A record as JSON (quarantine payloads, logs).
nlohmann::json AuditRecordJson(const AuditRecord& record);

// A row Postgres refused for what it holds, set aside so the rest is written:
// kept in journal_quarantine with its error, audited (ERROR,
// "write_quarantined", pointing at the quarantine id), logged and counted in
// evc_quarantined_rows_total{service,kind}.
struct QuarantinedRow {
  std::string service;
  std::string kind;  // "supply", "ticket", "audit", "hold", ...
  std::string cp_id;
  nlohmann::json payload;
  std::string error;
  absl::Time at;
};
// Writes it (an UNAVAILABLE error: the database is away, try again later).
absl::Status WriteQuarantine(PgPool& pool, const QuarantinedRow& row);

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
// stalling logins; the log line is always written. A row Postgres refuses is
// isolated and quarantined (WriteQuarantine), never retried; while the
// database is away rows wait in the queue, and at destruction what is still
// unwritten after `stop_timeout` is logged and given up.
class PgAuditSink : public AuditSink {
 public:
  explicit PgAuditSink(PgPool& pool, size_t max_queued = 10000, std::string service = "",
                       absl::Duration stop_timeout = absl::Seconds(3));
  ~PgAuditSink() override;
  void Record(AuditRecord record) override;
  // Every record is also published on evc.audit-events (audit_stream.h).
  // Set before the first Record.
  void StreamTo(Publisher* publisher) { stream_ = publisher; }
  // Waits until everything recorded so far is written (tests, shutdown).
  void Flush();
  int64_t dropped() const;
  // Rows refused by Postgres and quarantined.
  int64_t quarantined() const;

 private:
  void Loop();
  // Writes `batch`; returns the rows not written (the database is away).
  std::vector<AuditRecord> Write(std::vector<AuditRecord> batch);

  PgPool& pool_;
  Publisher* stream_ = nullptr;
  const size_t max_queued_;
  const std::string service_;
  const absl::Duration stop_timeout_;
  mutable absl::Mutex mu_;
  std::deque<AuditRecord> queue_ ABSL_GUARDED_BY(mu_);
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t quarantined_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool give_up_ ABSL_GUARDED_BY(mu_) = false;
  absl::Notification finished_;
  std::thread thread_;
};

}  // namespace evc
