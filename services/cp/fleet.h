#pragma once
// What evc-cp-fleet does besides running the CPs: enrolling them at the
// registry, and ticking many of them from a few threads.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "evc/registry/v1/registry.grpc.pb.h"
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
