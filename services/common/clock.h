#pragma once
// Time as a collaborator, so logic that depends on it is tested with a fake
// (services/common/testing/fake_clock.h).

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace evc {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class SystemClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace evc
