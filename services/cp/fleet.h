#pragma once
// What evc-cp-fleet does: planning its CPs, logging in its operator, enrolling
// the CPs at the registry, and ticking many of them from a few threads; RunFleet
// wires it to the registry, auth, central and Kafka (the binary adds flags).

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "services/common/client_session.h"
#include "services/common/enrolment.h"
#include "services/common/grpc_server.h"
#include "services/common/kafka.h"
#include "services/cp/cp_runtime.h"
#include "services/cp/engine.h"
#include "services/cp/monitor.h"
#include "services/cp/ocpp_fleet.h"

namespace evc::cp {

// How many CPs, called what and where (evc-cp-fleet's flags).
struct FleetShape {
  int count = 0;
  std::string prefix;  // CP ids are <prefix>00001, <prefix>00002, ...
  std::string cities;  // comma-separated, taken in turn (Alicante if none)
  int64_t price_millieuros_per_kwh = 0;
  int64_t max_power_w = 0;
};

// The fleet's CPs as the registry enrols them: in Spain, at "Fleet bay <id>".
std::vector<ChargingPointEnrolment> PlanFleet(const FleetShape& shape);

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

// Many CPs (engine + monitor pairs) in one process, the same Engine and Monitor
// as the single-CP binaries, sharing one output, one auth and one central.
class Fleet {
 public:
  // All must outlive the fleet.
  Fleet(EngineOptions engine_options, EngineOutput& output, Authenticator& auth,
        central::v1::CentralService::StubInterface& central);

  // Enrols each planned CP (see EnrolEach) and builds its engine and monitor.
  absl::Status Enrol(registry::v1::RegistryService::StubInterface& registry,
                     const std::vector<ChargingPointEnrolment>& plan, absl::Duration patience,
                     const absl::Notification* stop);
  size_t size() const { return cps_.size(); }
  // The engine of `cp_id` here, or nullptr (another CP's command).
  Engine* EngineOf(const std::string& cp_id);
  // Commands reach every engine from now on.
  void SetCommandChannelReady();
  // Ticks every engine each `telemetry_period` (at most a second) and every
  // monitor each second, from `threads` threads sharing the CPs, until
  // `stopping`; then ends the monitors' links to central.
  void Run(int threads, absl::Duration telemetry_period, const absl::Notification& stopping);

 private:
  struct SimulatedCp {
    std::unique_ptr<Engine> engine;
    std::unique_ptr<LocalEngineProbe> probe;
    std::unique_ptr<Monitor> monitor;
  };

  const EngineOptions engine_options_;
  EngineOutput& output_;
  Authenticator& auth_;
  central::v1::CentralService::StubInterface& central_;
  std::map<std::string, SimulatedCp> cps_;
};

// Runs `body(shard, shards)` on `threads` threads (at least one), each ticking
// its share of a fleet, and waits for them all.
void RunInShards(int threads, const std::function<void(int shard, int shards)>& body);

// evc-cp-fleet's CPs, peers and pace.
struct FleetRun {
  FleetShape shape;
  EngineOptions engine;
  std::string registry;  // gRPC targets
  std::string auth;
  std::string central;  // followed to the leader
  std::string kafka_brokers;
  // How long the registry may take to enrol each CP (it may still be starting).
  absl::Duration enrol_patience = absl::Minutes(1);
  int tick_threads = 2;
  absl::Duration telemetry_period = absl::Seconds(1);
  // Set: the CPs are OCPP chargers connecting to this gateway URL
  // (ws://HOST:PORT/ocpp), not engine + monitor pairs.
  std::string ocpp_url;
  OcppChargerBehaviour ocpp;
  int ocpp_io_threads = 2;
};

// Enrols the planned CPs at the registry as `session`'s operator, then runs
// them until `stop`: central's commands reach their engines from Kafka (group
// evc-fleet-<prefix>), their events go out through `producer`, and `health`
// (if any) is SERVING once commands can reach every engine. With an
// `ocpp_url` the CPs are OCPP chargers instead (no `producer` needed: pass
// nullptr), SERVING once enrolled. The error of the
// first CP that could not be enrolled; exits the process if no command
// consumer can be created.
absl::Status RunFleet(const FleetRun& run, ClientSession& session, KafkaProducer* producer, ServiceHost* health,
                      const absl::Notification& stop);

}  // namespace evc::cp
