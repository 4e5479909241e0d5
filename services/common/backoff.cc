#include "services/common/backoff.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/log.h"

namespace evc {

Backoff::Backoff(absl::Duration initial, absl::Duration maximum, double multiplier)
    : initial_(initial), maximum_(maximum), multiplier_(multiplier), current_(initial),
      rng_(std::random_device{}()) {}

absl::Duration Backoff::Next() {
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  absl::Duration wait = current_ * jitter(rng_);
  current_ = std::min(maximum_, current_ * multiplier_);
  return wait;
}

void Backoff::Reset() { current_ = initial_; }

absl::Status RetryWithBackoff(absl::string_view what, const std::function<absl::Status()>& attempt,
                              absl::Time deadline, const absl::Notification* stop, Backoff backoff) {
  int attempts = 0;
  while (true) {
    absl::Status status = attempt();
    ++attempts;
    if (status.ok()) return status;
    absl::Duration wait = backoff.Next();
    if (absl::Now() + wait > deadline) {
      return absl::Status(status.code(), absl::StrCat(what, ": gave up after ", attempts,
                                                      " attempts: ", status.message()));
    }
    log::Warn("retrying", {{"what", std::string(what)},
                           {"attempt", attempts},
                           {"error", std::string(status.message())},
                           {"wait_ms", absl::ToInt64Milliseconds(wait)}});
    if (stop != nullptr) {
      if (stop->WaitForNotificationWithTimeout(wait)) {
        return absl::CancelledError(absl::StrCat(what, ": shutting down"));
      }
    } else {
      absl::SleepFor(wait);
    }
  }
}

}  // namespace evc
