#pragma once
// The audit trail on Kafka (issue 20, MISSION.md): every audit record, besides
// its Postgres row and log line, is published on `evc.audit-events` as an
// evc.common.v1.AuditEvent, keyed by its CP id (or, without one, its actor),
// for SIEMs. Who may read it: docs/security.md. Records never carry secrets
// (STYLE.md); as a second line, a detail whose name says it holds one
// (password, secret, token, key — but not a key's id) is published redacted.
// Publishing never blocks and never fails the action audited: an event the
// broker does not take is counted (evc_audit_stream_errors_total) and logged.

#include "evc/common/v1/types.pb.h"
#include "services/common/audit.h"
#include "services/common/publisher.h"

namespace evc {

// The record as it is published (secret-looking details redacted).
common::v1::AuditEvent AuditEventOf(const AuditRecord& record);
// Its Kafka key: the CP id, or the actor.
std::string AuditEventKey(const AuditRecord& record);
void StreamAudit(Publisher& publisher, const AuditRecord& record);

}  // namespace evc
