#include "services/central/engine_channel.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"

#include "absl/strings/str_cat.h"
#include "services/common/log.h"
#include "services/common/validation.h"

namespace evc::central {

EngineChannel::EngineChannel(CpKeySource& keys, ReplayMarkStore* marks, Publisher& publisher,
                             const Clock& clock, uint64_t leader_epoch)
    : key_source_(keys), publisher_(publisher), clock_(clock), replay_marks_(marks), leader_epoch_(leader_epoch) {}

absl::Status EngineChannel::RestoreReplayMarks() {
  absl::MutexLock lock(&open_mu_);
  if (replay_marks_ == nullptr) return absl::OkStatus();
  absl::StatusOr<std::vector<ReplayMark>> marks = replay_marks_->LoadReplayMarks();
  if (!marks.ok()) return marks.status();
  for (ReplayMark& m : *marks) {
    replay_guard_.Restore(m.cp_id, m.counter);
    restored_marks_[m.cp_id] = std::move(m);
  }
  return absl::OkStatus();
}

absl::Status EngineChannel::LoadKeys(const std::string& cp_id) {
  absl::StatusOr<std::vector<CpKey>> keys = key_source_.Keys(cp_id);
  if (!keys.ok()) return keys.status();
  if (keys->empty()) {
    return absl::FailedPreconditionError(absl::StrCat("charging point '", cp_id, "' has no valid key"));
  }
  keys_.Set(cp_id, std::move(*keys));
  return absl::OkStatus();
}

void EngineChannel::ForgetKeys(const std::string& cp_id) { keys_.Remove(cp_id); }

bool EngineChannel::MayFetchKeys(const std::string& cp_id, absl::Time now) {
  constexpr absl::Duration kRefetchInterval = absl::Seconds(1);
  if (!ValidateCpId(cp_id).ok() || now - last_key_fetch_[cp_id] < kRefetchInterval) return false;
  last_key_fetch_[cp_id] = now;
  return true;
}

void EngineChannel::FetchKeysOrWarn(const std::string& cp_id) {
  if (absl::Status s = LoadKeys(cp_id); !s.ok()) {
    log::Warn("cannot fetch charging-point keys", {{"cp_id", cp_id}, {"error", s.ToString()}});
  }
}

bool EngineChannel::RefetchKeys(const std::string& cp_id, absl::Time now) {
  if (!MayFetchKeys(cp_id, now)) return false;
  FetchKeysOrWarn(cp_id);
  return true;
}

void EngineChannel::PrefetchKeys(std::span<const KafkaMessage> batch) {
  // Enough to hide auth's round trip; a batch of forged CP ids costs auth
  // at most this many calls at once.
  constexpr size_t kFetchesInFlight = 16;
  std::vector<std::string> missing;
  {
    absl::MutexLock lock(&open_mu_);
    const absl::Time now = clock_.Now();
    absl::flat_hash_set<absl::string_view> listed;
    for (const KafkaMessage& m : batch) {
      if (m.topic != topics::kEngineEvents || keys_.HasAny(m.key) || !listed.insert(m.key).second) continue;
      if (MayFetchKeys(m.key, now)) missing.push_back(m.key);
    }
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> fetchers;
  for (size_t t = 0; t < std::min(kFetchesInFlight, missing.size()); ++t) {
    fetchers.emplace_back([&] {
      for (size_t i = next++; i < missing.size(); i = next++) FetchKeysOrWarn(missing[i]);
    });
  }
  for (std::thread& t : fetchers) t.join();
}

bool EngineChannel::ReadBeforeRestart(const KafkaMessage& m, const OpenedEnvelope& opened) const {
  auto restored = restored_marks_.find(opened.cp_id);
  return restored != restored_marks_.end() && opened.counter <= restored->second.counter &&
         m.partition == restored->second.partition && m.offset <= restored->second.offset;
}

absl::StatusOr<std::string> EngineChannel::Open(const KafkaMessage& m) {
  const absl::Time now = clock_.Now();
  std::optional<CpKey> found;
  auto lookup = [&](const std::string& cp_id, const std::string& key_id) -> const CpKey* {
    found = keys_.Find(cp_id, key_id);
    return found ? &*found : nullptr;
  };
  absl::MutexLock lock(&open_mu_);
  absl::StatusOr<OpenedEnvelope> opened =
      OpenEnvelope(m.payload, events::v1::SealedEnvelope::DIRECTION_ENGINE_TO_CENTRAL, lookup, now);
  // A key not seen yet (central restarted, key rotated): ask auth once.
  if (absl::IsUnauthenticated(opened.status()) && !found && RefetchKeys(m.key, now)) {
    opened = OpenEnvelope(m.payload, events::v1::SealedEnvelope::DIRECTION_ENGINE_TO_CENTRAL, lookup, now);
  }
  if (!opened.ok()) return opened.status();
  if (opened->cp_id != m.key) {
    return absl::UnauthenticatedError(
        absl::StrCat("envelope of '", opened->cp_id, "' under key '", m.key, "'"));
  }
  if (absl::Status s = replay_guard_.Accept(opened->cp_id, opened->counter); !s.ok()) {
    if (ReadBeforeRestart(m, *opened)) return absl::AlreadyExistsError("handled before the restart");
    return s;
  }
  unsaved_marks_[opened->cp_id] = {opened->cp_id, opened->counter, m.partition, m.offset};
  keys_.MarkInUse(opened->cp_id, opened->key_id);
  return std::move(opened->plaintext);
}

void EngineChannel::Send(events::v1::EngineCommand command) {
  command.set_leader_epoch(leader_epoch_);
  const absl::Time now = clock_.Now();
  std::optional<CpKey> key = keys_.ForSealing(command.cp_id(), now);
  absl::StatusOr<events::v1::SealedEnvelope> sealed =
      key ? SealEnvelope(events::v1::SealedEnvelope::DIRECTION_CENTRAL_TO_ENGINE, command.cp_id(),
                         *key, command_counter_.Next(now), command.SerializeAsString())
          : absl::FailedPreconditionError("no key for this charging point");
  auto undelivered = [cp_id = command.cp_id(), id = command.command_id()](const absl::Status& d) {
    if (!d.ok()) {
      log::Warn("engine command not delivered", {{"cp_id", cp_id}, {"command_id", id}, {"error", d.ToString()}});
    }
  };
  absl::Status s = sealed.ok() ? publisher_.Publish(topics::kEngineCommands, command.cp_id(), *sealed,
                                                    undelivered)
                               : sealed.status();
  if (!s.ok()) log::Error("engine command not sent", {{"cp_id", command.cp_id()}, {"error", s.ToString()}});
}

// Why the marks are saved after each batch, before its offsets are stored
// (the consumer stores them when the batch handler returns):
// - every record whose offset gets committed is covered, so after a restart
//   none of them can be replayed: Kafka does not redeliver it, and a copy of
//   it appended by an attacker comes at a new offset with an old counter;
// - a record covered but redelivered after a crash (its offset not committed
//   yet) was handled before: what needs durability was committed before this
//   point (the batch handler waits for it), and what does not (telemetry,
//   "started") is re-derived from the next telemetry, which carries the
//   cumulative energy and the next seq. Such a record is at or before the
//   saved Kafka position and is skipped quietly; a covered counter at a later
//   position is a replay, refused and audited.
// A batch whose effects did not become durable in time holds the marks back
// until the journal has caught up (a barrier through it). One small write per
// batch that opened envelopes, on the consumer thread; if it fails the marks
// stay pending and go with the next batch.
EngineChannel::MarkSave EngineChannel::PlanMarkSave(bool batch_durable) {
  absl::MutexLock lock(&open_mu_);
  if (replay_marks_ == nullptr || unsaved_marks_.empty()) return MarkSave::kNothing;
  if (!batch_durable) {
    marks_wait_for_journal_ = true;
    return MarkSave::kNothing;
  }
  return marks_wait_for_journal_ ? MarkSave::kAfterJournal : MarkSave::kNow;
}

void EngineChannel::SaveMarks() {
  absl::MutexLock lock(&open_mu_);
  if (replay_marks_ == nullptr) return;
  marks_wait_for_journal_ = false;
  std::vector<ReplayMark> marks;
  marks.reserve(unsaved_marks_.size());
  for (const auto& [cp_id, m] : unsaved_marks_) marks.push_back(m);
  if (absl::Status s = replay_marks_->SaveReplayMarks(marks); !s.ok()) {
    log::Warn("replay marks not saved yet", {{"charging_points", marks.size()}, {"error", s.ToString()}});
    return;
  }
  unsaved_marks_.clear();
}

}  // namespace evc::central
