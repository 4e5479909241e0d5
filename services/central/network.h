#pragma once
// The charging network's state machine: the one place where the business rules
// (README.md, "Architecture" and "Money and energy") live: who may charge and
// see what, every rejection and its reason, notices, tickets and holds. Pure
// logic: no I/O, no threads, no clock of its own. Callers verify who calls
// (a Caller), serialise access and apply the returned Effects.
//
// A CP's state is derived, never stored:
//   no live monitor link      -> DISCONNECTED
//   engine reported broken    -> FAULTED
//   a supply is open          -> SUPPLYING
//   any hold (operator, ...)  -> OUT_OF_SERVICE
//   otherwise                 -> ACTIVE

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/central/effects.h"
#include "services/central/queue.h"
#include "services/central/power_allocation.h"
#include "services/common/caller.h"
#include "services/common/charge_rule.h"  // MayChargeAs: who may charge
#include "services/common/names.h"

namespace evc::central {

struct NetworkConfig {
  // Without a health report for this long, the monitor link is lost.
  absl::Duration link_timeout = absl::Seconds(5);
  // After a restart, how long monitors have to reconnect before their open
  // supplies are closed.
  absl::Duration restart_grace = absl::Seconds(15);
  // Authorised but never plugged in.
  absl::Duration plug_timeout = absl::Seconds(120);
  // A stop was sent but the engine never reported the end.
  absl::Duration stop_timeout = absl::Seconds(15);
  // How long the supply a CP's health reports may disagree with central's
  // record before central acts on it (closes its own, stops the CP's): long
  // enough for the engine's events in flight on Kafka to arrive.
  absl::Duration reconcile_grace = absl::Seconds(10);
  // A CHARGING supply with no telemetry for this long is asked for a report;
  // still silent after twice this, it is closed (ENGINE_SILENT).
  absl::Duration telemetry_timeout = absl::Seconds(15);
  // A command the engine has not acted on yet is sent again this often.
  absl::Duration command_resend_interval = absl::Seconds(3);
  // How often monitors report health: told to each monitor when it links.
  absl::Duration health_interval = absl::Seconds(1);
  // Queues at busy locations (issue 20, queue.h).
  QueueConfig queue;
};

// The request id of a supply opened for a walk-in with an RFID tag is this
// prefix and the CP's request id: its authorisation must answer the walk-in.
inline constexpr absl::string_view kTagWalkInPrefix = "walk-in:";

struct ChargeDecision {
  std::optional<SupplyRecord> supply;  // set when accepted
  common::v1::RejectReason reason = common::v1::REJECT_REASON_UNSPECIFIED;
  std::string detail;
  bool accepted() const { return supply.has_value(); }
  // How a caller that waits for the answer is told of a rejection (OK when
  // accepted): NOT_FOUND for what does not exist, INVALID_ARGUMENT for a
  // malformed request, FAILED_PRECONDITION for a CP or driver not ready.
  absl::Status status() const;
};

// Who may see a supply and its ticket: its driver, or an operator.
absl::Status MaySeeSupply(const Caller& caller, const common::v1::Supply& supply);
// Whose tickets `caller` lists when asking for `driver_id`'s ("" for all):
// drivers their own only, operators anyone's.
absl::StatusOr<std::string> TicketsListedFor(const Caller& caller, const std::string& driver_id);

// Whose place in a queue `caller` sees when asking for `driver_id`'s:
// drivers their own ("" or their name), operators anyone's (named).
absl::StatusOr<std::string> QueueViewedFor(const Caller& caller, const std::string& driver_id);

// What ApplyWeatherHolds changed.
struct WeatherHoldsResult {
  std::vector<std::string> held;
  std::vector<std::string> released;
  std::vector<std::string> unknown;
};

struct NetworkCounters {
  int64_t telemetry_applied = 0;
  int64_t telemetry_duplicates = 0;
  int64_t engine_events_ignored = 0;
  // Commands sent again because the engine had not acted on them.
  int64_t commands_resent = 0;
  // Supplies closed or stopped because the CP's report disagreed with central.
  int64_t supplies_reconciled = 0;
  // Supply power limits set or changed (site caps, max_power_w).
  int64_t power_limits_changed = 0;
};

class ChargingNetwork {
 public:
  explicit ChargingNetwork(NetworkConfig config = {})
      : config_(config), queues_(config.queue) {}

  // Catalogue (from the registry).
  void UpsertChargingPoint(const common::v1::ChargingPoint& cp, absl::Time now, Effects& fx);
  // Audited as `actor` (the registry, whose event removed it).
  void RemoveChargingPoint(const std::string& cp_id, const Caller& actor, absl::Time now,
                           Effects& fx);
  bool Knows(const std::string& cp_id) const { return cps_.contains(cp_id); }

  // Monitor link. NOT_FOUND for a CP not in the catalogue.
  absl::Status MonitorRegistered(const std::string& cp_id, const central::v1::Health& health,
                                 absl::Time now, Effects& fx);
  absl::Status MonitorHealth(const std::string& cp_id, const central::v1::Health& health,
                             absl::Time now, Effects& fx);

  // Charge requests from drivers (`actor` a driver, admitted by MayChargeAs)
  // or walk-ins (`actor` anonymous, or the driver an RFID tag names). A driver
  // Caller is a verified account: its token (gRPC), auth's charge assertion
  // (Kafka) or the registry's owner of the tag was checked at the entry point,
  // so there is no unknown driver to refuse here (REJECT_REASON_UNKNOWN_DRIVER
  // is for a tag no account holds: OnTagWalkIn).
  ChargeDecision RequestCharge(const std::string& cp_id, const Caller& actor,
                               const std::string& request_id, absl::Time now, Effects& fx);
  // A charge request from Kafka, answered by notice (RequestCharge notifies
  // an acceptance). `driver`: who its assertion vouches for, or why it does
  // not. A rejection goes to the driver the request names, a bad assertion
  // too, so the CLI can tell its user to log in again.
  ChargeDecision AnswerChargeRequest(const events::v1::ChargeRequest& request,
                                     const absl::StatusOr<Caller>& driver, absl::Time now,
                                     Effects& fx);
  // Engine events from Kafka (started, telemetry, completed, walk-in request).
  // A walk-in with an RFID tag is refused here: its tag must be resolved
  // first, off the lock (OnTagWalkIn).
  void OnEngineEvent(const events::v1::EngineEvent& event, absl::Time now, Effects& fx);
  // A walk-in at a CP with an RFID tag (an OCPP charger's Authorize): a
  // charge for `tag_owner`, the driver who registered the tag, under the same
  // rules as any charge request; or refused with why not (NOT_FOUND: nobody
  // registered the tag; any other error: it could not be checked now).
  void OnTagWalkIn(const std::string& cp_id, const events::v1::WalkInRequest& w,
                   const absl::StatusOr<std::string>& tag_owner, absl::Time now, Effects& fx);
  // Charge and stop requests over gRPC. `caller`: who the call's token
  // names, or why it names nobody. Only drivers charge, and stop, for
  // themselves (MayChargeAs: `named_driver`, when given, must be the caller):
  // a refusal is audited (SECURITY) and returned as UNAUTHENTICATED or
  // PERMISSION_DENIED; a rejection by the network as ChargeDecision::status().
  // OK when `caller` may charge as `named_driver`; otherwise why not, audited
  // as `action`_refused against `cp_id` (when known). Also what
  // admits a driver to a queue (drivers queue for themselves).
  absl::Status AdmitDriver(const absl::StatusOr<Caller>& caller, const std::string& named_driver,
                           const std::string& action, const std::string& cp_id, absl::Time now,
                           Effects& fx);
  absl::StatusOr<SupplyRecord> DriverRequestsCharge(const absl::StatusOr<Caller>& caller,
                                                    const std::string& named_driver,
                                                    const std::string& cp_id,
                                                    const std::string& request_id,
                                                    absl::Time now, Effects& fx);
  absl::StatusOr<SupplyRecord> DriverRequestsStop(const absl::StatusOr<Caller>& caller,
                                                  const std::string& named_driver,
                                                  const std::string& supply_id, absl::Time now,
                                                  Effects& fx);
  // NOT_FOUND for an unknown or finished supply, PERMISSION_DENIED when it is
  // not the driver's.
  absl::StatusOr<SupplyRecord> DriverStop(const std::string& supply_id, const Caller& driver,
                                          absl::Time now, Effects& fx);
  // Operator commands on one CP, or on all when cp_id is empty, audited as
  // `actor`. NOT_FOUND for an unknown CP. Returns the CPs affected.
  absl::StatusOr<std::vector<std::string>> OperatorStop(const std::string& cp_id,
                                                        const Caller& actor, absl::Time now,
                                                        Effects& fx);
  absl::StatusOr<std::vector<std::string>> OperatorResume(const std::string& cp_id,
                                                          const Caller& actor, absl::Time now,
                                                          Effects& fx);

  // Weather: `held` (CP id -> why) is the complete set of CPs under a weather
  // alert. Each listed CP gets the weather hold, every other CP loses it. A
  // supply in progress is not stopped: its CP goes OUT_OF_SERVICE when it
  // ends. Lifting the hold leaves any other hold (an operator stop) in force.
  // INVALID_ARGUMENT, changing nothing, for a malformed CP id or a detail
  // too long to show.
  absl::StatusOr<WeatherHoldsResult> ApplyWeatherHolds(
      const std::map<std::string, std::string>& held, const Caller& actor, absl::Time now,
      Effects& fx);

  // Live figures (energy, amount, power) are sampled, not streamed message
  // by message: telemetry marks its CP, and EmitFigures turns every marked CP
  // into one network update, one driver reading and one journal record. Central
  // calls it at most every ~50 ms, so a backlog of telemetry costs one emission
  // per CP, not one per message. State changes are always published at once.
  void EmitFigures(absl::Time now, Effects& fx);
  bool HasPendingFigures() const { return !figures_pending_.empty(); }

  // Time-based rules: link loss, plug, stop and telemetry timeouts, and
  // commands the engine has not acted on yet, then the queues. Each call
  // checks the next `parts`-th of the CPs in turn (all of them at 1), so a CP
  // is checked every `parts` calls: central checked all 50,000 CPs every 20 ms
  // under its one lock, 2.5 M visits a second for rules counted in seconds.
  void Tick(absl::Time now, Effects& fx, int parts = 1);

  // Live settings (live_config.h validates them): in force from the next
  // Tick. Deadlines already set (a restart grace running, a queue offer made)
  // keep theirs. Audited (SYSTEM, config_changed) as `actor`, with each
  // setting's old and new value.
  void Reconfigure(const NetworkConfig& config, const Caller& actor, absl::Time now, Effects& fx);
  // Restart or take-over: the stored settings, not audited again.
  void RestoreConfig(const NetworkConfig& config) {
    config_ = config;
    queues_.Reconfigure(config.queue);
  }
  const NetworkConfig& config() const { return config_; }

  // Central is about to cut the CP's link on purpose (key rotation) and the
  // monitor will reconnect: a supply survives the gap for restart_grace.
  void ExpectReconnect(const std::string& cp_id, absl::Time now);

  // Restart: an open supply loaded from the database.
  void RestoreSupply(const SupplyRecord& supply, absl::Time now, Effects& fx);
  // Restart: a hold loaded from the database (ignored for a CP no longer in
  // the catalogue).
  void RestoreHold(const HoldChange& hold);

  // Queues (issue 20; the rules in queue.h, defined in network_queue.cc).
  // `driver` is a verified driver acting for themselves (MayChargeAs at the
  // entry point); operators only read (QueueView of anyone, ListQueues).
  absl::StatusOr<common::v1::QueueStatus> JoinQueue(const Caller& driver, const std::string& city,
                                                    const std::string& address, int64_t energy_wh,
                                                    absl::Time now, Effects& fx);
  absl::StatusOr<common::v1::QueueStatus> LeaveQueue(const std::string& driver_id,
                                                     const Caller& actor, absl::Time now,
                                                     Effects& fx);
  absl::StatusOr<common::v1::QueueStatus> QueueView(const std::string& driver_id,
                                                    absl::Time now) const;
  std::vector<common::v1::QueueStatus> ListQueues(absl::Time now) const;
  // Restart: a queued driver loaded from the database.
  void RestoreQueueEntry(const QueueEntry& entry) { queues_.Restore(entry); }
  // Site power limits (power_allocation.h, network_power.cc). The operator's
  // cap of a site (0 lifts it), audited as `actor`; every open supply of the
  // site gets its new limit. INVALID_ARGUMENT, changing nothing, for a bad
  // site or cap (SitePowerCaps::Validate).
  absl::StatusOr<central::v1::SitePowerCap> SetSitePowerCap(const SiteCap& cap,
                                                            const Caller& actor, absl::Time now,
                                                            Effects& fx);
  // Restart: a cap loaded from the database (before RestoreSupply).
  void RestoreSitePowerCap(const SiteCap& cap) { site_caps_.Set(cap); }
  // Restart or take-over: every open supply's limit computed again and sent.
  void ReallocateAllPower(absl::Time now, Effects& fx);
  std::vector<central::v1::SitePowerCap> SiteCapViews() const;

  // Views.
  std::optional<central::v1::ChargingPointStatus> Status(const std::string& cp_id) const;
  std::vector<central::v1::ChargingPointStatus> Snapshot() const;
  std::optional<SupplyRecord> FindSupply(const std::string& supply_id) const;
  const NetworkCounters& counters() const { return counters_; }
  std::map<common::v1::CpState, int> CountByState() const;

 private:
  struct ChargingPointRecord {
    common::v1::ChargingPoint info;
    bool linked = false;
    absl::Time last_health = absl::InfinitePast();
    // A supply of an unlinked CP survives until this time (restart grace).
    absl::Time orphan_deadline = absl::InfinitePast();
    // Set when central cut the link itself: the supply waits until then.
    absl::Time reconnect_by = absl::InfinitePast();
    bool engine_ok = true;
    std::string fault_detail;
    struct Hold {
      std::string detail;
      absl::Time since;
    };
    std::map<common::v1::HoldReason, Hold> holds;
    std::optional<SupplyRecord> supply;
    // What the engine last said it runs (health), and since when central's
    // record has disagreed with it (InfiniteFuture: they agree).
    std::optional<std::string> engine_supply;
    absl::Time disagree_since = absl::InfiniteFuture();
    // When central last heard of the supply (its start or new telemetry), and
    // last asked the engine for a report.
    absl::Time supply_heard_at = absl::InfinitePast();
    absl::Time report_asked_at = absl::InfinitePast();
    // A supply central closed that the engine may still run: STOP is owed
    // until the engine's report shows it no longer does.
    std::optional<events::v1::StopSupply> owed_stop;
    // Commands to this CP are sent again at most this often.
    absl::Time last_command_at = absl::InfinitePast();
  };

  static common::v1::CpState DeriveState(const ChargingPointRecord& cp);
  central::v1::ChargingPointStatus StatusOf(const ChargingPointRecord& cp) const;
  // Emits the CP's status if its derived state or figures changed.
  void Publish(const ChargingPointRecord& cp, Effects& fx) const;
  void Message(absl::Time now, central::v1::NetworkMessage::Severity severity,
               const std::string& cp_id, const std::string& text, Effects& fx) const;
  void ApplyHealth(ChargingPointRecord& cp, const central::v1::Health& health, absl::Time now,
                   Effects& fx);
  // The engine turned KO (ending any supply) or recovered.
  void ChangeEngineCondition(ChargingPointRecord& cp, const central::v1::Health& health,
                             absl::Time now, Effects& fx);
  // Add or lift one hold, recording the change for the journal; false when
  // the CP already was in that condition.
  bool AddHold(ChargingPointRecord& cp, common::v1::HoldReason reason, const std::string& detail,
               absl::Time now, Effects& fx);
  bool LiftHold(ChargingPointRecord& cp, common::v1::HoldReason reason, absl::Time now,
                Effects& fx);
  // "operator stop, weather alert": the holds other than `except`.
  static std::string OtherHolds(const ChargingPointRecord& cp, common::v1::HoldReason except);
  void RequestStop(ChargingPointRecord& cp, common::v1::EndReason reason, absl::Time now,
                   Effects& fx);
  // Compares the supply the CP reports with central's record and, once they
  // have disagreed for reconcile_grace, closes central's or stops the CP's.
  void Reconcile(ChargingPointRecord& cp, absl::Time now, Effects& fx);
  // A running supply that went quiet is asked for a report, then closed.
  void CheckSilence(ChargingPointRecord& cp, absl::Time now, Effects& fx);
  // Tick's rules for one CP.
  void TickOne(ChargingPointRecord& cp, absl::Time now, Effects& fx);
  // The command central owes the CP's engine (AUTHORIZE not yet seen running,
  // STOP not yet obeyed), sent again at most every command_resend_interval.
  void ResendOwedCommand(ChargingPointRecord& cp, absl::Time now, Effects& fx);
  std::optional<events::v1::EngineCommand> OwedCommand(const ChargingPointRecord& cp,
                                                       absl::Time now) const;
  void SendCommand(ChargingPointRecord& cp, events::v1::EngineCommand command, absl::Time now,
                   Effects& fx);
  // Ends the CP's supply now with its last known figures and issues the ticket.
  void CloseSupply(ChargingPointRecord& cp, common::v1::EndReason reason, absl::Time now,
                   Effects& fx, bool tell_engine);
  // `taken_at`/`ended_at`: when it happened at the CP (see EventTime).
  void OnTelemetry(ChargingPointRecord& cp, const events::v1::Telemetry& t, absl::Time taken_at,
                   absl::Time now, Effects& fx);
  void OnCompleted(ChargingPointRecord& cp, const events::v1::SupplyCompleted& c,
                   absl::Time ended_at, Effects& fx);
  void OnWalkIn(const std::string& cp_id, const events::v1::WalkInRequest& w, absl::Time now,
                Effects& fx);
  // Asks the CP to report on its running supply, telling it what central
  // knows of it (ReportSupply).
  void AskForReport(ChargingPointRecord& cp, absl::Time now, Effects& fx);
  // A refused walk-in is told so (an accepted one by its authorisation).
  void AnswerWalkIn(const std::string& cp_id, const std::string& request_id, const ChargeDecision& d,
                    absl::Time now, Effects& fx);
  ChargingPointRecord* SupplyOwner(const std::string& cp_id, const std::string& supply_id);
  // The CP running `supply_id`, through the index; nullptr if none.
  ChargingPointRecord* SupplyHolder(const std::string& supply_id);
  // NOT_FOUND, with the id, for a CP not in the catalogue.
  absl::StatusOr<ChargingPointRecord*> Find(const std::string& cp_id);
  absl::StatusOr<std::vector<ChargingPointRecord*>> Targets(const std::string& cp_id);
  // Applies `change` to one CP (or all when cp_id is empty); returns the ids of
  // those it changed.
  absl::StatusOr<std::vector<std::string>> ForEachTarget(
      const std::string& cp_id, const std::function<bool(ChargingPointRecord&)>& change);
  static events::v1::EngineCommand Command(const std::string& cp_id, absl::Time now);
  static events::v1::EngineCommand AuthorizeCommand(const SupplyRecord& s, absl::Time now);
  // The stop a STOPPING supply asks of its engine.
  static events::v1::StopSupply StopOf(const SupplyRecord& s);
  static events::v1::EngineCommand StopCommand(const std::string& cp_id,
                                               const events::v1::StopSupply& stop, absl::Time now);
  static events::v1::DriverNotification Notice(const SupplyRecord& s, absl::Time now);
  static events::v1::DriverNotification RejectionNotice(const events::v1::ChargeRequest& request,
                                                        const ChargeDecision& d, absl::Time now);
  // Checked before any change: ApplyWeatherHolds is all or nothing.
  static absl::Status ValidateWeatherHolds(const std::map<std::string, std::string>& held);
  void Audit(Effects& fx, absl::Time now, AuditCategory category, const std::string& action,
             const std::string& actor, const std::string& cp_id, const std::string& outcome,
             nlohmann::json details = nlohmann::json::object()) const;

  // The CPs of the cities with a queue, as the queue sees them.
  std::vector<QueueCp> QueueCps(const std::string& also_city = "") const;
  // Offers, their expiry and withdrawal (queue.h, WaitingQueues::Update).
  void UpdateQueues(absl::Time now, Effects& fx);
  // A free CP held for another queued driver: why `driver_id` may not take it.
  std::optional<std::string> HeldForQueue(const std::string& cp_id, const std::string& driver_id,
                                          absl::Time now, Effects& fx);

  // The limits of the open supplies at `cp`'s site (or of `cp` alone, when it
  // has no site) computed again; a changed limit is sent to its engine
  // (except to `fresh_cp`, whose AUTHORIZE is about to carry it) and published.
  void ReallocatePower(ChargingPointRecord& cp, absl::Time now, Effects& fx,
                       const std::string& fresh_cp = "");
  void ReallocateSite(const std::string& site_key, absl::Time now, Effects& fx,
                      const std::string& fresh_cp = "");
  // A running supply's limit again (its monitor linked: the SetPowerLimit of a
  // restart or take-over could not be sealed before it did).
  void ResendPowerLimit(ChargingPointRecord& cp, absl::Time now, Effects& fx);
  void ApplyPowerLimits(const std::vector<ChargingPointRecord*>& running, std::optional<int64_t> cap,
                        absl::Time now, Effects& fx, const std::string& fresh_cp);
  central::v1::SitePowerCap SiteView(const std::string& site_key, const SiteCap& cap) const;

  NetworkConfig config_;
  WaitingQueues queues_;
  SitePowerCaps site_caps_;
  SiteIndex sites_;
  // node_hash_map: records keep their address while others are added.
  absl::node_hash_map<std::string, ChargingPointRecord> cps_;
  // Every record of cps_ once, in the order Tick checks them, from tick_next_.
  std::vector<ChargingPointRecord*> tick_order_;
  size_t tick_next_ = 0;
  // Drivers with an open supply -> supply id (anonymous walk-ins not listed).
  absl::flat_hash_map<std::string, std::string> driver_supply_;
  // Open supply id -> its CP, so finding a supply is not a scan of every CP.
  absl::flat_hash_map<std::string, std::string> supply_cp_;
  NetworkCounters counters_;
  absl::flat_hash_set<std::string> figures_pending_;
};

common::v1::Supply ToProtoSupply(const SupplyRecord& s);
// A supply as its ticket ends it: ENDED, with the ticket's figures.
void EndWithTicket(const common::v1::Ticket& ticket, common::v1::Supply& supply);

}  // namespace evc::central
