#pragma once
// The connections one side of OCPP-J keeps open (the gateway's server, the
// simulated chargers' client pool), so that stopping it can close them all and
// give their closing handshakes a moment before the io_context goes.

#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace evc::ocpp {

template <class Connection>
class LiveConnections {
 public:
  void Add(const std::shared_ptr<Connection>& c) {
    absl::MutexLock lock(&mu_);
    live_.insert(c.get());
    if (all_.size() > 2 * live_.size() + 64) {
      std::erase_if(all_, [](const std::weak_ptr<Connection>& w) { return w.expired(); });
    }
    all_.push_back(c);
  }
  // It ended (idempotent).
  void Remove(Connection* c) {
    absl::MutexLock lock(&mu_);
    live_.erase(c);
  }
  // Calls `close` on every connection still there, then waits up to `grace`
  // for all of them to end.
  template <class Close>
  void CloseAll(const Close& close, absl::Duration grace) {
    std::vector<std::shared_ptr<Connection>> open;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& weak : all_) {
        if (auto c = weak.lock()) open.push_back(std::move(c));
      }
      all_.clear();
    }
    for (auto& c : open) close(*c);
    open.clear();
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(+[](absl::flat_hash_set<Connection*>* l) { return l->empty(); }, &live_),
                         grace);
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<Connection*> live_ ABSL_GUARDED_BY(mu_);
  // Weak references for CloseAll; pruned as connections end.
  std::vector<std::weak_ptr<Connection>> all_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evc::ocpp
