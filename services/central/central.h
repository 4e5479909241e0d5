#pragma once
// Central: owns the charging network state machine and applies its effects —
// state is journaled to Postgres, then commands, notices and tickets go out
// (commands through the engine channel, notices and tickets sealed for their
// driver, tickets kept in an outbox until delivered); live views go to
// watchers at once. Thread-safe; one mutex guards the state machine, and
// nothing under it blocks on I/O. Kafka traffic reaches it through
// KafkaRoutes, gRPC through CentralGrpc.

#include <functional>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "evc/central/v1/central.pb.h"
#include "evc/central/v1/config.pb.h"
#include "evc/events/v1/events.pb.h"
#include "services/central/broadcaster.h"
#include "services/central/catalogue_lookup.h"
#include "services/central/central_metrics.h"
#include "services/central/engine_channel.h"
#include "services/central/journal.h"
#include "services/central/network.h"
#include "services/central/notification_key_source.h"
#include "services/central/notification_keys.h"
#include "services/central/throttle.h"
#include "services/common/clock.h"
#include "services/common/publisher.h"

namespace evc::central {

class Central {
 public:
  // Engine commands leave through `channel`. Without `notification_keys` no
  // driver notification is sent (fail closed); without `catalogue` a monitor
  // of a CP not in the catalogue is refused.
  Central(NetworkConfig config, SupplyStore& store, Publisher& publisher, EngineChannel& channel,
          const Clock& clock,
          NotificationKeySource* notification_keys = nullptr,
          CatalogueLookup* catalogue = nullptr);
  ~Central();

  // Loads the replay marks, the catalogue, restores open supplies and holds,
  // re-sends unsent tickets and starts the timer.
  absl::Status Start(const std::vector<common::v1::ChargingPoint>& catalogue);
  // A leader on its way out: the timer stops, so no time-based rule acts
  // (links it ends on purpose are not lost monitors, their supplies go on
  // under the next leader); calls and Kafka messages are still applied.
  void StopTimers();
  // StopTimers, then the last figures journaled and the journal stopped.
  void Stop();

  // Monitor link. Its CP's keys are fetched (blocking, off-lock) before
  // anything it sends or is sent needs them.
  absl::Status LoadKeys(const std::string& cp_id);
  absl::Status MonitorRegistered(const std::string& cp_id, const central::v1::Health& health);
  absl::Status MonitorHealth(const std::string& cp_id, const central::v1::Health& health);

  // Blocking (waits until durable): call off gRPC threads. `caller` is who
  // the call's token names, or why it names nobody; the state machine
  // decides who may charge (ChargingNetwork::DriverRequestsCharge).
  absl::StatusOr<common::v1::Supply> RequestCharge(const absl::StatusOr<Caller>& caller,
                                                   const std::string& cp_id,
                                                   const std::string& driver_id,
                                                   const std::string& request_id);
  // Only the driver's own supply.
  absl::StatusOr<common::v1::Supply> StopCharge(const absl::StatusOr<Caller>& caller,
                                                const std::string& supply_id,
                                                const std::string& driver_id);
  // Queues (issue 20). Only drivers join and leave, for themselves
  // (MayChargeAs, as for RequestCharge); blocking until durable.
  absl::StatusOr<common::v1::QueueStatus> JoinQueue(const absl::StatusOr<Caller>& caller,
                                                    const v1::JoinQueueRequest& req);
  absl::StatusOr<common::v1::QueueStatus> LeaveQueue(const absl::StatusOr<Caller>& caller,
                                                     const std::string& driver_id);
  // A driver's own place, or anyone's for an operator (QueueViewedFor).
  absl::StatusOr<common::v1::QueueStatus> QueuePosition(const Caller& caller,
                                                        const std::string& driver_id);
  // Everyone queued: for operators (the entry point checks).
  std::vector<common::v1::QueueStatus> ListQueues() const;
  // Operator commands, audited as `actor`.
  absl::StatusOr<std::vector<std::string>> OperatorStop(const Caller& actor,
                                                        const std::string& cp_id, bool all);
  absl::StatusOr<std::vector<std::string>> OperatorResume(const Caller& actor,
                                                          const std::string& cp_id, bool all);

  // Site power caps (network_power.cc): stored (fenced, as the journal),
  // then applied; returns once the new limits' commands are durable.
  absl::StatusOr<central::v1::SitePowerCap> SetSitePowerCap(const Caller& actor,
                                                            const SiteCap& cap);
  std::vector<central::v1::SitePowerCap> SiteCapViews();

  // Live settings (config.proto, live_config.h): those in force, with who
  // last stored them.
  central::v1::CentralConfig Config();
  // An operator's change of the settings `paths` name (MergeConfig): stored
  // first (fenced, so it survives restarts and take-overs), then in force
  // and audited; returns the settings now in force. INVALID_ARGUMENT for a
  // refused change, UNAVAILABLE when it could not be stored (nothing changed).
  absl::StatusOr<central::v1::CentralConfig> UpdateConfig(const Caller& actor,
                                                          const central::v1::CentralConfig& update,
                                                          const std::vector<std::string>& paths);
  // How often monitors report health, told to each monitor when it links.
  absl::Duration health_interval();

  // Weather: the complete set of CPs under a weather alert (CP id -> why);
  // returns once the changes are durable. INVALID_ARGUMENT for a malformed
  // CP id or detail.
  absl::StatusOr<WeatherHoldsResult> ApplyWeatherHolds(const std::map<std::string, std::string>& held,
                                                       const Caller& actor);

  // For entry points that change the network (KafkaRoutes): `change` runs
  // under the lock, then its effects are applied.
  using Change = absl::FunctionRef<void(ChargingNetwork& network, absl::Time now, Effects& fx)>;
  void Run(Change change);
  // The same, returning once the effects are durable, or the journal's
  // UNAVAILABLE after a bounded wait (the effects stay queued).
  absl::Status RunDurably(Change change);
  // The same, waiting only when the effects need durability: telemetry alone
  // is journaled on the next periodic flush, without a transaction of its own.
  absl::Status RunDurablyIfNeeded(Change change);
  // Returns once everything applied so far is durable (or UNAVAILABLE).
  absl::Status WaitForJournal();

  // Drivers' notification keys: fetched (without waiting) ahead of a notice
  // sealed under the lock, which uses only keys already known; forgotten when
  // auth's signing key rotates (they derive from it).
  void PrefetchNotificationKey(const std::string& driver_id);
  void ForgetNotificationKeys();

  // Where the time of a reading and of a charge's start goes (thread-safe).
  LatencyStages& latency_stages() { return latency_stages_; }

  // Views.
  std::vector<central::v1::ChargingPointStatus> Snapshot() const;
  // One CP's state now (DISCONNECTED for a CP central does not know).
  common::v1::CpState StateOf(const std::string& cp_id) const;
  absl::StatusOr<central::v1::SupplyView> GetSupply(const std::string& supply_id);
  absl::StatusOr<std::vector<common::v1::Ticket>> ListTickets(const std::string& driver_id,
                                                              const std::string& cp_id, int limit);
  NetworkCounters counters() const;
  central::v1::NetworkStats Stats() const;

  // Watching: `w` gets every update, preceded by a snapshot of the whole
  // network when `with_snapshot`, in parts of kSnapshotPartSize CPs (each
  // ~150 KB: 50,000 CPs in one message passed gRPC's 4 MiB default limit).
  static constexpr size_t kSnapshotPartSize = 1000;
  void Watch(Watcher* w, bool with_snapshot = true);
  void Unwatch(Watcher* w);
  // Stopping: every watcher ends (Watcher::End).
  void EndWatchers();

 private:
  // Applies effects; `after_durable` runs once they are committed.
  void Apply(Effects fx, std::function<void()> after_durable = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs `change` and applies its effects; with `wait`, returns once durable.
  absl::Status RunAndWait(Change change, bool (*wait)(const Effects&));
  // Live figures at most every 20 ms: see ChargingNetwork::EmitFigures.
  void EmitFiguresIfDue(absl::Time now, Effects& fx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Not marked published unless delivered: a failed delivery is retried by
  // the timer (RetryTickets) and, failing that, at the next start.
  // `attempt` counts the earlier failed deliveries.
  void PublishTicket(const common::v1::Ticket& ticket, int attempt = 0);
  void RetryTickets();
  // Runs an operator command of the network durably.
  absl::StatusOr<std::vector<std::string>> Operate(
      const Caller& actor, const std::string& cp_id, bool all,
      absl::StatusOr<std::vector<std::string>> (ChargingNetwork::*command)(const std::string&,
                                                                          const Caller&, absl::Time,
                                                                          Effects&));
  // Seals `n` for its driver and publishes it. With `may_fetch`, once the
  // driver's key is known (at once, or after auth answers, off this thread);
  // without (under mu_), only with a key already known. A notice that cannot
  // be sealed or queued reaches `on_delivery` as a failed delivery.
  void PublishNotification(const events::v1::DriverNotification& n, bool may_fetch,
                           Publisher::Delivered on_delivery = nullptr);
  void SealAndPublish(const events::v1::DriverNotification& n, const absl::StatusOr<NotificationKey>& key,
                      Publisher::Delivered on_delivery);
  // Every 20 ms, a 25th of the CPs: each checked twice a second.
  static constexpr int kTickParts = 25;
  void TickLoop();
  // Start: the stored settings over the flags. A stored configuration that
  // cannot be read is reported and the flags stay in force.
  void RestoreStoredConfig(const absl::StatusOr<std::optional<central::v1::CentralConfig>>& stored,
                           absl::Time now, Effects& fx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  SupplyStore& store_;
  Publisher& publisher_;
  EngineChannel& channel_;
  CatalogueLookup* const catalogue_;
  // Before the journal, whose completions seal notices with it.
  NotificationKeys notification_keys_;
  const Clock& clock_;
  Journal journal_;
  Broadcaster broadcaster_;

  mutable absl::Mutex mu_;
  // One cap change at a time, so the stored and the applied order agree.
  absl::Mutex caps_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // One settings change at a time, for the same reason.
  absl::Mutex config_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Who stored the settings in force, and when (unset: the flags).
  std::string config_updated_by_ ABSL_GUARDED_BY(mu_);
  absl::Time config_updated_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  ChargingNetwork network_ ABSL_GUARDED_BY(mu_);
  CentralMetrics metrics_ ABSL_GUARDED_BY(mu_);
  LatencyStages latency_stages_;
  Throttle metric_samples_ ABSL_GUARDED_BY(mu_){absl::Seconds(1)};
  Throttle figures_ ABSL_GUARDED_BY(mu_){absl::Milliseconds(20)};

  absl::Mutex retry_mu_;
  struct TicketRetry {
    common::v1::Ticket ticket;
    int attempt = 0;
  };
  std::vector<TicketRetry> tickets_to_retry_ ABSL_GUARDED_BY(retry_mu_);
  Throttle ticket_retries_ ABSL_GUARDED_BY(mu_);

  absl::Mutex stop_mu_;
  bool stopping_ ABSL_GUARDED_BY(stop_mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread ticker_;
};

}  // namespace evc::central
