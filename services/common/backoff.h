#pragma once
// Exponential backoff with jitter for every loop that talks to a peer.

#include <functional>
#include <random>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace evc {

class Backoff {
 public:
  explicit Backoff(absl::Duration initial = absl::Milliseconds(100),
                   absl::Duration maximum = absl::Seconds(5), double multiplier = 2.0);
  // The wait before the next attempt; grows until `maximum`, with ±20% jitter
  // so that many clients restarting together do not retry in lockstep.
  absl::Duration Next();
  void Reset();

 private:
  absl::Duration initial_;
  absl::Duration maximum_;
  double multiplier_;
  absl::Duration current_;
  std::minstd_rand rng_;
};

// Calls `attempt` until it returns OK, the deadline passes or `stop` is
// notified; logs each failure with `what`. Returns the last error on failure.
absl::Status RetryWithBackoff(absl::string_view what, const std::function<absl::Status()>& attempt,
                              absl::Time deadline, const absl::Notification* stop = nullptr,
                              Backoff backoff = Backoff());

}  // namespace evc
