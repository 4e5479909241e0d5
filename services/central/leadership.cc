#include "services/central/leadership.h"

#include "services/common/log.h"

namespace evc::central {

const char* LeaderStateName(LeaderState state) {
  switch (state) {
    case LeaderState::kFollowing: return "following";
    case LeaderState::kLeading: return "leading";
    case LeaderState::kLapsed: return "lapsed";
    case LeaderState::kSuperseded: return "superseded";
  }
  return "unknown";
}

Leadership::Leadership(LeadershipConfig config, LeaderLeaseStore& store, const Clock& clock,
                       LeadershipObserver& observer)
    : config_(std::move(config)), store_(store), clock_(clock), observer_(observer) {}

Leadership::~Leadership() { Stop(); }

void Leadership::Step() {
  switch (state()) {
    case LeaderState::kFollowing: return Campaign();
    case LeaderState::kLeading:
    case LeaderState::kLapsed: return RenewTerm();
    case LeaderState::kSuperseded: return;
  }
}

void Leadership::Campaign() {
  const absl::Time sent = clock_.Now();
  absl::StatusOr<Lease> lease =
      store_.TryAcquire(config_.replica_id, config_.advertise_address, config_.lease);
  if (!lease.ok()) {
    log::Warn("cannot campaign for central's lease",
              {{"replica", config_.replica_id}, {"error", lease.status().ToString()}});
    return;
  }
  if (lease->holder != config_.replica_id) {
    absl::MutexLock lock(&mu_);
    lease_ = *lease;
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    term_valid_until_ = sent + config_.lease;
  }
  Enter(LeaderState::kLeading, *lease);
}

void Leadership::RenewTerm() {
  const Lease term = lease();
  const absl::Time sent = clock_.Now();
  absl::StatusOr<bool> renewed = store_.Renew(term.holder, term.epoch, config_.lease);
  if (!renewed.ok()) {
    log::Warn("cannot renew central's lease",
              {{"replica", config_.replica_id}, {"epoch", term.epoch},
               {"error", renewed.status().ToString()}});
    bool lapsed;
    {
      absl::MutexLock lock(&mu_);
      lapsed = clock_.Now() >= term_valid_until_;
    }
    if (lapsed) Enter(LeaderState::kLapsed, term);
    return;
  }
  if (!*renewed) return Enter(LeaderState::kSuperseded, term);
  {
    absl::MutexLock lock(&mu_);
    term_valid_until_ = sent + config_.lease;
  }
  Enter(LeaderState::kLeading, term);
}

void Leadership::Enter(LeaderState state, const Lease& lease) {
  {
    absl::MutexLock lock(&mu_);
    lease_ = lease;
    if (state_ == state) return;
    state_ = state;
  }
  log::Info("central leadership changed",
            {{"replica", config_.replica_id}, {"state", LeaderStateName(state)},
             {"epoch", lease.epoch}, {"leader", lease.holder}});
  observer_.OnLeadership(state, lease);
}

void Leadership::Start() {
  thread_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(config_.renew)) Step();
  });
}

void Leadership::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void Leadership::Resign() {
  Stop();
  const LeaderState held = state();
  if (held != LeaderState::kLeading && held != LeaderState::kLapsed) return;
  const Lease term = lease();
  if (absl::Status s = store_.Release(term.holder, term.epoch); !s.ok()) {
    log::Warn("cannot release central's lease: the next leader waits for its expiry",
              {{"replica", config_.replica_id}, {"epoch", term.epoch}, {"error", s.ToString()}});
  }
}

LeaderState Leadership::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

Lease Leadership::lease() const {
  absl::MutexLock lock(&mu_);
  return lease_;
}

}  // namespace evc::central
