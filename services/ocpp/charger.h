#pragma once
// One real charger on OCPP 1.6J, acting as the CP it is registered as: it is
// the engine its monitor activates and checks (cp::EngineProbe), it seals the
// engine events central already understands with the CP's key
// (cp::EngineChannel), and it opens central's engine commands with that key.
// Central knows nothing of OCPP: the translation lives here.
//
//   charger -> central                      central -> charger
//   StatusNotification Faulted -> KO         Authorize -> RemoteStartTransaction
//   StartTransaction  -> started             StopSupply -> RemoteStopTransaction
//   MeterValues       -> telemetry
//   StopTransaction   -> completed (reason)
//
// One connector is modelled: a supply runs on the connector the charger
// starts it on.

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/cp/agent.h"
#include "services/cp/engine_channel.h"
#include "services/cp/monitor.h"
#include "services/ocpp/server.h"

namespace evc::ocpp {

struct ChargerOptions {
  // The Heartbeat interval a BootNotification is accepted with.
  int heartbeat_interval_s = 60;
  // Commands older than this when they arrive are stale and ignored.
  absl::Duration command_max_age = absl::Seconds(60);
  // How long an Authorize waits for central's answer before it is Invalid.
  absl::Duration authorize_timeout = absl::Seconds(15);
  // How long a new charger session (after a gateway restart: the charger may
  // be charging) reports its supply as unknown unless the charger shows
  // first whether it runs a transaction.
  absl::Duration supply_discovery = absl::Seconds(60);
};

// The OCPP transactionId of a supply: stable (FNV-1a of its id, 31 bits, never
// 0), so any gateway replica, before or after a restart, names it alike.
int32_t TransactionIdFor(const std::string& supply_id);
// The idTag a RemoteStartTransaction for `supply_id` carries (IdToken: at
// most 20 characters).
std::string IdTagFor(const std::string& supply_id);

class OcppCharger : public ChargerSession, public cp::EngineProbe {
 public:
  OcppCharger(std::string cp_id, cp::EngineOutput& out, ChargerOptions options = {});

  const std::string& cp_id() const { return cp_id_; }
  bool connected() const;

  // ChargerSession (on the connection's strand).
  std::variant<nlohmann::json, RpcError> OnCall(const std::string& action, const nlohmann::json& payload) override;
  // Authorize (an RFID tag presented at the charger): answered once central
  // has accepted a charge for the tag's driver here, or refused it.
  bool OnCallLater(const std::string& action, const nlohmann::json& payload, Reply& reply) override;
  void Connected(std::shared_ptr<ChargerLink> link) override;
  void Disconnected(const ChargerLink& link) override;
  // A supply is authorised or running here (its state must outlive a reconnect).
  bool busy() const;

  // cp::EngineProbe (the monitor's ticker).
  absl::Status Activate(const cp::v1::ActivateRequest& request) override;
  absl::StatusOr<cp::v1::CheckResponse> Check() override;
  // Operator stop/resume and weather holds: the charger is told its
  // availability (ChangeAvailability, at the next tick once it has booted).
  void CentralState(common::v1::CpState state) override;

  // A sealed command from central (the Kafka consumer).
  absl::Status OnSealedCommand(absl::string_view wire, absl::Time now);
  void OnCommand(const events::v1::EngineCommand& command, absl::Time now);
  // Every second (the gateway's tick): an Authorize central has not answered
  // in time is refused; a changed availability is sent; the supply becomes
  // known (none) once discovery has waited long enough.
  void Tick(absl::Time now);

 private:
  struct Authorisation {
    std::string supply_id;
    std::string driver_id;
    int64_t price_millieuros_per_kwh = 0;
    // What the charger's StartTransaction carries: IdTagFor(supply_id) after
    // a RemoteStartTransaction, the driver's RFID tag after an Authorize.
    std::string id_tag;
  };
  // An Authorize waiting for central (a walk-in request with the tag).
  struct LocalAuthorisation {
    std::string request_id;
    std::string id_tag;
    Reply reply;
    absl::Time deadline;
  };
  // A StopTransaction for a transaction this gateway did not know (it
  // restarted), kept until central says which supply it was.
  struct OrphanStop {
    int32_t transaction_id = 0;
    int64_t meter_stop_wh = 0;
    std::string reason;
    // Central reports a supply it lost within seconds of asking; a stop no
    // report matched by then is for a supply central no longer runs.
    absl::Time expires;
  };
  struct Transaction {
    Authorisation supply;
    int32_t transaction_id = 0;
    int64_t meter_start_wh = 0;
    int64_t energy_wh = 0;
    uint64_t seq = 0;
    // Set when central asked for the stop: the ticket's reason.
    std::optional<common::v1::EndReason> stop_reason;
  };

  nlohmann::json Boot();
  nlohmann::json StartTransaction(const nlohmann::json& payload, absl::Time now);
  nlohmann::json MeterValues(const nlohmann::json& payload, absl::Time now);
  nlohmann::json StopTransaction(const nlohmann::json& payload, absl::Time now);
  nlohmann::json StatusNotification(const nlohmann::json& payload);
  void Emit(const events::v1::EngineEvent& event, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `lost`, if given, is set when the charger does not answer (the
  // connection ended, the CALL timed out or could not be queued).
  void CallCharger(const std::string& action, nlohmann::json payload,
                   std::shared_ptr<std::atomic<bool>> lost = nullptr);
  // Takes up transaction `transaction_id` the charger runs as the supply
  // central reported (ReportSupply) if they are the same; false otherwise.
  bool Adopt(int32_t transaction_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Central reported a supply this gateway does not run: taken up now if the
  // charger already showed its transaction. Returns a CALL to make, if any.
  std::optional<std::pair<std::string, nlohmann::json>> OnReportedSupply(const events::v1::ReportSupply& report,
                                                                        absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EmitCompleted(int64_t meter_stop_wh, common::v1::EndReason reason, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tells central a supply it authorised never started here.
  void EmitNotStarted(const std::string& supply_id, common::v1::EndReason reason, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Central's answer to a walk-in request with a tag: the Authorize's reply
  // to send (outside the lock), if it was waiting for it.
  std::optional<std::pair<Reply, nlohmann::json>> AnswerLocalAuthorisation(
      const events::v1::EngineCommand& command, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string cp_id_;
  cp::EngineOutput& out_;
  const ChargerOptions options_;
  mutable absl::Mutex mu_;
  cp::EngineChannel channel_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<ChargerLink> link_ ABSL_GUARDED_BY(mu_);
  bool booted_ ABSL_GUARDED_BY(mu_) = false;
  bool faulted_ ABSL_GUARDED_BY(mu_) = false;
  // Availability (true: Operative) central's state asks for, and as last sent.
  std::optional<bool> operative_wanted_ ABSL_GUARDED_BY(mu_);
  std::optional<bool> operative_sent_ ABSL_GUARDED_BY(mu_);
  // Set by a ChangeAvailability the charger never answered: the next tick
  // sends the wanted availability again. Shared: the CALL's answer may come
  // on the connection's strand after this charger is gone.
  const std::shared_ptr<std::atomic<bool>> availability_lost_ = std::make_shared<std::atomic<bool>>(false);
  std::string fault_detail_ ABSL_GUARDED_BY(mu_);
  // Authorised by central, waiting for the charger's StartTransaction.
  std::optional<Authorisation> pending_ ABSL_GUARDED_BY(mu_);
  std::optional<LocalAuthorisation> local_auth_ ABSL_GUARDED_BY(mu_);
  std::optional<Transaction> transaction_ ABSL_GUARDED_BY(mu_);
  // False until the charger shows whether it runs a transaction (Check then
  // says the supply is unknown, and central does not reconcile meanwhile).
  bool supply_known_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time discovery_deadline_ ABSL_GUARDED_BY(mu_);
  // Central's account of a supply this gateway does not run, and what the
  // charger showed of a transaction this gateway does not know: they meet
  // when a restarted gateway takes the transaction up again.
  std::optional<events::v1::ReportSupply> reported_ ABSL_GUARDED_BY(mu_);
  std::optional<int32_t> orphan_transaction_ ABSL_GUARDED_BY(mu_);
  std::optional<OrphanStop> orphan_stop_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evc::ocpp
