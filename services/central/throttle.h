#pragma once
// Lets something happen at most once per interval (live figures, metric
// samples, ticket retries). Not thread-safe: its owner's lock or thread
// guards it.

#include "absl/time/time.h"

namespace evc::central {

class Throttle {
 public:
  explicit Throttle(absl::Duration interval) : interval_(interval) {}
  // Live settings: the next Due counts from the last time, with this interval.
  void set_interval(absl::Duration interval) { interval_ = interval; }
  // True, and counts as done, when the interval has passed since the last time.
  bool Due(absl::Time now) {
    if (now - last_ < interval_) return false;
    last_ = now;
    return true;
  }

 private:
  absl::Duration interval_;
  absl::Time last_ = absl::InfinitePast();
};

}  // namespace evc::central
