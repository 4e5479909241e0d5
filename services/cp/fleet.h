#pragma once
// What evc-cp-fleet does besides running the CPs: logging in its operator,
// enrolling the CPs at the registry, and ticking many of them from a few threads.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "services/common/client_session.h"
#include "services/cp/cp_runtime.h"
#include "services/cp/engine.h"
#include "services/cp/monitor.h"

namespace evc::cp {

struct FleetCp {
  std::string cp_id;
  std::string city;
  int64_t price_millieuros_per_kwh = 0;
  int64_t max_power_w = 0;
};

// Enrols the CP (in Spain, at "Fleet bay <id>"), or issues it new credentials if
// it already exists: its secret.
absl::StatusOr<std::string> Enrol(registry::v1::RegistryService::StubInterface& registry,
                                  const FleetCp& cp);

struct OperatorLogin {
  std::string auth_target;
  std::string user;
  std::string password;
};

// The fleet's operator, logged in. Auth may still be starting, so a failure to
// reach it is retried with Backoff until `deadline` (or `stop`); rejected
// credentials are not, as they do not get better with retries.
absl::StatusOr<std::unique_ptr<ClientSession>> LogInOperator(const OperatorLogin& login,
                                                             absl::Time deadline,
                                                             const absl::Notification* stop);

// What to check after LogInOperator failed with `status`: the password (rejected
// credentials) or auth's address (never reached), as ExitIfError's `what`.
std::string LoginFailureWhat(const absl::Status& status);

struct SimulatedCp {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<LocalEngineProbe> probe;
  std::unique_ptr<Monitor> monitor;
};

// Ticks every engine each `telemetry_period` (at most a second) and every
// monitor each second, from `threads` threads sharing the CPs, until `stopping`.
void TickFleet(const std::vector<SimulatedCp*>& cps, int threads, absl::Duration telemetry_period,
               const absl::Notification& stopping);

}  // namespace evc::cp
