#include "services/common/audit.h"
#include "services/common/audit_stream.h"

#include "services/common/metrics.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/common/backoff.h"
#include "services/common/log.h"
#include "services/common/proto_time.h"

namespace evc {
namespace {
constexpr AuditCategory kAllCategories[] = {
    AuditCategory::kAuth,  AuditCategory::kCharge,   AuditCategory::kIncident,
    AuditCategory::kStatus, AuditCategory::kError, AuditCategory::kSecurity,
    AuditCategory::kSystem};
}  // namespace

const char* AuditCategoryName(AuditCategory c) {
  switch (c) {
    case AuditCategory::kAuth: return "AUTH";
    case AuditCategory::kCharge: return "CHARGE";
    case AuditCategory::kIncident: return "INCIDENT";
    case AuditCategory::kStatus: return "STATUS";
    case AuditCategory::kError: return "ERROR";
    case AuditCategory::kSecurity: return "SECURITY";
    case AuditCategory::kSystem: return "SYSTEM";
  }
  return "SYSTEM";
}

absl::StatusOr<AuditCategory> ParseAuditCategory(absl::string_view name) {
  for (AuditCategory c : kAllCategories) {
    if (name == AuditCategoryName(c)) return c;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown audit category '", name,
      "'; use AUTH, CHARGE, INCIDENT, STATUS, ERROR, SECURITY or SYSTEM"));
}

void LogAudit(const AuditRecord& a) {
  // Actions and outcomes are literals of the code: bounded label values.
  static auto& events = prometheus::BuildCounter()
                            .Name("evc_audit_events_total")
                            .Help("Audit events (logins, CP authentications, charges, alerts...), by "
                                  "category, action and outcome")
                            .Register(metrics::Registry());
  events.Add({{"category", AuditCategoryName(a.category)}, {"action", a.action}, {"outcome", a.outcome}})
      .Increment();
  const log::Level level =
      a.category == AuditCategory::kSecurity ? log::Level::kWarning : log::Level::kInfo;
  log::Write(level, "audit",
             {{"category", AuditCategoryName(a.category)},
              {"action", a.action},
              {"actor", a.actor},
              {"source", a.source},
              {"cp_id", a.cp_id},
              {"outcome", a.outcome},
              {"details", a.details}});
}

void WriteAuditRows(pqxx::work& tx, std::span<const AuditRecord> records) {
  if (records.empty()) return;
  std::vector<double> at;
  std::vector<std::string> category, action, actor, source, cp, outcome, details;
  for (const AuditRecord& a : records) {
    at.push_back(PgEpoch(a.at));
    category.push_back(AuditCategoryName(a.category));
    action.push_back(PgText(a.action, 256));
    actor.push_back(PgText(a.actor, 256));
    source.push_back(PgText(a.source, 256));
    cp.push_back(PgText(a.cp_id, 256));
    outcome.push_back(PgText(a.outcome, 256));
    details.push_back(PgJsonText(a.details));
  }
  tx.exec_params(
      "INSERT INTO audit_events (at, category, action, actor, source, cp_id, outcome, details)"
      " SELECT to_timestamp(u.at), u.category, u.action, u.actor, u.source, u.cp, u.outcome,"
      "   u.details::jsonb"
      " FROM unnest($1::float8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
      "   $7::text[], $8::text[]) AS u(at, category, action, actor, source, cp, outcome, details)",
      PgNumArray(at), PgTextArray(category), PgTextArray(action), PgTextArray(actor),
      PgTextArray(source), PgTextArray(cp), PgTextArray(outcome), PgTextArray(details));
}

nlohmann::json AuditRecordJson(const AuditRecord& a) {
  return {{"at", absl::FormatTime(a.at)}, {"category", AuditCategoryName(a.category)},
          {"action", a.action},           {"actor", a.actor},
          {"source", a.source},           {"cp_id", a.cp_id},
          {"outcome", a.outcome},         {"details", a.details}};
}

absl::Status WriteQuarantine(PgPool& pool, const QuarantinedRow& row) {
  static auto& quarantined = prometheus::BuildCounter()
                                 .Name("evc_quarantined_rows_total")
                                 .Help("Rows Postgres refused for what they hold, set aside in "
                                       "journal_quarantine so the rest was written, by service and kind")
                                 .Register(metrics::Registry());
  quarantined.Add({{"service", row.service}, {"kind", row.kind}}).Increment();
  const nlohmann::json payload = PgJson(row.payload);
  log::Error("row refused by postgres; quarantined and skipped",
             {{"service", row.service}, {"kind", row.kind}, {"cp_id", PgText(row.cp_id, 256)},
              {"error", PgText(row.error)}, {"payload", payload}});
  int64_t id = 0;
  AuditRecord audit{row.at, AuditCategory::kError, "write_quarantined", row.service, row.cp_id,
                    "QUARANTINED", {{"kind", row.kind}, {"error", row.error}}, ""};
  absl::Status s = pool.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "INSERT INTO journal_quarantine (at, service, kind, cp_id, payload, error)"
        " VALUES (to_timestamp($1), $2, $3, $4, $5::jsonb, $6) RETURNING id",
        PgEpoch(row.at), PgText(row.service, 64), PgText(row.kind, 64), PgText(row.cp_id, 256),
        PgJsonText(payload), PgText(row.error));
    id = r[0][0].as<int64_t>();
    audit.details["quarantine_id"] = id;
    WriteAuditRows(tx, {&audit, 1});
  });
  if (s.ok()) LogAudit(audit);
  return s;
}

absl::StatusOr<std::vector<common::v1::AuditEvent>> QueryAudit(PgPool& pool, const AuditQuery& q) {
  if (!q.category.empty()) {
    if (absl::Status s = ParseAuditCategory(q.category).status(); !s.ok()) return s;
  }
  if (q.since > q.until) return absl::InvalidArgumentError("since is after until");
  const int limit = q.limit <= 0 || q.limit > 5000 ? 200 : q.limit;
  // Open ends as dates Postgres can represent (1970 and 3000).
  constexpr double kYear3000 = 32503680000;
  const double since = std::max(0.0, q.since == absl::InfinitePast() ? 0 : PgEpoch(q.since));
  const double until = std::min(kYear3000, q.until == absl::InfiniteFuture() ? kYear3000 : PgEpoch(q.until));
  std::vector<common::v1::AuditEvent> events;
  absl::Status s = pool.Transact([&](pqxx::work& tx) {
    pqxx::result rows = tx.exec_params(
        "SELECT id, extract(epoch from at)::float8, category, action, actor, source, cp_id,"
        "   outcome, details::text FROM audit_events"
        " WHERE ($1 = '' OR category = $1) AND ($2 = '' OR actor = $2)"
        "   AND ($3 = '' OR cp_id = $3) AND at >= to_timestamp($4) AND at <= to_timestamp($5)"
        " ORDER BY at DESC, id DESC LIMIT $6",
        q.category, q.actor, q.cp_id, since, until, limit);
    for (const pqxx::row& r : rows) {
      common::v1::AuditEvent& e = events.emplace_back();
      e.set_id(r[0].as<int64_t>());
      *e.mutable_at() = ToProto(PgFromEpoch(r[1].as<double>()));
      e.set_category(r[2].c_str());
      e.set_action(r[3].c_str());
      e.set_actor(r[4].c_str());
      e.set_source(r[5].c_str());
      e.set_cp_id(r[6].c_str());
      e.set_outcome(r[7].c_str());
      e.set_details_json(r[8].c_str());
    }
  });
  if (!s.ok()) return s;
  return events;
}

PgAuditSink::PgAuditSink(PgPool& pool, size_t max_queued, std::string service,
                         absl::Duration stop_timeout)
    : pool_(pool),
      max_queued_(max_queued),
      service_(service.empty() ? "service" : std::move(service)),
      stop_timeout_(stop_timeout),
      thread_([this] { Loop(); }) {}

PgAuditSink::~PgAuditSink() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  // Bounded: with the database away, shutdown must not wait for it.
  if (!finished_.WaitForNotificationWithTimeout(stop_timeout_)) {
    {
      absl::MutexLock lock(&mu_);
      give_up_ = true;
    }
    if (!finished_.WaitForNotificationWithTimeout(absl::Seconds(2))) {
      log::Error("audit sink stuck in a database call at shutdown; leaving it",
                 {{"service", service_}});
      thread_.detach();
      return;
    }
  }
  thread_.join();
}

void PgAuditSink::Record(AuditRecord record) {
  LogAudit(record);
  if (stream_ != nullptr) StreamAudit(*stream_, record);
  absl::MutexLock lock(&mu_);
  if (queue_.size() >= max_queued_) {
    ++dropped_;
    return;
  }
  queue_.push_back(std::move(record));
}

void PgAuditSink::Flush() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](PgAuditSink* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
        return (self->queue_.empty() && self->in_flight_ == 0) || self->give_up_;
      },
      this));
}

int64_t PgAuditSink::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

int64_t PgAuditSink::quarantined() const {
  absl::MutexLock lock(&mu_);
  return quarantined_;
}

std::vector<AuditRecord> PgAuditSink::Write(std::vector<AuditRecord> batch) {
  size_t done = 0;
  absl::Status s = WriteIsolating(
      batch.size(),
      [&](size_t begin, size_t end) {
        return pool_.Transact([&](pqxx::work& tx) {
          WriteAuditRows(tx, std::span<const AuditRecord>(batch).subspan(begin, end - begin));
        });
      },
      [&](size_t i, const absl::Status& why) {
        const AuditRecord& a = batch[i];
        absl::Status q = WriteQuarantine(
            pool_, {service_, "audit", a.cp_id, AuditRecordJson(a), why.ToString(), absl::Now()});
        if (!q.ok()) log::Error("quarantine not written", {{"error", q.ToString()}});
        absl::MutexLock lock(&mu_);
        ++quarantined_;
      },
      &done);
  if (s.ok()) return {};
  log::Error("audit rows not written (the database is away); retrying",
             {{"rows", batch.size() - done}, {"error", s.ToString()}});
  return std::vector<AuditRecord>(std::make_move_iterator(batch.begin() + done),
                                  std::make_move_iterator(batch.end()));
}

void PgAuditSink::Loop() {
  constexpr size_t kMaxBatch = 500;
  Backoff backoff(absl::Milliseconds(200), absl::Seconds(5));
  while (true) {
    std::vector<AuditRecord> batch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || stopping_; };
      mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(200));
      if (queue_.empty() && stopping_) break;
      if (give_up_) {
        log::Error("audit rows not written at shutdown (the database is away): given up",
                   {{"service", service_}, {"rows", queue_.size()}});
        break;
      }
      if (queue_.empty()) continue;
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      in_flight_ = static_cast<int64_t>(batch.size());
    }
    std::vector<AuditRecord> left = Write(std::move(batch));
    absl::MutexLock lock(&mu_);
    in_flight_ = 0;
    if (left.empty()) {
      backoff.Reset();
      continue;
    }
    // Back to the front, in order, so nothing is lost while the database is away.
    for (auto it = left.rbegin(); it != left.rend(); ++it) queue_.push_front(std::move(*it));
    mu_.AwaitWithTimeout(absl::Condition(&give_up_), backoff.Next());
  }
  finished_.Notify();
}

}  // namespace evc
