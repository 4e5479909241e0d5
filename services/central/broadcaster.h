#pragma once
// Fans network updates out to watchers. Each watcher has its own bounded
// queue; one that falls too far behind is dropped instead of slowing others.

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "evc/central/v1/central.pb.h"

namespace evc::central {

using SharedUpdate = std::shared_ptr<const central::v1::NetworkUpdate>;

// Who reads the network (ListChargingPoints, WatchNetwork), decided in the
// gRPC layer from the caller's token.
struct NetworkViewer {
  bool is_operator = false;
  // The driver's username; "" for an anonymous reader.
  std::string driver_id;
};

// What `viewer` may see of a CP: operators everything, a driver their own
// supply in full; of anyone else's supply (and for anonymous readers) only
// the public part: the CP, its state, holds, phase, power, price and when the
// latest reading was taken; no driver, no supply id, no energy or amount tied
// to a person.
central::v1::ChargingPointStatus PublicView(central::v1::ChargingPointStatus status,
                                            const NetworkViewer& viewer);
// The same for a network update; nullopt when the viewer gets nothing of it:
// tickets but their own, and the network's messages (free text that names
// drivers) for all but operators.
std::optional<central::v1::NetworkUpdate> PublicView(const central::v1::NetworkUpdate& update,
                                                     const NetworkViewer& viewer);

class Watcher {
 public:
  virtual ~Watcher() = default;
  // Must not block. Returns false if the watcher cannot keep up (it is then
  // removed and should end itself).
  virtual bool Offer(const SharedUpdate& update) = 0;
  // Central is stopping: the watcher ends itself (its client watches again,
  // at the next leader). Must not block.
  virtual void End() = 0;
};

class Broadcaster {
 public:
  void Add(Watcher* w);
  void Remove(Watcher* w);
  void Send(const SharedUpdate& update);
  // Every watcher is told to end (Watcher::End); they leave by Remove.
  void EndAll();
  size_t size() const;

 private:
  mutable absl::Mutex mu_;
  std::set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evc::central
