#pragma once
// The engine channel: how central talks to CP engines over Kafka, which
// authenticates nobody. Engine events arrive sealed under their CP's key
// (fetched from auth) with a counter, so a forged or replayed envelope is
// refused; commands leave sealed the same way. Thread-safe.

#include <span>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "evc/events/v1/events.pb.h"
#include "services/central/cp_key_source.h"
#include "services/central/replay_mark_store.h"
#include "services/common/clock.h"
#include "services/common/kafka.h"
#include "services/common/publisher.h"
#include "services/common/sealed.h"

namespace evc::central {

class EngineChannel {
 public:
  // `marks` (may be null) keeps the replay marks across restarts: without
  // it a captured envelope is accepted once after a restart. A channel serves
  // one leader term: `leader_epoch` goes on every command, so engines refuse
  // a deposed leader's late ones (0: a central without election).
  EngineChannel(CpKeySource& keys, ReplayMarkStore* marks, Publisher& publisher,
                const Clock& clock, uint64_t leader_epoch = 0);

  // Loads the replay marks saved before a restart.
  absl::Status RestoreReplayMarks();

  // Fetches the CP's keys (when its monitor links, or its key rotated): blocking.
  absl::Status LoadKeys(const std::string& cp_id);
  // The CP's keys are dead (revoked).
  void ForgetKeys(const std::string& cp_id);

  // Fetches, side by side, the keys of the CPs with engine events in `batch`
  // and no keys here yet: after a restart, every CP. Open fetches them one at
  // a time, and at ~0.6 ms each they held 500 CPs' first batches 0.3 s (50,000
  // CPs: 30 s). Blocking; a CP asked for in the last second is not asked again.
  void PrefetchKeys(std::span<const KafkaMessage> batch);
  // The content of a sealed engine event, fetching its CP's keys if they are
  // not known yet: blocking. ALREADY_EXISTS for a record Kafka redelivers
  // after a restart that central handled before it; UNAUTHENTICATED or
  // FAILED_PRECONDITION for one forged, replayed or under another CP's key.
  absl::StatusOr<std::string> Open(const KafkaMessage& m);
  // Seals `command` under its CP's key and publishes it. Not retried: the
  // network sends what it still owes again (ChargingNetwork::OwedCommand).
  void Send(events::v1::EngineCommand command);

  // Saving the replay marks raised since the last save (see engine_channel.cc
  // for why after each batch): nothing to save, save now, or once the
  // journal has caught up with an earlier batch that was not durable in time.
  enum class MarkSave { kNothing, kNow, kAfterJournal };
  MarkSave PlanMarkSave(bool batch_durable);
  // Saves them; on failure they stay pending for the next batch.
  void SaveMarks();

 private:
  // Asks auth for the keys of a CP unknown here, at most every second;
  // false when it did not ask.
  bool RefetchKeys(const std::string& cp_id, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(open_mu_);
  // Notes that `cp_id`'s keys are asked for now; false if they were in the last second.
  bool MayFetchKeys(const std::string& cp_id, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(open_mu_);
  void FetchKeysOrWarn(const std::string& cp_id);
  // Kafka redelivering, after a restart, a record read before it.
  bool ReadBeforeRestart(const KafkaMessage& m, const OpenedEnvelope& opened) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(open_mu_);

  CpKeySource& key_source_;
  Publisher& publisher_;
  const Clock& clock_;
  KeyRing keys_;
  SealCounter command_counter_;
  // Only the Kafka consumer thread opens engine messages.
  absl::Mutex open_mu_;
  ReplayGuard replay_guard_ ABSL_GUARDED_BY(open_mu_);
  absl::flat_hash_map<std::string, absl::Time> last_key_fetch_ ABSL_GUARDED_BY(open_mu_);
  ReplayMarkStore* const replay_marks_;
  const uint64_t leader_epoch_;
  // Raised since the last save, and as loaded at start.
  absl::flat_hash_map<std::string, ReplayMark> unsaved_marks_ ABSL_GUARDED_BY(open_mu_);
  absl::flat_hash_map<std::string, ReplayMark> restored_marks_ ABSL_GUARDED_BY(open_mu_);
  bool marks_wait_for_journal_ ABSL_GUARDED_BY(open_mu_) = false;
};

}  // namespace evc::central
