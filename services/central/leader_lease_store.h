#pragma once
// Where central's replicas elect their leader: one lease with a holder, the
// address it serves on, an epoch that only grows and an expiry judged by the
// store's own clock (so the replicas' clocks need not agree).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace evc::central {

struct Lease {
  std::string holder;  // replica id; "" when nobody ever held it
  std::string advertise_address;
  int64_t epoch = 0;
};

class LeaderLeaseStore {
 public:
  virtual ~LeaderLeaseStore() = default;
  // Takes the lease for `lease_for` seconds when it is free, expired or
  // already `holder`'s (a restarted replica), with the epoch raised by one.
  // Returns the lease as it stands afterwards: `holder`'s when taken,
  // another replica's otherwise. UNAVAILABLE when the store is unreachable.
  virtual absl::StatusOr<Lease> TryAcquire(const std::string& holder,
                                           const std::string& advertise_address,
                                           absl::Duration lease_for) = 0;
  // Extends `holder`'s term `epoch` by `lease_for`. false when that term is
  // over (another replica took the lease).
  virtual absl::StatusOr<bool> Renew(const std::string& holder, int64_t epoch,
                                     absl::Duration lease_for) = 0;
  // Ends `holder`'s term `epoch` now, so another replica takes over without
  // waiting for the expiry (a graceful stop).
  virtual absl::Status Release(const std::string& holder, int64_t epoch) = 0;
};

}  // namespace evc::central
