#pragma once
// Batched, ordered writes of central's state, off the hot path. Writes that
// matter for correctness (new supplies, tickets) are committed at once, many
// per transaction (group commit); telemetry progress is coalesced per supply
// and written every `progress_interval`. Each submission's callback runs after
// its writes are committed, in submission order, so messages that reflect the
// state leave only once the state is durable.
//
// One bad row never stops the journal: a batch the store refuses for its data
// is split until the refused row is alone; that row is quarantined
// (SupplyStore::Quarantine, audited) and everything else commits. A database
// that cannot take writes (UNAVAILABLE) is retried with backoff and nothing is
// dropped, but callers waiting for durability give up at their own deadline
// (NotDurableError), and Stop() gives up after `stop_timeout`, logging what it
// could not write.

#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "services/central/supply_store.h"

namespace evc::central {

// The writes of `batch` as independent units, in an order in which writing
// them one after the other is valid: each supply with its ticket, progress
// and outbox mark (tickets first, so a completed supply closes before a new
// one opens on its CP), then each audit record, each hold change (in order),
// each remaining outbox mark.
std::vector<JournalBatch> SplitJournalBatch(JournalBatch batch);
// Concatenation of `units` (their order kept).
JournalBatch JoinJournalBatches(std::vector<JournalBatch>::iterator begin,
                                std::vector<JournalBatch>::iterator end);

class Journal {
 public:
  Journal(SupplyStore& store, absl::Duration progress_interval = absl::Milliseconds(500),
          absl::Duration stop_timeout = absl::Seconds(3));
  ~Journal();

  void Submit(JournalBatch batch, std::function<void()> on_durable = nullptr);
  // The ticket of `supply_id` reached Kafka (the outbox mark).
  void MarkPublished(const std::string& supply_id);
  // Writes everything pending and stops; with the database away, gives up
  // after `stop_timeout` and logs what was not written.
  void Stop();

  // UNAVAILABLE "the database is not accepting writes: ..." with the last
  // write error: what a caller whose change is not durable by its deadline
  // is told.
  absl::Status NotDurableError() const;

  int64_t transactions() const;
  int64_t quarantined() const;

 private:
  void Loop();
  bool Urgent() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes `batch`, isolating refused rows; false once Stop() gave up.
  bool WriteIsolating(const JournalBatch& batch);
  // Store::Write, retried while the database is away; the write's status, or
  // UNAVAILABLE once Stop() gave up.
  absl::Status WriteRetrying(const JournalBatch& batch);
  void Quarantine(const JournalBatch& unit, const absl::Status& why);

  SupplyStore& store_;
  const absl::Duration progress_interval_;
  const absl::Duration stop_timeout_;
  mutable absl::Mutex mu_;
  JournalBatch pending_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, SupplyRecord> changed_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> callbacks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool give_up_ ABSL_GUARDED_BY(mu_) = false;
  int64_t transactions_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t quarantined_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  absl::Notification finished_;
  std::thread thread_;
};

}  // namespace evc::central
