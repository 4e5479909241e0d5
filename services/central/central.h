#pragma once
// Central: owns the charging network state machine and applies its effects —
// state is journaled to Postgres, then commands, notices and tickets go to
// Kafka; live views go to watchers at once. Thread-safe; one mutex guards the
// state machine, and nothing under it blocks on I/O.

#include <functional>
#include <span>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "evc/central/v1/central.pb.h"
#include "evc/events/v1/events.pb.h"
#include "services/central/broadcaster.h"
#include "services/central/journal.h"
#include "services/central/network.h"
#include "services/common/clock.h"
#include "services/common/kafka.h"
#include "services/common/publisher.h"

namespace evc::central {

// Whether a driver account exists (the registry, cached).
class DriverDirectory {
 public:
  virtual ~DriverDirectory() = default;
  // UNAVAILABLE when it cannot tell.
  virtual absl::StatusOr<bool> IsKnown(const std::string& driver_id) = 0;
};

class Central {
 public:
  Central(NetworkConfig config, SupplyStore& store, Publisher& publisher,
          DriverDirectory& drivers, const Clock& clock);
  ~Central();

  // Loads the catalogue, restores open supplies, re-sends unsent tickets and
  // starts the timer.
  absl::Status Start(const std::vector<common::v1::ChargingPoint>& catalogue);
  void Stop();

  // Called with the CP id when its monitor link must be cut (CP removed).
  void SetLinkCloser(std::function<void(const std::string&)> closer);

  // Monitor link.
  absl::Status MonitorRegistered(const std::string& cp_id, const central::v1::Health& health);
  absl::Status MonitorHealth(const std::string& cp_id, const central::v1::Health& health);

  // Blocking (driver lookup, waits until durable): call off gRPC threads.
  absl::StatusOr<common::v1::Supply> RequestCharge(const std::string& cp_id,
                                                   const std::string& driver_id,
                                                   const std::string& request_id);
  absl::StatusOr<common::v1::Supply> StopCharge(const std::string& supply_id,
                                                const std::string& driver_id);
  absl::StatusOr<std::vector<std::string>> OperatorStop(const std::string& cp_id, bool all);
  absl::StatusOr<std::vector<std::string>> OperatorResume(const std::string& cp_id, bool all);

  // Kafka: a batch from the consumer; returns once its effects are durable.
  void HandleKafkaBatch(std::span<const KafkaMessage> batch, KafkaProducer* dead_letters);

  // Views.
  std::vector<central::v1::ChargingPointStatus> Snapshot() const;
  absl::StatusOr<central::v1::SupplyView> GetSupply(const std::string& supply_id);
  absl::StatusOr<std::vector<common::v1::Ticket>> ListTickets(const std::string& driver_id,
                                                              const std::string& cp_id, int limit);
  NetworkCounters counters() const;
  central::v1::NetworkStats Stats() const;

  // Watching: `w` gets the snapshot (as the first update) then every update.
  void Watch(Watcher* w);
  void Unwatch(Watcher* w);

 private:
  // Applies effects; `after_durable` runs once they are committed.
  void Apply(Effects fx, std::function<void()> after_durable = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishTicket(const common::v1::Ticket& ticket);
  // Runs an operator command of the network durably.
  absl::StatusOr<std::vector<std::string>> Operate(
      const std::string& cp_id, bool all,
      absl::StatusOr<std::vector<std::string>> (ChargingNetwork::*command)(const std::string&,
                                                                          absl::Time, Effects&));
  void HandleEngineEvent(const KafkaMessage& m, Effects& fx, KafkaProducer* dead_letters)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleRegistryEvent(const KafkaMessage& m, Effects& fx, KafkaProducer* dead_letters)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Charge requests look drivers up without the lock, so they are parsed first.
  void HandleChargeRequests(const std::vector<events::v1::ChargeRequest>& requests);
  void TickLoop();

  SupplyStore& store_;
  Publisher& publisher_;
  DriverDirectory& drivers_;
  const Clock& clock_;
  Journal journal_;
  Broadcaster broadcaster_;

  mutable absl::Mutex mu_;
  ChargingNetwork network_ ABSL_GUARDED_BY(mu_);
  // Reused for every engine event: parsing into a fresh message allocates.
  events::v1::EngineEvent scratch_event_ ABSL_GUARDED_BY(mu_);
  absl::Time last_figures_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::function<void(const std::string&)> link_closer_ ABSL_GUARDED_BY(mu_);

  absl::Mutex stop_mu_;
  bool stopping_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread ticker_;
};

}  // namespace evc::central
