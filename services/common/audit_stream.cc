#include "services/common/audit_stream.h"

#include <prometheus/counter.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/common/postgres.h"
#include "services/common/proto_time.h"

namespace evc {
namespace {

bool NamesASecret(absl::string_view name) {
  const std::string n = absl::AsciiStrToLower(name);
  if (absl::EndsWith(n, "_id") || absl::EndsWith(n, "key_id")) return false;
  for (absl::string_view word : {"password", "secret", "token", "key", "credential"}) {
    if (absl::StrContains(n, word)) return true;
  }
  return false;
}

nlohmann::json Redacted(const nlohmann::json& details) {
  if (!details.is_object()) return details;
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : details.items()) {
    out[name] = NamesASecret(name) ? nlohmann::json("[redacted]") : value;
  }
  return out;
}

prometheus::Counter& StreamErrors() {
  static prometheus::Counter& errors =
      prometheus::BuildCounter()
          .Name("evc_audit_stream_errors_total")
          .Help("Audit events that could not be queued or delivered on evc.audit-events")
          .Register(metrics::Registry())
          .Add({});
  return errors;
}

}  // namespace

common::v1::AuditEvent AuditEventOf(const AuditRecord& r) {
  common::v1::AuditEvent e;
  *e.mutable_at() = ToProto(r.at);
  e.set_category(AuditCategoryName(r.category));
  // Records carry outside text (Kafka keys, refused tokens' peers): made valid
  // UTF-8 as for Postgres, so every event parses.
  e.set_action(PgText(r.action, 128));
  e.set_actor(PgText(r.actor, 256));
  e.set_source(PgText(r.source, 256));
  e.set_cp_id(PgText(r.cp_id, 256));
  e.set_outcome(PgText(r.outcome, 64));
  e.set_details_json(PgJsonText(PgJson(Redacted(r.details))));
  return e;
}

std::string AuditEventKey(const AuditRecord& r) {
  return PgText(r.cp_id.empty() ? r.actor : r.cp_id, 256);
}

void StreamAudit(Publisher& publisher, const AuditRecord& record) {
  absl::Status s = publisher.Publish(topics::kAuditEvents, AuditEventKey(record), AuditEventOf(record),
                                     [](const absl::Status& delivered) {
                                       if (!delivered.ok()) StreamErrors().Increment();
                                     });
  if (!s.ok()) {
    StreamErrors().Increment();
    log::Warn("audit event not queued on evc.audit-events",
              {{"action", record.action}, {"error", std::string(s.message())}});
  }
}

}  // namespace evc
