#include "services/central/broadcaster.h"

#include <vector>

namespace evc::central {

void Broadcaster::Add(Watcher* w) {
  absl::MutexLock lock(&mu_);
  watchers_.insert(w);
}

void Broadcaster::Remove(Watcher* w) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(w);
}

size_t Broadcaster::size() const {
  absl::MutexLock lock(&mu_);
  return watchers_.size();
}

void Broadcaster::Send(const SharedUpdate& update) {
  absl::MutexLock lock(&mu_);
  std::vector<Watcher*> too_slow;
  for (Watcher* w : watchers_) {
    if (!w->Offer(update)) too_slow.push_back(w);
  }
  for (Watcher* w : too_slow) watchers_.erase(w);
}

}  // namespace evc::central
