#include "services/central/network.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/central/live_config.h"
#include "services/common/crypto.h"
#include "services/common/proto_time.h"
#include "services/common/validation.h"

namespace evc::central {

using common::v1::CpState;
using common::v1::EndReason;
using common::v1::RejectReason;
using common::v1::SupplyPhase;
using Severity = central::v1::NetworkMessage::Severity;

CpState ChargingNetwork::DeriveState(const ChargingPointRecord& cp) {
  if (!cp.linked) return common::v1::CP_STATE_DISCONNECTED;
  if (!cp.engine_ok) return common::v1::CP_STATE_FAULTED;
  if (cp.supply) return common::v1::CP_STATE_SUPPLYING;
  if (!cp.holds.empty()) return common::v1::CP_STATE_OUT_OF_SERVICE;
  return common::v1::CP_STATE_ACTIVE;
}

common::v1::Supply ToProtoSupply(const SupplyRecord& s) {
  common::v1::Supply out;
  out.set_supply_id(s.supply_id);
  out.set_cp_id(s.cp_id);
  out.set_driver_id(s.driver_id);
  out.set_phase(s.phase);
  *out.mutable_authorized_at() = ToProto(s.authorized_at);
  if (s.started_at != absl::InfinitePast()) *out.mutable_started_at() = ToProto(s.started_at);
  out.set_energy_wh(s.energy_wh);
  out.set_amount_millieuros(AmountMillieuros(s.energy_wh, s.price_millieuros_per_kwh));
  out.set_power_w(s.power_w);
  out.set_price_millieuros_per_kwh(s.price_millieuros_per_kwh);
  out.set_power_limit_w(s.power_limit_w);
  if (s.last_reading_at != absl::InfinitePast()) {
    *out.mutable_last_reading_at() = ToProto(s.last_reading_at);
  }
  return out;
}

void EndWithTicket(const common::v1::Ticket& ticket, common::v1::Supply& supply) {
  supply.set_supply_id(ticket.supply_id());
  supply.set_cp_id(ticket.cp_id());
  supply.set_driver_id(ticket.driver_id());
  supply.set_phase(common::v1::SUPPLY_PHASE_ENDED);
  supply.set_energy_wh(ticket.energy_wh());
  supply.set_amount_millieuros(ticket.amount_millieuros());
  supply.set_price_millieuros_per_kwh(ticket.price_millieuros_per_kwh());
}

absl::Status ChargeDecision::status() const {
  if (accepted()) return absl::OkStatus();
  switch (reason) {
    case common::v1::REJECT_REASON_UNKNOWN_CP:
    case common::v1::REJECT_REASON_UNKNOWN_DRIVER:
      return absl::NotFoundError(detail);
    case common::v1::REJECT_REASON_INVALID_REQUEST:
      return absl::InvalidArgumentError(detail);
    default:
      return absl::FailedPreconditionError(detail);
  }
}

// ---- who may do what ----

absl::Status MaySeeSupply(const Caller& caller, const common::v1::Supply& supply) {
  if (caller.is_operator() || supply.driver_id() == caller.name) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("supply ", supply.supply_id(), " is not ", caller.name, "'s"));
}

absl::StatusOr<std::string> TicketsListedFor(const Caller& caller, const std::string& driver_id) {
  if (caller.is_operator()) return driver_id;
  if (!driver_id.empty() && driver_id != caller.name) {
    return absl::PermissionDeniedError(
        absl::StrCat("'", caller.name, "' may not list the tickets of '", driver_id, "'"));
  }
  return caller.name;
}

// When something happened at the CP: its own timestamp, unless it is missing,
// in the future, or before the supply began (a wrong clock), then ours.
absl::Time EventTime(const events::v1::EngineEvent& e, const SupplyRecord& s, absl::Time now) {
  if (!e.has_at()) return now;
  absl::Time at = FromProto(e.at());
  if (at > now + absl::Seconds(5) || at < s.authorized_at) return now;
  return std::min(at, now);
}

central::v1::ChargingPointStatus ChargingNetwork::StatusOf(const ChargingPointRecord& cp) const {
  central::v1::ChargingPointStatus s;
  *s.mutable_charging_point() = cp.info;
  s.set_state(DeriveState(cp));
  for (const auto& [reason, hold] : cp.holds) {
    s.add_holds(reason);
    common::v1::Hold* detail = s.add_hold_details();
    detail->set_reason(reason);
    detail->set_detail(hold.detail);
    *detail->mutable_since() = ToProto(hold.since);
  }
  if (cp.supply) *s.mutable_supply() = ToProtoSupply(*cp.supply);
  s.set_fault_detail(cp.engine_ok ? "" : cp.fault_detail);
  if (cp.last_health != absl::InfinitePast()) *s.mutable_last_health_at() = ToProto(cp.last_health);
  return s;
}

void ChargingNetwork::Publish(const ChargingPointRecord& cp, Effects& fx) const {
  central::v1::NetworkUpdate update;
  *update.mutable_charging_point() = StatusOf(cp);
  fx.updates.push_back(std::move(update));
}

void ChargingNetwork::Message(absl::Time now, Severity severity, const std::string& cp_id,
                              const std::string& text, Effects& fx) const {
  central::v1::NetworkUpdate update;
  auto* m = update.mutable_message();
  *m->mutable_at() = ToProto(now);
  m->set_severity(severity);
  m->set_cp_id(cp_id);
  m->set_text(text);
  fx.updates.push_back(std::move(update));
}

void ChargingNetwork::Audit(Effects& fx, absl::Time now, AuditCategory category,
                            const std::string& action, const std::string& actor,
                            const std::string& cp_id, const std::string& outcome,
                            nlohmann::json details) const {
  fx.audit.push_back({now, category, action, actor, cp_id, outcome, std::move(details)});
}

events::v1::EngineCommand ChargingNetwork::Command(const std::string& cp_id, absl::Time now) {
  events::v1::EngineCommand c;
  c.set_cp_id(cp_id);
  c.set_command_id(crypto::RandomId());
  *c.mutable_sent_at() = ToProto(now);
  return c;
}

events::v1::EngineCommand ChargingNetwork::AuthorizeCommand(const SupplyRecord& s, absl::Time now) {
  events::v1::EngineCommand c = Command(s.cp_id, now);
  auto* a = c.mutable_authorize();
  a->set_supply_id(s.supply_id);
  a->set_driver_id(s.driver_id);
  a->set_price_millieuros_per_kwh(s.price_millieuros_per_kwh);
  // A supply opened for a walk-in answers its request (anonymous, or by tag).
  if (s.driver_id.empty()) a->set_walk_in_request_id(s.request_id);
  if (absl::StartsWith(s.request_id, kTagWalkInPrefix)) {
    a->set_walk_in_request_id(s.request_id.substr(kTagWalkInPrefix.size()));
  }
  a->set_power_limit_w(s.power_limit_w);
  return c;
}

events::v1::StopSupply ChargingNetwork::StopOf(const SupplyRecord& s) {
  events::v1::StopSupply stop;
  stop.set_supply_id(s.supply_id);
  stop.set_reason(s.stop_reason);
  return stop;
}

events::v1::EngineCommand ChargingNetwork::StopCommand(const std::string& cp_id,
                                                       const events::v1::StopSupply& stop,
                                                       absl::Time now) {
  events::v1::EngineCommand c = Command(cp_id, now);
  *c.mutable_stop() = stop;
  return c;
}

void ChargingNetwork::SendCommand(ChargingPointRecord& cp, events::v1::EngineCommand command,
                                  absl::Time now, Effects& fx) {
  cp.last_command_at = now;
  fx.commands.push_back(std::move(command));
}

events::v1::DriverNotification ChargingNetwork::Notice(const SupplyRecord& s, absl::Time now) {
  events::v1::DriverNotification n;
  n.set_driver_id(s.driver_id);
  n.set_request_id(s.request_id);
  *n.mutable_at() = ToProto(now);
  return n;
}

events::v1::DriverNotification ChargingNetwork::RejectionNotice(
    const events::v1::ChargeRequest& request, const ChargeDecision& d, absl::Time now) {
  events::v1::DriverNotification n;
  n.set_driver_id(request.driver_id());
  n.set_request_id(request.request_id());
  *n.mutable_at() = ToProto(now);
  n.mutable_rejected()->set_cp_id(request.cp_id());
  n.mutable_rejected()->set_reason(d.reason);
  n.mutable_rejected()->set_detail(d.detail);
  return n;
}

// ---- catalogue ----

void ChargingNetwork::UpsertChargingPoint(const common::v1::ChargingPoint& info, absl::Time now,
                                          Effects& fx) {
  auto [it, inserted] = cps_.try_emplace(info.cp_id());
  it->second.info = info;
  if (inserted) tick_order_.push_back(&it->second);
  // Power: its site (or max_power_w) may have changed.
  const std::string left_site = sites_.Place(info.cp_id(), info.location());
  if (!left_site.empty()) ReallocateSite(left_site, now, fx);
  ReallocatePower(it->second, now, fx);
  if (inserted) {
    Message(now, central::v1::NetworkMessage::SEVERITY_INFO, info.cp_id(),
            absl::StrCat("charging point ", info.cp_id(), " joined the network (",
                         info.location().city(), ")"),
            fx);
  }
  Publish(it->second, fx);
}

void ChargingNetwork::RemoveChargingPoint(const std::string& cp_id, const Caller& actor,
                                          absl::Time now, Effects& fx) {
  auto it = cps_.find(cp_id);
  if (it == cps_.end()) return;
  if (it->second.supply) CloseSupply(it->second, common::v1::END_REASON_CP_REMOVED, now, fx, true);
  for (const auto& [reason, hold] : it->second.holds) {
    fx.holds_changed.push_back({cp_id, reason, false, "", now});
  }
  // Rare (a CP unregistered): a scan, to keep Tick's order a plain vector.
  auto in_order = std::find(tick_order_.begin(), tick_order_.end(), &it->second);
  if (in_order != tick_order_.end()) {
    *in_order = tick_order_.back();
    tick_order_.pop_back();
  }
  cps_.erase(it);
  sites_.Remove(cp_id);
  central::v1::NetworkUpdate update;
  update.set_removed_cp_id(cp_id);
  fx.updates.push_back(std::move(update));
  Message(now, central::v1::NetworkMessage::SEVERITY_INFO, cp_id,
          absl::StrCat("charging point ", cp_id, " left the network"), fx);
  Audit(fx, now, AuditCategory::kStatus, "cp_removed", actor.AuditName(), cp_id, "OK");
}

// ---- monitor link ----

absl::StatusOr<ChargingNetwork::ChargingPointRecord*> ChargingNetwork::Find(const std::string& cp_id) {
  auto it = cps_.find(cp_id);
  if (it == cps_.end()) {
    return absl::NotFoundError(absl::StrCat("charging point '", cp_id, "' is not registered"));
  }
  return &it->second;
}

absl::Status ChargingNetwork::MonitorRegistered(const std::string& cp_id,
                                                const central::v1::Health& health, absl::Time now,
                                                Effects& fx) {
  absl::StatusOr<ChargingPointRecord*> found = Find(cp_id);
  if (!found.ok()) return found.status();
  ChargingPointRecord& cp = **found;
  const bool was_linked = cp.linked;
  cp.linked = true;
  if (!was_linked) {
    Message(now, central::v1::NetworkMessage::SEVERITY_INFO, cp_id,
            absl::StrCat("charging point ", cp_id, " connected"), fx);
    Audit(fx, now, AuditCategory::kStatus, "monitor_connected", cp_id, cp_id, "OK");
  }
  ApplyHealth(cp, health, now, fx);
  if (!was_linked && cp.engine_ok) Publish(cp, fx);
  // A link back that cannot say what it runs (an OCPP gateway restarted
  // while its charger kept charging) is told what central knows of it.
  if (cp.engine_ok && !health.has_engine_supply_id() && cp.supply &&
      cp.supply->phase == common::v1::SUPPLY_PHASE_CHARGING) {
    AskForReport(cp, now, fx);
  }
  // A command may have been lost with a central that stopped between storing
  // the state and sending it (or with the link): what is owed goes at once.
  cp.last_command_at = absl::InfinitePast();
  if (cp.engine_ok) ResendOwedCommand(cp, now, fx);
  if (cp.engine_ok) ResendPowerLimit(cp, now, fx);
  return absl::OkStatus();
}

absl::Status ChargingNetwork::MonitorHealth(const std::string& cp_id,
                                            const central::v1::Health& health, absl::Time now,
                                            Effects& fx) {
  absl::StatusOr<ChargingPointRecord*> found = Find(cp_id);
  if (!found.ok()) return found.status();
  ChargingPointRecord& cp = **found;
  if (!cp.linked) return MonitorRegistered(cp_id, health, now, fx);
  ApplyHealth(cp, health, now, fx);
  return absl::OkStatus();
}

void ChargingNetwork::ApplyHealth(ChargingPointRecord& cp, const central::v1::Health& health,
                                  absl::Time now, Effects& fx) {
  cp.last_health = now;
  // Only a working engine can say what it runs.
  if (health.engine_ok() && health.has_engine_supply_id()) {
    cp.engine_supply = health.engine_supply_id();
  } else {
    cp.engine_supply.reset();
  }
  if (cp.owed_stop && cp.engine_supply && *cp.engine_supply != cp.owed_stop->supply_id()) {
    cp.owed_stop.reset();
  }
  if (cp.engine_ok != health.engine_ok()) ChangeEngineCondition(cp, health, now, fx);
  Reconcile(cp, now, fx);
}

void ChargingNetwork::ChangeEngineCondition(ChargingPointRecord& cp,
                                            const central::v1::Health& health, absl::Time now,
                                            Effects& fx) {
  cp.engine_ok = health.engine_ok();
  const std::string& id = cp.info.cp_id();
  if (!cp.engine_ok) {
    cp.fault_detail = health.detail().empty() ? "engine not responding" : health.detail();
    Message(now, central::v1::NetworkMessage::SEVERITY_ERROR, id,
            absl::StrCat("charging point ", id, " FAULTED: ", cp.fault_detail), fx);
    Audit(fx, now, AuditCategory::kIncident, "engine_fault", id, id, "FAULTED",
          {{"detail", cp.fault_detail}});
    // A fault ends the supply at once: nobody can vouch for further energy.
    if (cp.supply) CloseSupply(cp, common::v1::END_REASON_ENGINE_FAULT, now, fx, true);
  } else {
    cp.fault_detail.clear();
    Message(now, central::v1::NetworkMessage::SEVERITY_INFO, id,
            absl::StrCat("charging point ", id, " recovered"), fx);
    Audit(fx, now, AuditCategory::kIncident, "engine_recovered", id, id, "OK");
  }
  Publish(cp, fx);
}

// ---- charge requests ----

ChargeDecision ChargingNetwork::RequestCharge(const std::string& cp_id, const Caller& actor,
                                              const std::string& request_id, absl::Time now,
                                              Effects& fx) {
  ChargeDecision d;
  const std::string driver_id = actor.is_driver() ? actor.name : "";
  // How the audit trail and the dashboards name who asked.
  const std::string who = driver_id.empty() ? "anonymous" : driver_id;
  auto reject = [&](RejectReason reason, std::string detail) {
    d.reason = reason;
    d.detail = std::move(detail);
    Audit(fx, now, AuditCategory::kCharge, "charge_rejected", who, cp_id, "REJECTED",
          {{"reason", RejectReasonText(reason)}, {"request_id", request_id}});
    Message(now, central::v1::NetworkMessage::SEVERITY_WARNING, cp_id,
            absl::StrCat("charge request by ", who, " at ", cp_id, " rejected: ", d.detail), fx);
    return d;
  };
  auto it = cps_.find(cp_id);
  if (it == cps_.end()) {
    return reject(common::v1::REJECT_REASON_UNKNOWN_CP,
                  absl::StrCat("charging point '", cp_id, "' is not registered"));
  }
  ChargingPointRecord& cp = it->second;
  // The same request id gets the same answer (Kafka redelivery, client retry).
  if (cp.supply && !request_id.empty() && cp.supply->request_id == request_id &&
      cp.supply->driver_id == driver_id) {
    d.supply = cp.supply;
    return d;
  }
  if (!driver_id.empty()) {
    if (auto busy = driver_supply_.find(driver_id); busy != driver_supply_.end()) {
      return reject(common::v1::REJECT_REASON_DRIVER_ALREADY_CHARGING,
                    absl::StrCat("driver '", driver_id, "' already has supply ", busy->second));
    }
  }
  switch (DeriveState(cp)) {
    case common::v1::CP_STATE_DISCONNECTED:
      return reject(common::v1::REJECT_REASON_CP_DISCONNECTED,
                    absl::StrCat("charging point ", cp_id, " is DISCONNECTED"));
    case common::v1::CP_STATE_FAULTED:
      return reject(common::v1::REJECT_REASON_CP_FAULTED,
                    absl::StrCat("charging point ", cp_id, " is FAULTED: ", cp.fault_detail));
    case common::v1::CP_STATE_SUPPLYING:
      return reject(common::v1::REJECT_REASON_CP_BUSY,
                    absl::StrCat("charging point ", cp_id, " is already SUPPLYING"));
    case common::v1::CP_STATE_OUT_OF_SERVICE:
      return reject(common::v1::REJECT_REASON_CP_OUT_OF_SERVICE,
                    absl::StrCat("charging point ", cp_id, " is OUT_OF_SERVICE"));
    default:
      break;
  }
  if (auto held = HeldForQueue(cp_id, driver_id, now, fx)) {
    return reject(common::v1::REJECT_REASON_CP_OFFERED, *held);
  }
  SupplyRecord s;
  s.supply_id = crypto::RandomId();
  s.cp_id = cp_id;
  s.driver_id = driver_id;
  s.request_id = request_id;
  s.phase = common::v1::SUPPLY_PHASE_AUTHORIZED;
  s.authorized_at = now;
  s.price_millieuros_per_kwh = cp.info.price_millieuros_per_kwh();
  cp.supply = s;
  supply_cp_[s.supply_id] = cp_id;
  if (!driver_id.empty()) driver_supply_[driver_id] = s.supply_id;
  cp.supply_heard_at = now;
  ReallocatePower(cp, now, fx, cp_id);
  s.power_limit_w = cp.supply->power_limit_w;
  fx.supplies_opened.push_back(s);

  SendCommand(cp, AuthorizeCommand(s, now), now, fx);
  if (!driver_id.empty()) {
    events::v1::DriverNotification n = Notice(s, now);
    *n.mutable_accepted() = ToProtoSupply(s);
    fx.notices.push_back(std::move(n));
  }
  if (!driver_id.empty()) queues_.OnCharging(driver_id, cp_id, now, fx);
  Audit(fx, now, AuditCategory::kCharge, "charge_authorized", who, cp_id, "OK",
        {{"supply_id", s.supply_id}, {"request_id", request_id}});
  Message(now, central::v1::NetworkMessage::SEVERITY_INFO, cp_id,
          absl::StrCat("supply authorised at ", cp_id, " for ", who), fx);
  Publish(cp, fx);
  d.supply = s;
  return d;
}

namespace {

// The request id marking an RFID walk-in's supply is central's own: a
// driver's request that carried it would have its authorisation taken by the
// charger for the answer to a card presented there.
bool PosesAsTagWalkIn(const std::string& request_id) {
  return absl::StartsWith(request_id, kTagWalkInPrefix);
}

std::string TagWalkInPrefixRefusal() {
  return absl::StrCat("request_id must not start with '", kTagWalkInPrefix,
                      "' (central marks RFID walk-ins with it): use another");
}

}  // namespace

ChargeDecision ChargingNetwork::AnswerChargeRequest(const events::v1::ChargeRequest& request,
                                                    const absl::StatusOr<Caller>& driver,
                                                    absl::Time now, Effects& fx) {
  ChargeDecision d;
  if (driver.ok() && PosesAsTagWalkIn(request.request_id())) {
    d.reason = common::v1::REJECT_REASON_INVALID_REQUEST;
    d.detail = TagWalkInPrefixRefusal();
  } else if (driver.ok()) {
    d = RequestCharge(request.cp_id(), *driver, request.request_id(), now, fx);
  } else {
    d.reason = common::v1::REJECT_REASON_UNAUTHENTICATED;
    d.detail = std::string(driver.status().message());
  }
  if (!d.accepted() && !request.driver_id().empty()) {
    fx.notices.push_back(RejectionNotice(request, d, now));
  }
  return d;
}

void ChargingNetwork::OnWalkIn(const std::string& cp_id, const events::v1::WalkInRequest& w,
                               absl::Time now, Effects& fx) {
  if (!w.id_tag().empty()) {
    return OnTagWalkIn(cp_id, w, absl::FailedPreconditionError("the tag was not looked up"), now, fx);
  }
  AnswerWalkIn(cp_id, w.request_id(),
               RequestCharge(cp_id, Caller::Anonymous(absl::StrCat("cp:", cp_id)), w.request_id(), now, fx),
               now, fx);
}

void ChargingNetwork::OnTagWalkIn(const std::string& cp_id, const events::v1::WalkInRequest& w,
                                  const absl::StatusOr<std::string>& tag_owner, absl::Time now,
                                  Effects& fx) {
  if (tag_owner.ok()) {
    // The request id marks the supply as a walk-in's (AuthorizeCommand);
    // the CP's own id keeps a redelivered request idempotent.
    const Caller driver = Caller::Driver(*tag_owner, absl::StrCat("cp:", cp_id, " id_tag"));
    return AnswerWalkIn(cp_id, w.request_id(),
                        RequestCharge(cp_id, driver, absl::StrCat(kTagWalkInPrefix, w.request_id()), now, fx),
                        now, fx);
  }
  ChargeDecision d;
  const bool unknown = absl::IsNotFound(tag_owner.status());
  d.reason = unknown ? common::v1::REJECT_REASON_UNKNOWN_DRIVER : common::v1::REJECT_REASON_UNSPECIFIED;
  d.detail = unknown ? absl::StrCat("RFID tag '", w.id_tag(), "' is not registered to any driver")
                     : absl::StrCat("RFID tag '", w.id_tag(), "' could not be checked (",
                                    tag_owner.status().message(), "): try again");
  Audit(fx, now, AuditCategory::kCharge, "charge_rejected", absl::StrCat("cp:", cp_id), cp_id, "REJECTED",
        {{"reason", RejectReasonText(d.reason)}, {"id_tag", w.id_tag()}, {"detail", d.detail}});
  AnswerWalkIn(cp_id, w.request_id(), d, now, fx);
}

void ChargingNetwork::AnswerWalkIn(const std::string& cp_id, const std::string& request_id,
                                   const ChargeDecision& d, absl::Time now, Effects& fx) {
  // Accepted: the authorisation answers the walk-in request (AuthorizeCommand).
  if (d.accepted()) return;
  events::v1::EngineCommand reject = Command(cp_id, now);
  auto* r = reject.mutable_walk_in_rejected();
  r->set_request_id(request_id);
  r->set_reason(d.reason);
  r->set_detail(d.detail);
  fx.commands.push_back(std::move(reject));
}

// ---- engine events ----

ChargingNetwork::ChargingPointRecord* ChargingNetwork::SupplyOwner(const std::string& cp_id,
                                                                   const std::string& supply_id) {
  auto it = cps_.find(cp_id);
  if (it == cps_.end() || !it->second.supply || it->second.supply->supply_id != supply_id) {
    return nullptr;
  }
  return &it->second;
}

void ChargingNetwork::OnEngineEvent(const events::v1::EngineEvent& event, absl::Time now,
                                    Effects& fx) {
  const std::string& cp_id = event.cp_id();
  if (event.has_walk_in()) return OnWalkIn(cp_id, event.walk_in(), now, fx);
  std::string supply_id = event.has_started()     ? event.started().supply_id()
                          : event.has_telemetry() ? event.telemetry().supply_id()
                          : event.has_completed() ? event.completed().supply_id()
                                                  : "";
  ChargingPointRecord* cp = SupplyOwner(cp_id, supply_id);
  if (cp == nullptr) {
    // Late or redelivered news of a supply that is already closed.
    if (event.has_telemetry() || event.has_completed()) ++counters_.telemetry_duplicates;
    ++counters_.engine_events_ignored;
    // The engine obeyed a stop central owed it.
    auto it = cps_.find(cp_id);
    if (event.has_completed() && it != cps_.end() && it->second.owed_stop &&
        it->second.owed_stop->supply_id() == supply_id) {
      it->second.owed_stop.reset();
    }
    return;
  }
  if (event.has_started()) {
    if (cp->supply->phase == common::v1::SUPPLY_PHASE_AUTHORIZED) {
      cp->supply_heard_at = now;
      cp->supply->phase = common::v1::SUPPLY_PHASE_CHARGING;
      cp->supply->started_at = EventTime(event, *cp->supply, now);
      cp->supply->meter_start_wh = std::max<int64_t>(0, event.started().meter_start_wh());
      fx.supplies_changed.push_back(*cp->supply);
      Message(now, central::v1::NetworkMessage::SEVERITY_INFO, cp_id,
              absl::StrCat("supply started at ", cp_id), fx);
      Audit(fx, now, AuditCategory::kCharge, "supply_started", cp_id, cp_id, "OK",
            {{"supply_id", supply_id}});
      Publish(*cp, fx);
    }
  } else if (event.has_telemetry()) {
    OnTelemetry(*cp, event.telemetry(), EventTime(event, *cp->supply, now), now, fx);
  } else if (event.has_completed()) {
    OnCompleted(*cp, event.completed(), EventTime(event, *cp->supply, now), fx);
  }
}

void ChargingNetwork::OnTelemetry(ChargingPointRecord& cp, const events::v1::Telemetry& t,
                                  absl::Time taken_at, absl::Time now, Effects& fx) {
  SupplyRecord& s = *cp.supply;
  if (t.seq() <= s.last_seq) {
    ++counters_.telemetry_duplicates;
    return;
  }
  if (t.energy_wh() < s.energy_wh || t.energy_wh() < 0 || t.power_w() < 0) {
    // Energy counters only grow; a smaller figure is corrupt, not news.
    ++counters_.engine_events_ignored;
    Audit(fx, now, AuditCategory::kError, "telemetry_rejected", cp.info.cp_id(), cp.info.cp_id(),
          "REJECTED", {{"supply_id", s.supply_id}, {"seq", t.seq()}, {"energy_wh", t.energy_wh()}});
    return;
  }
  ++counters_.telemetry_applied;
  cp.supply_heard_at = now;
  if (s.phase == common::v1::SUPPLY_PHASE_AUTHORIZED) {
    s.phase = common::v1::SUPPLY_PHASE_CHARGING;
    s.started_at = taken_at;
  }
  s.last_reading_at = taken_at;
  s.last_seq = t.seq();
  s.energy_wh = t.energy_wh();
  s.power_w = t.power_w();
  figures_pending_.insert(cp.info.cp_id());
}

void ChargingNetwork::EmitFigures(absl::Time now, Effects& fx) {
  for (const std::string& cp_id : figures_pending_) {
    auto it = cps_.find(cp_id);
    // A supply that ended in the same batch was already published with its ticket.
    if (it == cps_.end() || !it->second.supply) continue;
    const SupplyRecord& s = *it->second.supply;
    fx.supplies_changed.push_back(s);
    if (!s.driver_id.empty()) {
      events::v1::DriverNotification n = Notice(s, now);
      *n.mutable_reading() = ToProtoSupply(s);
      fx.readings.push_back(std::move(n));
    }
    Publish(it->second, fx);
  }
  figures_pending_.clear();
}

void ChargingNetwork::OnCompleted(ChargingPointRecord& cp, const events::v1::SupplyCompleted& c,
                                  absl::Time ended_at, Effects& fx) {
  SupplyRecord& s = *cp.supply;
  if (c.seq() >= s.last_seq && c.energy_wh() >= s.energy_wh) {
    s.last_seq = c.seq();
    s.energy_wh = c.energy_wh();
  }
  // A stop we asked for keeps its reason; otherwise the engine's (unplug).
  EndReason reason = s.phase == common::v1::SUPPLY_PHASE_STOPPING ? s.stop_reason : c.reason();
  if (reason == common::v1::END_REASON_UNSPECIFIED) reason = common::v1::END_REASON_UNPLUGGED;
  CloseSupply(cp, reason, ended_at, fx, false);
}

// ---- stopping ----

void ChargingNetwork::RequestStop(ChargingPointRecord& cp, EndReason reason, absl::Time now,
                                  Effects& fx) {
  SupplyRecord& s = *cp.supply;
  if (s.phase == common::v1::SUPPLY_PHASE_AUTHORIZED) {
    // Nothing flows yet: end it now, and tell the engine to stop waiting.
    CloseSupply(cp, reason, now, fx, true);
    return;
  }
  if (s.phase == common::v1::SUPPLY_PHASE_STOPPING) return;
  s.phase = common::v1::SUPPLY_PHASE_STOPPING;
  s.stop_reason = reason;
  s.stop_requested_at = now;
  fx.supplies_changed.push_back(s);
  SendCommand(cp, StopCommand(cp.info.cp_id(), StopOf(s), now), now, fx);
  Publish(cp, fx);
}

void ChargingNetwork::CloseSupply(ChargingPointRecord& cp, EndReason reason, absl::Time now,
                                  Effects& fx, bool tell_engine) {
  SupplyRecord s = *cp.supply;
  s.phase = common::v1::SUPPLY_PHASE_ENDED;
  common::v1::Ticket ticket;
  ticket.set_supply_id(s.supply_id);
  ticket.set_cp_id(s.cp_id);
  ticket.set_driver_id(s.driver_id);
  *ticket.mutable_started_at() =
      ToProto(s.started_at == absl::InfinitePast() ? s.authorized_at : s.started_at);
  *ticket.mutable_ended_at() = ToProto(now);
  ticket.set_energy_wh(s.energy_wh);
  ticket.set_amount_millieuros(AmountMillieuros(s.energy_wh, s.price_millieuros_per_kwh));
  ticket.set_price_millieuros_per_kwh(s.price_millieuros_per_kwh);
  ticket.set_end_reason(reason);
  fx.supplies_changed.push_back(s);
  fx.tickets.push_back(ticket);
  if (tell_engine) {
    events::v1::StopSupply stop;
    stop.set_supply_id(s.supply_id);
    stop.set_reason(reason);
    cp.owed_stop = stop;
    SendCommand(cp, StopCommand(cp.info.cp_id(), stop, now), now, fx);
  }
  cp.disagree_since = absl::InfiniteFuture();
  cp.report_asked_at = absl::InfinitePast();
  // The ticket reaches the driver through Effects::tickets (outbox).
  if (!s.driver_id.empty()) driver_supply_.erase(s.driver_id);
  supply_cp_.erase(s.supply_id);
  central::v1::NetworkUpdate update;
  *update.mutable_ticket() = ticket;
  fx.updates.push_back(std::move(update));
  const bool abnormal = reason == common::v1::END_REASON_ENGINE_FAULT ||
                        reason == common::v1::END_REASON_MONITOR_LOST ||
                        reason == common::v1::END_REASON_ENGINE_SILENT;
  Message(now, abnormal ? central::v1::NetworkMessage::SEVERITY_WARNING
                        : central::v1::NetworkMessage::SEVERITY_INFO,
          s.cp_id,
          absl::StrCat("supply at ", s.cp_id, " ended (", EndReasonText(reason), "): ",
                       s.energy_wh, " Wh, ", ticket.amount_millieuros(), " m€"),
          fx);
  Audit(fx, now, AuditCategory::kCharge, "supply_ended",
        s.driver_id.empty() ? "anonymous" : s.driver_id, s.cp_id, "OK",
        {{"supply_id", s.supply_id},
         {"reason", EndReasonText(reason)},
         {"energy_wh", s.energy_wh},
         {"amount_millieuros", ticket.amount_millieuros()}});
  cp.supply.reset();
  ReallocatePower(cp, now, fx);
  Publish(cp, fx);
}

ChargingNetwork::ChargingPointRecord* ChargingNetwork::SupplyHolder(const std::string& supply_id) {
  auto where = supply_cp_.find(supply_id);
  if (where == supply_cp_.end()) return nullptr;
  return SupplyOwner(where->second, supply_id);
}

absl::Status ChargingNetwork::AdmitDriver(const absl::StatusOr<Caller>& caller,
                                          const std::string& named_driver,
                                          const std::string& action, const std::string& cp_id,
                                          absl::Time now, Effects& fx) {
  absl::Status refusal = caller.ok() ? MayChargeAs(*caller, named_driver) : caller.status();
  if (refusal.ok()) return refusal;
  const std::string who =
      caller.ok() ? caller->name : (named_driver.empty() ? "anonymous" : named_driver);
  Audit(fx, now, AuditCategory::kSecurity, action + "_refused", who, cp_id, "REJECTED",
        {{"reason", std::string(refusal.message())}});
  return refusal;
}

absl::StatusOr<SupplyRecord> ChargingNetwork::DriverRequestsCharge(
    const absl::StatusOr<Caller>& caller, const std::string& named_driver,
    const std::string& cp_id, const std::string& request_id, absl::Time now, Effects& fx) {
  if (absl::Status s = AdmitDriver(caller, named_driver, "charge_request", cp_id, now, fx);
      !s.ok()) {
    return s;
  }
  if (PosesAsTagWalkIn(request_id)) return absl::InvalidArgumentError(TagWalkInPrefixRefusal());
  ChargeDecision decision = RequestCharge(cp_id, *caller, request_id, now, fx);
  if (!decision.accepted()) return decision.status();
  return *decision.supply;
}

absl::StatusOr<SupplyRecord> ChargingNetwork::DriverRequestsStop(
    const absl::StatusOr<Caller>& caller, const std::string& named_driver,
    const std::string& supply_id, absl::Time now, Effects& fx) {
  if (absl::Status s = AdmitDriver(caller, named_driver, "stop_request", "", now, fx); !s.ok()) {
    return s;
  }
  return DriverStop(supply_id, *caller, now, fx);
}

absl::StatusOr<SupplyRecord> ChargingNetwork::DriverStop(const std::string& supply_id,
                                                         const Caller& driver, absl::Time now,
                                                         Effects& fx) {
  const std::string& driver_id = driver.name;
  ChargingPointRecord* cp = SupplyHolder(supply_id);
  if (cp == nullptr) return absl::NotFoundError(absl::StrCat("no running supply ", supply_id));
  const std::string id = cp->info.cp_id();
  if (cp->supply->driver_id != driver_id) {
    Audit(fx, now, AuditCategory::kSecurity, "stop_denied", driver_id, id, "DENIED",
          {{"supply_id", supply_id}});
    return absl::PermissionDeniedError(
        absl::StrCat("supply ", supply_id, " does not belong to driver '", driver_id, "'"));
  }
  Audit(fx, now, AuditCategory::kCharge, "stop_requested", driver_id, id, "OK",
        {{"supply_id", supply_id}});
  RequestStop(*cp, common::v1::END_REASON_DRIVER_STOP, now, fx);
  if (cp->supply) return *cp->supply;
  SupplyRecord ended;
  ended.supply_id = supply_id;
  ended.cp_id = id;
  ended.driver_id = driver_id;
  ended.phase = common::v1::SUPPLY_PHASE_ENDED;
  return ended;
}

absl::StatusOr<std::vector<ChargingNetwork::ChargingPointRecord*>> ChargingNetwork::Targets(
    const std::string& cp_id) {
  std::vector<ChargingPointRecord*> out;
  if (cp_id.empty()) {
    for (auto& [id, cp] : cps_) out.push_back(&cp);
    std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
      return a->info.cp_id() < b->info.cp_id();
    });
    return out;
  }
  absl::StatusOr<ChargingPointRecord*> found = Find(cp_id);
  if (!found.ok()) return found.status();
  out.push_back(*found);
  return out;
}

absl::StatusOr<std::vector<std::string>> ChargingNetwork::ForEachTarget(
    const std::string& cp_id, const std::function<bool(ChargingPointRecord&)>& change) {
  auto targets = Targets(cp_id);
  if (!targets.ok()) return targets.status();
  std::vector<std::string> affected;
  for (ChargingPointRecord* cp : *targets) {
    if (change(*cp)) affected.push_back(cp->info.cp_id());
  }
  return affected;
}

bool ChargingNetwork::AddHold(ChargingPointRecord& cp, common::v1::HoldReason reason,
                              const std::string& detail, absl::Time now, Effects& fx) {
  if (!cp.holds.try_emplace(reason, ChargingPointRecord::Hold{detail, now}).second) return false;
  fx.holds_changed.push_back({cp.info.cp_id(), reason, true, detail, now});
  return true;
}

bool ChargingNetwork::LiftHold(ChargingPointRecord& cp, common::v1::HoldReason reason,
                               absl::Time now, Effects& fx) {
  if (cp.holds.erase(reason) == 0) return false;
  fx.holds_changed.push_back({cp.info.cp_id(), reason, false, "", now});
  return true;
}

std::string ChargingNetwork::OtherHolds(const ChargingPointRecord& cp,
                                        common::v1::HoldReason except) {
  std::string out;
  for (const auto& [reason, hold] : cp.holds) {
    if (reason != except) absl::StrAppend(&out, out.empty() ? "" : ", ", HoldReasonText(reason));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ChargingNetwork::OperatorStop(const std::string& cp_id,
                                                                       const Caller& actor,
                                                                       absl::Time now,
                                                                       Effects& fx) {
  return ForEachTarget(cp_id, [&](ChargingPointRecord& cp) {
    const std::string& id = cp.info.cp_id();
    if (!AddHold(cp, common::v1::HOLD_REASON_OPERATOR, "stopped by an operator", now, fx)) {
      return false;
    }
    Audit(fx, now, AuditCategory::kStatus, "operator_stop", actor.AuditName(), id, "OK");
    Message(now, central::v1::NetworkMessage::SEVERITY_WARNING, id,
            absl::StrCat("charging point ", id, " stopped by an operator"), fx);
    if (cp.supply) RequestStop(cp, common::v1::END_REASON_OPERATOR_STOP, now, fx);
    Publish(cp, fx);
    return true;
  });
}

absl::StatusOr<std::vector<std::string>> ChargingNetwork::OperatorResume(const std::string& cp_id,
                                                                         const Caller& actor,
                                                                         absl::Time now,
                                                                         Effects& fx) {
  return ForEachTarget(cp_id, [&](ChargingPointRecord& cp) {
    const std::string& id = cp.info.cp_id();
    if (!LiftHold(cp, common::v1::HOLD_REASON_OPERATOR, now, fx)) return false;
    Audit(fx, now, AuditCategory::kStatus, "operator_resume", actor.AuditName(), id, "OK");
    const std::string still = OtherHolds(cp, common::v1::HOLD_REASON_OPERATOR);
    Message(now, central::v1::NetworkMessage::SEVERITY_INFO, id,
            still.empty() ? absl::StrCat("charging point ", id, " resumed by an operator")
                          : absl::StrCat("operator hold of ", id, " lifted; still out of service: ",
                                         still),
            fx);
    Publish(cp, fx);
    return true;
  });
}

absl::Status ChargingNetwork::ValidateWeatherHolds(const std::map<std::string, std::string>& held) {
  // Enough for "<city> (<country>) <temperature> °C" and a reason; the detail
  // is shown on every dashboard and kept in the audit trail.
  constexpr size_t kMaxDetail = 300;
  for (const auto& [cp_id, detail] : held) {
    if (absl::Status s = ValidateCpId(cp_id); !s.ok()) return s;
    if (detail.size() > kMaxDetail) {
      return absl::InvalidArgumentError(
          absl::StrCat("weather detail of ", cp_id, " is longer than ", kMaxDetail, " bytes"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<WeatherHoldsResult> ChargingNetwork::ApplyWeatherHolds(
    const std::map<std::string, std::string>& held, const Caller& actor, absl::Time now,
    Effects& fx) {
  if (absl::Status s = ValidateWeatherHolds(held); !s.ok()) return s;
  WeatherHoldsResult result;
  for (const auto& [id, detail] : held) {
    if (!cps_.contains(id)) result.unknown.push_back(id);
  }
  const auto every_cp = Targets("");
  for (ChargingPointRecord* cp : *every_cp) {
    const std::string& id = cp->info.cp_id();
    auto wanted = held.find(id);
    if (wanted != held.end()) {
      if (!AddHold(*cp, common::v1::HOLD_REASON_WEATHER, wanted->second, now, fx)) continue;
      result.held.push_back(id);
      Audit(fx, now, AuditCategory::kStatus, "weather_hold", actor.AuditName(), id, "OUT_OF_SERVICE",
            {{"detail", wanted->second}});
      Message(now, central::v1::NetworkMessage::SEVERITY_WARNING, id,
              absl::StrCat("charging point ", id, ": ", wanted->second,
                           cp->supply ? "; out of service once its supply ends" : "; out of service"),
              fx);
    } else {
      if (!LiftHold(*cp, common::v1::HOLD_REASON_WEATHER, now, fx)) continue;
      result.released.push_back(id);
      const std::string still = OtherHolds(*cp, common::v1::HOLD_REASON_WEATHER);
      Audit(fx, now, AuditCategory::kStatus, "weather_clear", actor.AuditName(), id, "OK",
            {{"still_held", still}});
      Message(now, central::v1::NetworkMessage::SEVERITY_INFO, id,
              still.empty() ? absl::StrCat("weather alert at ", id, " cleared")
                            : absl::StrCat("weather alert at ", id,
                                           " cleared; still out of service: ", still),
              fx);
    }
    Publish(*cp, fx);
  }
  return result;
}

// ---- time ----

void ChargingNetwork::Reconfigure(const NetworkConfig& config, const Caller& actor, absl::Time now,
                                  Effects& fx) {
  nlohmann::json changed = nlohmann::json::object();
  for (const auto& [name, change] : ConfigChanges(config_, config)) changed[name] = change;
  RestoreConfig(config);
  Audit(fx, now, AuditCategory::kSystem, "config_changed", actor.AuditName(), "", "OK",
        {{"changed", std::move(changed)}});
}

void ChargingNetwork::Tick(absl::Time now, Effects& fx, int parts) {
  const size_t n = tick_order_.size();
  const size_t count = parts <= 1 ? n : (n + static_cast<size_t>(parts) - 1) / static_cast<size_t>(parts);
  for (size_t checked = 0; checked < count; ++checked) {
    if (tick_next_ >= n) tick_next_ = 0;
    TickOne(*tick_order_[tick_next_++], now, fx);
  }
  UpdateQueues(now, fx);
}

void ChargingNetwork::TickOne(ChargingPointRecord& cp, absl::Time now, Effects& fx) {
  const std::string& id = cp.info.cp_id();
  if (cp.linked && now - cp.last_health > config_.link_timeout) {
    cp.linked = false;
    cp.orphan_deadline = std::max(now, cp.reconnect_by);
    Message(now, central::v1::NetworkMessage::SEVERITY_ERROR, id,
            absl::StrCat("charging point ", id, " DISCONNECTED: no health report for ",
                         absl::FormatDuration(now - cp.last_health)),
            fx);
    Audit(fx, now, AuditCategory::kIncident, "monitor_lost", id, id, "DISCONNECTED");
    Publish(cp, fx);
  }
  ResendOwedCommand(cp, now, fx);
  if (!cp.supply) return;
  const SupplyRecord& s = *cp.supply;
  if (!cp.linked && now >= cp.orphan_deadline) {
    CloseSupply(cp, common::v1::END_REASON_MONITOR_LOST, now, fx, true);
  } else if (s.phase == common::v1::SUPPLY_PHASE_AUTHORIZED &&
             now - s.authorized_at > config_.plug_timeout) {
    CloseSupply(cp, common::v1::END_REASON_PLUG_TIMEOUT, now, fx, true);
  } else if (s.phase == common::v1::SUPPLY_PHASE_STOPPING &&
             now - s.stop_requested_at > config_.stop_timeout) {
    CloseSupply(cp, common::v1::END_REASON_ENGINE_SILENT, now, fx, false);
  } else {
    CheckSilence(cp, now, fx);
  }
}

// ---- reconciliation: central's record against what the CP reports ----

std::optional<events::v1::EngineCommand> ChargingNetwork::OwedCommand(
    const ChargingPointRecord& cp, absl::Time now) const {
  const std::string& cp_id = cp.info.cp_id();
  // A supply central closed goes first: the engine takes no other while it runs it.
  if (cp.owed_stop && cp.engine_supply == cp.owed_stop->supply_id()) {
    return StopCommand(cp_id, *cp.owed_stop, now);
  }
  if (cp.supply) {
    const SupplyRecord& s = *cp.supply;
    if (s.phase == common::v1::SUPPLY_PHASE_STOPPING) return StopCommand(cp_id, StopOf(s), now);
    // Acted on once the engine reports it running (or its start arrives).
    if (s.phase == common::v1::SUPPLY_PHASE_AUTHORIZED && cp.engine_supply != s.supply_id) {
      return AuthorizeCommand(s, now);
    }
  }
  return std::nullopt;
}

void ChargingNetwork::ResendOwedCommand(ChargingPointRecord& cp, absl::Time now, Effects& fx) {
  if (!cp.linked || now - cp.last_command_at < config_.command_resend_interval) return;
  std::optional<events::v1::EngineCommand> owed = OwedCommand(cp, now);
  if (!owed) return;
  ++counters_.commands_resent;
  SendCommand(cp, std::move(*owed), now, fx);
}

void ChargingNetwork::Reconcile(ChargingPointRecord& cp, absl::Time now, Effects& fx) {
  if (!cp.engine_ok || !cp.engine_supply) {
    cp.disagree_since = absl::InfiniteFuture();
    return;
  }
  const std::string& running = *cp.engine_supply;
  // Every CP reports every second: compared in place, not copied.
  const absl::string_view ours = cp.supply ? absl::string_view(cp.supply->supply_id) : "";
  const bool owed = cp.owed_stop && running == cp.owed_stop->supply_id();
  // An authorisation not yet taken up, or a stop not yet obeyed, is the
  // outbox's business, not a disagreement.
  const bool waiting_for_engine =
      running.empty() && cp.supply && cp.supply->phase == common::v1::SUPPLY_PHASE_AUTHORIZED;
  if (running == ours || owed || waiting_for_engine) {
    cp.disagree_since = absl::InfiniteFuture();
    return;
  }
  if (cp.disagree_since == absl::InfiniteFuture()) cp.disagree_since = now;
  if (now - cp.disagree_since < config_.reconcile_grace) return;
  cp.disagree_since = absl::InfiniteFuture();
  const std::string& id = cp.info.cp_id();
  if (cp.supply && cp.supply->phase != common::v1::SUPPLY_PHASE_AUTHORIZED) {
    ++counters_.supplies_reconciled;
    Audit(fx, now, AuditCategory::kIncident, "supply_lost_at_cp", id, id, "CLOSED",
          {{"supply_id", std::string(ours)}, {"cp_runs", running}});
    // A stop the engine carried out keeps its reason; its report of the end was lost.
    const bool stopped = cp.supply->phase == common::v1::SUPPLY_PHASE_STOPPING;
    CloseSupply(cp, stopped ? cp.supply->stop_reason : common::v1::END_REASON_CP_LOST_SUPPLY, now,
                fx, false);
  }
  if (running.empty()) return;
  ++counters_.supplies_reconciled;
  events::v1::StopSupply stop;
  stop.set_supply_id(running);
  stop.set_reason(common::v1::END_REASON_UNKNOWN_SUPPLY);
  cp.owed_stop = stop;
  SendCommand(cp, StopCommand(id, stop, now), now, fx);
  Audit(fx, now, AuditCategory::kIncident, "unknown_supply_stopped", "central", id, "STOPPED",
        {{"supply_id", running}});
  Message(now, central::v1::NetworkMessage::SEVERITY_WARNING, id,
          absl::StrCat("charging point ", id, " ran supply ", running,
                       " that central has no record of: stopped"),
          fx);
}

void ChargingNetwork::CheckSilence(ChargingPointRecord& cp, absl::Time now, Effects& fx) {
  if (!cp.supply || cp.supply->phase != common::v1::SUPPLY_PHASE_CHARGING) return;
  const absl::Duration quiet = now - cp.supply_heard_at;
  if (quiet <= config_.telemetry_timeout) return;
  const std::string& id = cp.info.cp_id();
  if (quiet > 2 * config_.telemetry_timeout) {
    Audit(fx, now, AuditCategory::kIncident, "supply_silent", id, id, "CLOSED",
          {{"supply_id", cp.supply->supply_id}, {"silent_for", absl::FormatDuration(quiet)}});
    return CloseSupply(cp, common::v1::END_REASON_ENGINE_SILENT, now, fx, true);
  }
  if (now - cp.report_asked_at <= config_.telemetry_timeout) return;
  AskForReport(cp, now, fx);
}

void ChargingNetwork::AskForReport(ChargingPointRecord& cp, absl::Time now, Effects& fx) {
  const SupplyRecord& s = *cp.supply;
  cp.report_asked_at = now;
  events::v1::EngineCommand ask = Command(cp.info.cp_id(), now);
  auto* r = ask.mutable_report_supply();
  r->set_supply_id(s.supply_id);
  // What a CP side that lost the supply needs to take it up again.
  r->set_driver_id(s.driver_id);
  r->set_price_millieuros_per_kwh(s.price_millieuros_per_kwh);
  r->set_meter_start_wh(s.meter_start_wh);
  r->set_energy_wh(s.energy_wh);
  r->set_seq(s.last_seq);
  r->set_power_limit_w(s.power_limit_w);
  SendCommand(cp, std::move(ask), now, fx);
}

void ChargingNetwork::RestoreSupply(const SupplyRecord& supply, absl::Time now, Effects& fx) {
  auto it = cps_.find(supply.cp_id);
  if (it == cps_.end()) {
    // Its CP was removed while central was down: close with what we know.
    ChargingPointRecord ghost;
    ghost.info.set_cp_id(supply.cp_id);
    ghost.supply = supply;
    CloseSupply(ghost, common::v1::END_REASON_CP_REMOVED, now, fx, true);
    fx.updates.clear();
    return;
  }
  ChargingPointRecord& cp = it->second;
  cp.supply = supply;
  cp.supply_heard_at = now;
  if (supply.phase == common::v1::SUPPLY_PHASE_STOPPING) cp.supply->stop_requested_at = now;
  cp.orphan_deadline = now + config_.restart_grace;
  supply_cp_[supply.supply_id] = supply.cp_id;
  if (!supply.driver_id.empty()) driver_supply_[supply.driver_id] = supply.supply_id;
  Publish(cp, fx);
}

void ChargingNetwork::ExpectReconnect(const std::string& cp_id, absl::Time now) {
  auto it = cps_.find(cp_id);
  if (it != cps_.end()) it->second.reconnect_by = now + config_.restart_grace;
}

void ChargingNetwork::RestoreHold(const HoldChange& hold) {
  auto it = cps_.find(hold.cp_id);
  if (it == cps_.end() || !hold.held) return;
  it->second.holds[hold.reason] = {hold.detail, hold.since};
}

// ---- views ----

std::optional<central::v1::ChargingPointStatus> ChargingNetwork::Status(
    const std::string& cp_id) const {
  auto it = cps_.find(cp_id);
  if (it == cps_.end()) return std::nullopt;
  return StatusOf(it->second);
}

std::vector<central::v1::ChargingPointStatus> ChargingNetwork::Snapshot() const {
  std::vector<const ChargingPointRecord*> sorted;
  sorted.reserve(cps_.size());
  for (const auto& [id, cp] : cps_) sorted.push_back(&cp);
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
    return a->info.cp_id() < b->info.cp_id();
  });
  std::vector<central::v1::ChargingPointStatus> out;
  out.reserve(sorted.size());
  for (const ChargingPointRecord* cp : sorted) out.push_back(StatusOf(*cp));
  return out;
}

std::optional<SupplyRecord> ChargingNetwork::FindSupply(const std::string& supply_id) const {
  auto where = supply_cp_.find(supply_id);
  if (where == supply_cp_.end()) return std::nullopt;
  auto it = cps_.find(where->second);
  if (it == cps_.end() || !it->second.supply || it->second.supply->supply_id != supply_id) {
    return std::nullopt;
  }
  return it->second.supply;
}

std::map<CpState, int> ChargingNetwork::CountByState() const {
  std::map<CpState, int> out;
  for (const auto& [id, cp] : cps_) ++out[DeriveState(cp)];
  return out;
}

}  // namespace evc::central
