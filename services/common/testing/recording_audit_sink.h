#pragma once
// An audit sink for unit tests: keeps the records in memory.

#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/common/audit.h"

namespace evc {

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
