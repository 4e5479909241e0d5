#include "services/central/pg_leadership.h"

#include "absl/strings/str_cat.h"

namespace evc::central {
namespace {

Lease LeaseFromRow(const pqxx::row& row) {
  return {.holder = row[0].as<std::string>(),
          .advertise_address = row[1].as<std::string>(),
          .epoch = row[2].as<int64_t>()};
}

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

}  // namespace

absl::StatusOr<Lease> PgLeaderLeaseStore::TryAcquire(const std::string& holder,
                                                     const std::string& advertise_address,
                                                     absl::Duration lease_for) {
  Lease lease;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result taken = tx.exec_params(
        "UPDATE central_leader SET holder = $1, advertise_address = $2, epoch = epoch + 1,"
        " expires_at = now() + make_interval(secs => $3), acquired_at = now()"
        " WHERE id = 1 AND (holder = '' OR holder = $1 OR expires_at <= now())"
        " RETURNING holder, advertise_address, epoch",
        PgText(holder, 256), PgText(advertise_address, 256), Seconds(lease_for));
    pqxx::result current = taken.empty()
        ? tx.exec("SELECT holder, advertise_address, epoch FROM central_leader WHERE id = 1")
        : taken;
    if (current.empty()) {
      throw AbortTransaction(absl::FailedPreconditionError(
          "central_leader has no row: the migrations of sql/ were not applied"));
    }
    lease = LeaseFromRow(current[0]);
  });
  if (!s.ok()) return s;
  return lease;
}

absl::StatusOr<bool> PgLeaderLeaseStore::Renew(const std::string& holder, int64_t epoch,
                                               absl::Duration lease_for) {
  bool renewed = false;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    renewed = !tx.exec_params(
                     "UPDATE central_leader SET expires_at = now() + make_interval(secs => $3)"
                     " WHERE id = 1 AND holder = $1 AND epoch = $2 RETURNING 1",
                     holder, epoch, Seconds(lease_for))
                   .empty();
  });
  if (!s.ok()) return s;
  return renewed;
}

absl::Status PgLeaderLeaseStore::Release(const std::string& holder, int64_t epoch) {
  return pool_.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "UPDATE central_leader SET expires_at = now() WHERE id = 1 AND holder = $1 AND epoch = $2",
        holder, epoch);
  });
}

void CheckLeaderFence(pqxx::work& tx, const LeaderFence* fence) {
  if (fence == nullptr) return;
  pqxx::result r =
      tx.exec("SELECT holder, advertise_address, epoch FROM central_leader WHERE id = 1 FOR SHARE");
  const Lease current = r.empty() ? Lease() : LeaseFromRow(r[0]);
  if (current.holder == fence->replica_id() && current.epoch == fence->epoch() &&
      fence->epoch() > 0) {
    return;
  }
  absl::Status fenced = absl::UnavailableError(absl::StrCat(
      "fenced: epoch ", fence->epoch(), " of replica ", fence->replica_id(),
      " superseded by epoch ", current.epoch, " of replica ", current.holder, " at ",
      current.advertise_address, ": this replica no longer leads and must not write"));
  fence->Fenced(fenced);
  throw AbortTransaction(fenced);
}

}  // namespace evc::central
