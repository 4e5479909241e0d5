#pragma once
// Drivers' notification keys, asked of auth once each and kept. No caller
// waits for auth: what needs a key not known yet waits behind its fetch, on
// the fetchers' threads, so a driver's first charge is authorised while its
// key is on the way.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/central/notification_key_source.h"
#include "services/common/worker_pool.h"

namespace evc::central {

class NotificationKeys {
 public:
  using Use = std::function<void(const absl::StatusOr<NotificationKey>&)>;

  // Without a source no key is ever known (fail closed). At most
  // `max_fetches_queued` drivers wait for a fetcher; past that a use hears
  // RESOURCE_EXHAUSTED at once.
  explicit NotificationKeys(NotificationKeySource* source, int fetchers = 4, size_t max_fetches_queued = 10000);

  // The key when already known; never fetches.
  std::optional<NotificationKey> Known(const std::string& driver_id);
  // Runs `use` with the driver's key, or with why there is none: at once
  // when it is known, else on a fetcher's thread once its fetch ends. The
  // uses of one driver run in the order they were given (a driver's notices
  // stay in order). A failed fetch is not kept: the next use asks again.
  void With(const std::string& driver_id, Use use);
  void Prefetch(const std::string& driver_id) { With(driver_id, nullptr); }
  // The keys derive from auth's signing key: after a rotation all are stale,
  // and a fetch in flight is not kept either.
  void Forget();
  // Returns once no use waits for a fetch, or after `limit`. False at the limit.
  bool Drain(absl::Duration limit);
  // Finishes the fetches queued and refuses new ones (their uses hear
  // UNAVAILABLE). Idempotent; called by the owner.
  void Stop();

 private:
  void Fetch(const std::string& driver_id, uint64_t generation);
  // Hands the driver's waiting uses `key` until none is left; keeps it when
  // it is a key and nothing was forgotten since `generation`.
  void Settle(const std::string& driver_id, const absl::StatusOr<NotificationKey>& key, uint64_t generation);

  NotificationKeySource* const source_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, NotificationKey> known_ ABSL_GUARDED_BY(mu_);
  // A driver here has a fetch under way; its uses wait in order.
  absl::flat_hash_map<std::string, std::vector<Use>> waiting_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  WorkerPool fetchers_;
};

}  // namespace evc::central
