#pragma once
// Leader election among central's replicas through a lease (LeaderLeaseStore):
// a follower campaigns every renew period and takes the lease when it is
// free or expired; the leader renews it every period. A leader that cannot
// renew (store unreachable) until its lease runs out has lapsed: it may come
// back with the same term if nobody took over. A leader whose term another
// replica took is superseded: it must stop writing (the journal's fence makes
// sure it cannot) and start again as a follower.

#include <cstdint>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "services/central/leader_lease_store.h"
#include "services/common/clock.h"

namespace evc::central {

enum class LeaderState { kFollowing, kLeading, kLapsed, kSuperseded };
const char* LeaderStateName(LeaderState state);

struct LeadershipConfig {
  std::string replica_id;
  // Where clients reach this replica; followers name the leader's.
  std::string advertise_address;
  absl::Duration lease = absl::Seconds(3);
  absl::Duration renew = absl::Seconds(1);
  // A leader asked to stop is first not ready for this long, still serving
  // what reaches it while clients' health watches move them away; then it
  // ends its streams, stops and resigns. Calls that arrived during a
  // server's shutdown would be cancelled, leaving a client unsure whether
  // they were applied.
  absl::Duration shutdown_drain = absl::Milliseconds(500);
};

// The config from --replica_id, --advertise_address (default: `listen`),
// --leader_lease, --leader_renew, --shutdown_drain; INVALID_ARGUMENT when
// renew is not shorter than the lease, or the drain is negative.
absl::StatusOr<LeadershipConfig> LeadershipConfigFromFlags(const std::string& listen);

class LeadershipObserver {
 public:
  virtual ~LeadershipObserver() = default;
  // Every change of state, with the lease as this replica knows it (its own
  // term when leading, lapsed or superseded). Called off any lock, from the
  // thread that ran the step.
  virtual void OnLeadership(LeaderState state, const Lease& lease) = 0;
};

class Leadership {
 public:
  Leadership(LeadershipConfig config, LeaderLeaseStore& store, const Clock& clock,
             LeadershipObserver& observer);
  ~Leadership();

  // One round: a campaign while following, a renewal while leading or
  // lapsed; nothing once superseded.
  void Step();
  // Steps every renew period on a thread of its own until Stop().
  void Start();
  void Stop();
  // Stops and ends a term still held, so a follower takes over at once.
  void Resign();

  LeaderState state() const;
  // This replica's term when it leads; the leader it last saw otherwise.
  Lease lease() const;
  const LeadershipConfig& config() const { return config_; }

 private:
  void Campaign();
  void RenewTerm();
  // Records the new state and tells the observer, if it changed.
  void Enter(LeaderState state, const Lease& lease);

  const LeadershipConfig config_;
  LeaderLeaseStore& store_;
  const Clock& clock_;
  LeadershipObserver& observer_;

  mutable absl::Mutex mu_;
  LeaderState state_ ABSL_GUARDED_BY(mu_) = LeaderState::kFollowing;
  Lease lease_ ABSL_GUARDED_BY(mu_);
  // Until when this replica's term surely holds: the last successful renewal
  // (or acquisition) plus the lease, timed from before the request was sent.
  absl::Time term_valid_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();

  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace evc::central
