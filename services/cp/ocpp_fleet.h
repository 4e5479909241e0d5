#pragma once
// evc-cp-fleet over OCPP 1.6J (--ocpp=ws://HOST:PORT/ocpp): each simulated CP
// is a charger that connects to the OCPP gateway like a real one, instead of
// an engine + monitor pair that talks to central natively. It boots, reports
// its status, heartbeats, and charges when the gateway asks it to
// (RemoteStartTransaction -> StartTransaction -> MeterValues ->
// StopTransaction), so load tests exercise the gateway end to end.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "services/common/backoff.h"
#include "services/common/enrolment.h"
#include "services/ocpp/client.h"

namespace evc::cp {

// How a simulated charger behaves (evc-cp-fleet's flags).
struct OcppChargerBehaviour {
  int64_t power_w = 22000;
  // Start the transaction as soon as a RemoteStartTransaction is accepted
  // (the driver's car is plugged in); false: accept and never start.
  bool auto_plug = true;
  // Unplug (StopTransaction EVDisconnected) this long after the start (0: never)...
  absl::Duration auto_unplug_after = absl::ZeroDuration();
  // ...or after this many MeterValues (0: never).
  int unplug_after_readings = 0;
  // MeterValueSampleInterval: one MeterValues this often while charging.
  absl::Duration meter_period = absl::Seconds(10);
};

// What load tests learn from the chargers; called from the chargers' I/O
// threads, so implementations synchronise themselves.
class OcppFleetObserver {
 public:
  virtual ~OcppFleetObserver() = default;
  // A CALL of the charger answered (ok) or failed, `round_trip` after it was
  // handed to the connection (queueing behind an outstanding CALL included).
  virtual void CallAnswered(const std::string& action, absl::Duration round_trip, bool ok) {}
  virtual void RemoteStartReceived(const std::string& cp_id, absl::Time at) {}
  // The gateway accepted the StartTransaction.
  virtual void TransactionStarted(const std::string& cp_id, int64_t transaction_id, absl::Time at) {}
};

// One simulated charger. Its connection's callbacks and the fleet's ticking
// threads share it under its mutex.
class SimulatedOcppCharger : public ocpp::ChargePointHandler {
 public:
  SimulatedOcppCharger(std::string cp_id, std::string secret, const OcppChargerBehaviour& behaviour,
                       OcppFleetObserver* observer);

  // Connects (again after a loss, with backoff), boots, heartbeats, meters
  // and unplugs when due.
  void Tick(absl::Time now, ocpp::OcppClientPool& pool, const ocpp::CentralSystemUrl& url);
  // Disconnects and connects no more.
  void Shutdown();
  // From the next transaction on (a load test changing its pace).
  void SetBehaviour(const OcppChargerBehaviour& behaviour);

  bool connected() const;
  bool booted() const;
  bool charging() const;
  // The meter register, Wh.
  int64_t meter_wh() const;

  // ocpp::ChargePointHandler, on the connection's strand.
  void Opened() override;
  void Closed(const absl::Status& why) override;
  ocpp::Answer OnCall(const std::string& action, const nlohmann::json& payload) override;

 private:
  struct Transaction {
    int64_t id = 0;
    int64_t meter_start_wh = 0;
    absl::Time started_at;
    int readings = 0;
    absl::Time next_reading;
  };

  // A CALL through the link with its round trip reported; `then` runs with
  // the answer under mu_.
  void Send(const std::string& action, nlohmann::json payload,
            std::function<void(const absl::StatusOr<nlohmann::json>&)> then) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Boot() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReportStatus(const std::string& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartTransaction(const std::string& id_tag) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendMeterValues(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StopTransaction(const std::string& reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendPendingStop() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AdvanceMeter(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string IdleStatus() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ocpp::Answer Trigger(const std::string& message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  nlohmann::json Configuration(const nlohmann::json& payload) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string cp_id_;
  const std::string secret_;
  OcppFleetObserver* const observer_;
  mutable absl::Mutex mu_;
  OcppChargerBehaviour behaviour_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<ocpp::ClientLink> link_ ABSL_GUARDED_BY(mu_);
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_connect_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  Backoff reconnect_ ABSL_GUARDED_BY(mu_){absl::Milliseconds(500), absl::Seconds(30)};
  bool booted_ ABSL_GUARDED_BY(mu_) = false;
  bool boot_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_boot_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration heartbeat_interval_ ABSL_GUARDED_BY(mu_) = absl::Seconds(60);
  absl::Time next_heartbeat_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool inoperative_ ABSL_GUARDED_BY(mu_) = false;
  bool inoperative_scheduled_ ABSL_GUARDED_BY(mu_) = false;
  bool starting_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<Transaction> transaction_ ABSL_GUARDED_BY(mu_);
  // A StopTransaction not yet answered: sent again once connected (a real
  // charger queues transaction messages while offline).
  std::optional<nlohmann::json> pending_stop_ ABSL_GUARDED_BY(mu_);
  bool stop_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  double meter_wh_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time metered_at_ ABSL_GUARDED_BY(mu_);
  absl::InsecureBitGen sampling_phase_ ABSL_GUARDED_BY(mu_);
};

// Many simulated chargers on a few I/O threads.
class OcppFleet {
 public:
  OcppFleet(OcppChargerBehaviour behaviour, ocpp::CentralSystemUrl url, int io_threads,
            OcppFleetObserver* observer = nullptr);
  ~OcppFleet();

  // Enrols each planned CP (new credentials if it is enrolled already; see
  // EnrolEach) and builds its charger.
  absl::Status Enrol(registry::v1::RegistryService::StubInterface& registry,
                     const std::vector<ChargingPointEnrolment>& plan, absl::Duration patience,
                     const absl::Notification* stop);
  size_t size() const { return chargers_.size(); }
  // Chargers whose BootNotification was accepted and that are connected now.
  size_t booted() const;
  SimulatedOcppCharger* Charger(const std::string& cp_id);
  // Every charger's, from its next transaction on.
  void SetBehaviour(const OcppChargerBehaviour& behaviour);

  // Ticks every charger from `threads` threads until `stopping`, then
  // disconnects them.
  void Run(int threads, const absl::Notification& stopping);

 private:
  // Finer than any period a charger keeps, so meter readings are on time.
  absl::Duration TickPeriod() const;

  mutable absl::Mutex mu_;
  OcppChargerBehaviour behaviour_ ABSL_GUARDED_BY(mu_);
  const ocpp::CentralSystemUrl url_;
  OcppFleetObserver* const observer_;
  // Before the pool: the pool's connections call the chargers until it stops.
  std::map<std::string, std::unique_ptr<SimulatedOcppCharger>> chargers_;
  ocpp::OcppClientPool pool_;
};

}  // namespace evc::cp
