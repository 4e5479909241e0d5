#pragma once
// Batched, ordered writes of central's state, off the hot path. Writes that
// matter for correctness (new supplies, tickets) are committed at once, many
// per transaction (group commit); telemetry progress is coalesced per supply
// and written every `progress_interval`. Each submission's callback runs after
// its writes are committed, in submission order, so messages that reflect the
// state leave only once the state is durable. A failing database is retried
// with backoff; nothing is dropped.

#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/central/supply_store.h"

namespace evc::central {

class Journal {
 public:
  Journal(SupplyStore& store, absl::Duration progress_interval = absl::Milliseconds(500));
  ~Journal();

  void Submit(JournalBatch batch, std::function<void()> on_durable = nullptr);
  // The ticket of `supply_id` reached Kafka (the outbox mark).
  void MarkPublished(const std::string& supply_id);
  // Writes everything pending and stops.
  void Stop();

  int64_t transactions() const;

 private:
  void Loop();
  bool Urgent() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  SupplyStore& store_;
  const absl::Duration progress_interval_;
  mutable absl::Mutex mu_;
  JournalBatch pending_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, SupplyRecord> changed_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> callbacks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t transactions_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace evc::central
