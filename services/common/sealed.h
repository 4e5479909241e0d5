#pragma once
// Sealed engine<->central messages (MISSION.md flow 9): AES-256-GCM under the
// CP's key, the envelope header bound as associated data, a per-CP counter
// against replay and reordering. Keys never leave memory: not in logs, not in
// Kafka.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "evc/events/v1/events.pb.h"

namespace evc {

using Direction = events::v1::SealedEnvelope::Direction;

struct CpKey {
  std::string key_id;
  std::string key;  // 32 bytes
  // After this the key opens nothing (rotation grace, revocation).
  absl::Time not_after = absl::InfiniteFuture();
};

// Encrypts `plaintext` into an envelope.
absl::StatusOr<events::v1::SealedEnvelope> SealEnvelope(Direction direction, const std::string& cp_id,
                                         const CpKey& key, uint64_t counter,
                                         absl::string_view plaintext);

struct OpenedEnvelope {
  std::string cp_id;
  std::string key_id;
  uint64_t counter = 0;
  std::string plaintext;
};

// Finds the key `key_id` of `cp_id`; nullptr if unknown.
using KeyLookup = std::function<const CpKey*(const std::string& cp_id, const std::string& key_id)>;

// Parses and decrypts one envelope. INVALID_ARGUMENT for garbage or truncated
// input; UNAUTHENTICATED for a wrong direction, unknown or expired key, or a
// tag that does not verify. Does not check the counter (ReplayGuard does).
absl::StatusOr<OpenedEnvelope> OpenEnvelope(absl::string_view wire, Direction expected,
                                            const KeyLookup& keys, absl::Time now);

// The receiver's per-CP high-water mark: a counter must be larger than every
// one accepted before from that CP. In memory; a receiver that restarts
// Restore()s the marks it persisted, so an envelope captured before the
// restart stays refused. Not thread-safe.
class ReplayGuard {
 public:
  // FAILED_PRECONDITION (with both counters) for a replayed or reordered one.
  absl::Status Accept(const std::string& cp_id, uint64_t counter);
  // Raises the mark of `cp_id` to at least `counter` (a persisted mark).
  void Restore(const std::string& cp_id, uint64_t counter);
  // The current mark of `cp_id`; 0 if none.
  uint64_t Mark(const std::string& cp_id) const;
  void Forget(const std::string& cp_id) { last_.erase(cp_id); }

 private:
  absl::flat_hash_map<std::string, uint64_t> last_;
};

// The sender's counter: microseconds since the epoch, bumped past the last
// value, so it keeps growing across restarts of the sender. Thread-safe.
class SealCounter {
 public:
  uint64_t Next(absl::Time now);

 private:
  absl::Mutex mu_;
  uint64_t last_ ABSL_GUARDED_BY(mu_) = 0;
};

// The keys of many CPs, with replacement on rotation and removal on
// revocation. Thread-safe.
class KeyRing {
 public:
  // Replaces every key of `cp_id`.
  void Set(const std::string& cp_id, std::vector<CpKey> keys);
  void Remove(const std::string& cp_id);
  bool Has(const std::string& cp_id, const std::string& key_id) const;
  // Any key of `cp_id` at all.
  bool HasAny(const std::string& cp_id) const;
  // A copy of the key, if known.
  std::optional<CpKey> Find(const std::string& cp_id, const std::string& key_id) const;
  // The CP itself sealed with `key_id`: answer it with the same key, so a
  // rotation switches direction by direction without losing a message.
  void MarkInUse(const std::string& cp_id, const std::string& key_id);
  // The key to seal with: the one in use if still valid, else the newest
  // valid one (the last given to Set).
  std::optional<CpKey> ForSealing(const std::string& cp_id, absl::Time now) const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::vector<CpKey>> keys_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> in_use_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evc
