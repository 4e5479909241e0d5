#pragma once
// Fans network updates out to watchers. Each watcher has its own bounded
// queue; one that falls too far behind is dropped instead of slowing others.

#include <memory>
#include <set>

#include "absl/synchronization/mutex.h"
#include "evc/central/v1/central.pb.h"

namespace evc::central {

using SharedUpdate = std::shared_ptr<const central::v1::NetworkUpdate>;

class Watcher {
 public:
  virtual ~Watcher() = default;
  // Must not block. Returns false if the watcher cannot keep up (it is then
  // removed and should end itself).
  virtual bool Offer(const SharedUpdate& update) = 0;
};

class Broadcaster {
 public:
  void Add(Watcher* w);
  void Remove(Watcher* w);
  void Send(const SharedUpdate& update);
  size_t size() const;

 private:
  mutable absl::Mutex mu_;
  std::set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evc::central
