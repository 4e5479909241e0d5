#pragma once
// Where operators read the audit trail from (Postgres).

#include <vector>

#include "absl/status/statusor.h"
#include "evc/common/v1/types.pb.h"
#include "services/common/audit.h"

namespace evc::central {

class AuditReader {
 public:
  virtual ~AuditReader() = default;
  virtual absl::StatusOr<std::vector<common::v1::AuditEvent>> Read(const AuditQuery& query) = 0;
};

}  // namespace evc::central
