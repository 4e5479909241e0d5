#pragma once
// The charging point's engine: the hardware (plug, meter, supply) simulated.
// Pure logic driven by commands, console actions and a 1 Hz tick; what it
// sends goes through EngineOutput (Kafka in the binaries, a recorder in tests).
// The same class serves the single-CP binary and the fleet simulator.

#include <deque>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "evc/cp/v1/engine.pb.h"
#include "evc/events/v1/events.pb.h"
#include "services/common/sealed.h"
#include "services/cp/agent.h"
#include "services/cp/engine_channel.h"

namespace evc::cp {

struct EngineOptions {
  int64_t power_w = 22000;
  // Plug in as soon as a supply is authorised (simulations).
  bool auto_plug = false;
  // Unplug this long after plugging in (0: never by itself).
  absl::Duration auto_unplug_after = absl::ZeroDuration();
  // Unplug after this many telemetry readings (0: never by itself).
  int unplug_after_readings = 0;
  // Commands older than this when they arrive are stale and ignored.
  absl::Duration command_max_age = absl::Seconds(60);
};

class Engine {
 public:
  Engine(EngineOptions options, EngineOutput& out) : options_(options), out_(out) {}

  // From the monitor, once it authenticated. Until then nothing is served.
  // FAILED_PRECONDITION while the command channel (Kafka) is not ready yet.
  absl::Status Activate(const cp::v1::ActivateRequest& request);
  // Commands can reach this engine (its consumer has its partitions).
  void SetCommandChannelReady();
  cp::v1::CheckResponse Check() const;
  std::string cp_id() const;

  // A sealed command from central: opened with this CP's keys, refused if
  // it does not verify or replays an older one.
  absl::Status OnSealedCommand(absl::string_view wire, absl::Time now);
  void OnCommand(const events::v1::EngineCommand& command, absl::Time now);
  // Console actions.
  void Plug(absl::Time now);
  void Unplug(absl::Time now);
  void Fault();
  void Repair();
  void RequestWalkIn(absl::Time now);
  // Telemetry every second while supplying; automatic unplug.
  void Tick(absl::Time now);

 private:
  struct Supply {
    std::string supply_id;
    std::string driver_id;
    int64_t price_millieuros_per_kwh = 0;
    bool plugged = false;
    absl::Time plugged_at;
    absl::Time last_tick;
    double energy_wh = 0;
    uint64_t seq = 0;
    // Central's limit for this supply (site power cap, CP maximum); 0: none.
    int64_t power_limit_w = 0;
  };

  events::v1::EngineEvent NewEvent(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Seals and sends.
  void Emit(const events::v1::EngineEvent& event, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartSupplying(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Accumulate(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What the supply draws: the engine's power, or central's limit if lower.
  int64_t Power() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendTelemetry(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Finish(common::v1::EndReason reason, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const EngineOptions options_;
  EngineOutput& out_;
  mutable absl::Mutex mu_;
  // Keys, sealing and opening (shared with the OCPP gateway).
  EngineChannel channel_ ABSL_GUARDED_BY(mu_);
  bool channel_ready_ ABSL_GUARDED_BY(mu_) = false;
  bool faulted_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<Supply> supply_ ABSL_GUARDED_BY(mu_);
  // The last supplies this engine ended, newest last: central offers an
  // authorisation again after a restart when it cannot know whether the
  // first reached the engine, and a supply that ended must not start twice.
  std::deque<std::string> ended_ ABSL_GUARDED_BY(mu_);
  std::string pending_walk_in_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evc::cp
