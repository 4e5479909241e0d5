#include "services/central/notification_keys.h"

#include <utility>

namespace evc::central {

NotificationKeys::NotificationKeys(NotificationKeySource* source, int fetchers, size_t max_fetches_queued)
    : source_(source), fetchers_(source == nullptr ? 0 : fetchers, max_fetches_queued) {}

std::optional<NotificationKey> NotificationKeys::Known(const std::string& driver_id) {
  absl::MutexLock lock(&mu_);
  auto it = known_.find(driver_id);
  if (it == known_.end()) return std::nullopt;
  return it->second;
}

void NotificationKeys::With(const std::string& driver_id, Use use) {
  // Set when the answer needs no fetch; else the fetch is this call's to start.
  std::optional<absl::StatusOr<NotificationKey>> answer;
  uint64_t generation = 0;
  {
    absl::MutexLock lock(&mu_);
    auto waiting = waiting_.find(driver_id);
    if (waiting != waiting_.end()) {
      if (use) waiting->second.push_back(std::move(use));
      return;
    }
    if (auto known = known_.find(driver_id); known != known_.end()) {
      answer = known->second;
    } else if (source_ == nullptr) {
      answer = absl::FailedPreconditionError("central has no source of drivers' notification keys");
    } else if (stopped_) {
      answer = absl::UnavailableError("central is stopping: no notification key is fetched");
    } else {
      std::vector<Use>& uses = waiting_[driver_id];
      if (use) uses.push_back(std::move(use));
      generation = generation_;
    }
  }
  if (answer) {
    if (use) use(*answer);
    return;
  }
  const bool queued = fetchers_.TrySubmit([this, driver_id, generation] { Fetch(driver_id, generation); });
  if (!queued) {
    Settle(driver_id, absl::ResourceExhaustedError("too many drivers' notification keys waiting to be fetched"),
           generation);
  }
}

void NotificationKeys::Fetch(const std::string& driver_id, uint64_t generation) {
  Settle(driver_id, source_->Key(driver_id), generation);
}

void NotificationKeys::Settle(const std::string& driver_id, const absl::StatusOr<NotificationKey>& key,
                              uint64_t generation) {
  // Uses given meanwhile join the queue, so they too run here, after the
  // earlier ones: the key becomes known only once none is left waiting.
  for (;;) {
    std::vector<Use> uses;
    {
      absl::MutexLock lock(&mu_);
      auto waiting = waiting_.find(driver_id);
      if (waiting->second.empty()) {
        waiting_.erase(waiting);
        if (key.ok() && generation == generation_) known_[driver_id] = *key;
        return;
      }
      uses.swap(waiting->second);
    }
    for (Use& use : uses) use(key);
  }
}

void NotificationKeys::Forget() {
  absl::MutexLock lock(&mu_);
  known_.clear();
  ++generation_;
}

bool NotificationKeys::Drain(absl::Duration limit) {
  absl::MutexLock lock(&mu_);
  auto settled = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return waiting_.empty(); };
  return mu_.AwaitWithTimeout(absl::Condition(&settled), limit);
}

void NotificationKeys::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }
  fetchers_.Stop();
}

}  // namespace evc::central
