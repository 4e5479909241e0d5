#pragma once
// Central's leader lease in Postgres (sql/008_central_leadership.sql): the
// store's clock (now()) judges expiry, and the row lock orders a take-over
// against the old leader's write transactions.

#include <pqxx/pqxx>

#include "services/central/leader_fence.h"
#include "services/central/leader_lease_store.h"
#include "services/common/postgres.h"

namespace evc::central {

class PgLeaderLeaseStore : public LeaderLeaseStore {
 public:
  explicit PgLeaderLeaseStore(PgPool& pool) : pool_(pool) {}
  absl::StatusOr<Lease> TryAcquire(const std::string& holder, const std::string& advertise_address,
                                   absl::Duration lease_for) override;
  absl::StatusOr<bool> Renew(const std::string& holder, int64_t epoch,
                             absl::Duration lease_for) override;
  absl::Status Release(const std::string& holder, int64_t epoch) override;

 private:
  PgPool& pool_;
};

// Inside a journal transaction: locks the lease FOR SHARE (a take-over waits
// for the transaction, or the transaction sees the take-over) and aborts it
// with UNAVAILABLE "fenced: ..." unless `fence`'s term is the current one;
// `fence` is told first. No check without a fence (single-writer tools, tests).
void CheckLeaderFence(pqxx::work& tx, const LeaderFence* fence);

}  // namespace evc::central
