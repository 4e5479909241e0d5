#include "services/ocpp/charger.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/crypto.h"
#include "services/common/log.h"
#include "services/common/price.h"
#include "services/common/proto_time.h"
#include "services/common/validation.h"

namespace evc::ocpp {
namespace {

using nlohmann::json;

std::string Now() { return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()); }

// StopTransaction.req's reason (OCPP 1.6 section 7.43) as the ticket's end
// reason; absent means Local.
common::v1::EndReason EndReasonFor(const std::string& reason) {
  if (reason == "Remote") return common::v1::END_REASON_DRIVER_STOP;
  if (reason == "DeAuthorized") return common::v1::END_REASON_OPERATOR_STOP;
  if (reason == "EmergencyStop" || reason == "HardReset" || reason == "SoftReset" || reason == "PowerLoss" ||
      reason == "Reboot" || reason == "UnlockCommand") {
    return common::v1::END_REASON_ENGINE_FAULT;
  }
  return common::v1::END_REASON_UNPLUGGED;  // EVDisconnected, Local, Other
}

// The largest meter register (Wh) or power (W) taken from a charger: 1 TWh
// is beyond any charger's life, and it keeps every difference, int64 cast and
// amount (at the highest price) far from overflow. Larger is a broken or
// hostile meter, and is not billed.
constexpr int64_t kMaxReading = 1'000'000'000'000;

bool Plausible(int64_t wh) { return wh >= 0 && wh <= kMaxReading; }

// A sampled value in Wh or W whatever unit the charger used; nullopt if it is
// not a number or not plausible.
std::optional<double> Reading(const json& sample) {
  double value;
  if (!absl::SimpleAtod(sample["value"].get<std::string>(), &value) || !std::isfinite(value)) return std::nullopt;
  const std::string unit = sample.value("unit", std::string());
  if (unit == "kWh" || unit == "kW") value *= 1000;
  if (!(value >= 0 && value <= static_cast<double>(kMaxReading))) return std::nullopt;
  return value;
}

}  // namespace

int32_t TransactionIdFor(const std::string& supply_id) {
  uint32_t h = 2166136261u;
  for (unsigned char c : supply_id) {
    h ^= c;
    h *= 16777619u;
  }
  const int32_t id = static_cast<int32_t>(h & 0x7fffffff);
  return id == 0 ? 1 : id;
}

std::string IdTagFor(const std::string& supply_id) { return supply_id.substr(0, 20); }

namespace {

// OCPP compares idTags case-insensitively (IdToken is a CiString20).
bool SameIdTag(const std::string& a, const std::string& b) { return absl::EqualsIgnoreCase(a, b); }

// A payload's transactionId, if it is one this gateway could have given.
std::optional<int32_t> TransactionIdOf(const json& payload) {
  const int64_t id = payload["transactionId"].get<int64_t>();
  if (id <= 0 || id > std::numeric_limits<int32_t>::max()) return std::nullopt;
  return static_cast<int32_t>(id);
}

json IdTagInfo(const char* status) { return json{{"idTagInfo", {{"status", status}}}}; }

// Why central refused a charge, as OCPP 1.6's AuthorizationStatus.
const char* AuthorizationStatusFor(common::v1::RejectReason reason) {
  if (reason == common::v1::REJECT_REASON_DRIVER_ALREADY_CHARGING) return "ConcurrentTx";
  return "Invalid";  // an unknown tag, or a CP that cannot charge now
}

}  // namespace

OcppCharger::OcppCharger(std::string cp_id, cp::EngineOutput& out, ChargerOptions options)
    : cp_id_(std::move(cp_id)), out_(out), options_(options),
      discovery_deadline_(absl::Now() + options.supply_discovery) {}

bool OcppCharger::connected() const {
  absl::MutexLock lock(&mu_);
  return link_ != nullptr;
}

void OcppCharger::Connected(std::shared_ptr<ChargerLink> link) {
  std::shared_ptr<ChargerLink> old;
  {
    absl::MutexLock lock(&mu_);
    old = std::exchange(link_, std::move(link));
  }
  // One connection per charger: the newest (a reconnect the old one has not
  // noticed yet) wins, and keeps the transaction state.
  if (old != nullptr) old->Close("replaced by a newer connection of this charger");
}

void OcppCharger::Disconnected(const ChargerLink& link) {
  absl::MutexLock lock(&mu_);
  if (link_.get() == &link) link_.reset();
}

bool OcppCharger::busy() const {
  absl::MutexLock lock(&mu_);
  // A stop waiting for central's report too: a charger that leaves again
  // before it comes must not be forgotten with it (the ticket would lack its
  // energy).
  return transaction_.has_value() || pending_.has_value() || local_auth_.has_value() || orphan_stop_.has_value();
}

absl::Status OcppCharger::Activate(const cp::v1::ActivateRequest& request) {
  if (request.cp_id() != cp_id_) return absl::InvalidArgumentError("activation for another CP");
  absl::MutexLock lock(&mu_);
  return channel_.Activate(request).status();
}

absl::StatusOr<cp::v1::CheckResponse> OcppCharger::Check() {
  absl::MutexLock lock(&mu_);
  cp::v1::CheckResponse r;
  r.set_activated(channel_.activated());
  r.set_key_id(channel_.key_id());
  if (link_ == nullptr) {
    r.set_ok(false);
    r.set_detail("charger disconnected from the OCPP gateway");
  } else if (faulted_) {
    r.set_ok(false);
    r.set_detail(absl::StrCat("charger reports Faulted", fault_detail_.empty() ? "" : ": ", fault_detail_));
  } else {
    r.set_ok(true);
  }
  if (transaction_) {
    r.set_supply_id(transaction_->supply.supply_id);
  } else if (pending_) {
    r.set_supply_id(pending_->supply_id);
  } else if (!supply_known_) {
    r.set_supply_unknown(true);
  }
  return r;
}

void OcppCharger::Emit(const events::v1::EngineEvent& event, absl::Time now) {
  absl::StatusOr<events::v1::SealedEnvelope> sealed = channel_.Seal(event, now);
  if (!sealed.ok()) {
    log::Warn("engine event not sealed", {{"cp_id", cp_id_}, {"error", sealed.status().ToString()}});
    return;
  }
  out_.Send(event, *sealed);
}

void OcppCharger::CallCharger(const std::string& action, json payload, std::shared_ptr<std::atomic<bool>> lost) {
  std::shared_ptr<ChargerLink> link;
  {
    absl::MutexLock lock(&mu_);
    link = link_;
  }
  if (link == nullptr) {
    log::Warn("charger not connected: CALL not sent", {{"cp_id", cp_id_}, {"action", action}});
    if (lost != nullptr) lost->store(true);
    return;
  }
  link->Call(action, std::move(payload), [cp = cp_id_, action, lost](absl::StatusOr<json> result) {
    if (!result.ok() && lost != nullptr &&
        (absl::IsUnavailable(result.status()) || absl::IsDeadlineExceeded(result.status()) ||
         absl::IsResourceExhausted(result.status()))) {
      lost->store(true);
    }
    if (!result.ok()) {
      log::Warn("charger refused or missed a CALL", {{"cp_id", cp}, {"action", action}, {"error", result.status().ToString()}});
    } else if (const std::string status = result->value("status", std::string("Accepted"));
               status != "Accepted" && status != "Scheduled") {
      log::Warn("charger rejected a CALL", {{"cp_id", cp}, {"action", action}, {"status", (*result)["status"].get<std::string>()}});
    }
  });
}

absl::Status OcppCharger::OnSealedCommand(absl::string_view wire, absl::Time now) {
  return channel_.OpenThenAct(mu_, wire, now, [&](const events::v1::EngineCommand& c) { OnCommand(c, now); });
}

void OcppCharger::EmitNotStarted(const std::string& supply_id, common::v1::EndReason reason, absl::Time now) {
  events::v1::EngineEvent e = channel_.NewEvent(now);
  auto* c = e.mutable_completed();
  c->set_supply_id(supply_id);
  c->set_seq(1);
  c->set_energy_wh(0);
  c->set_reason(reason);
  Emit(e, now);
}

std::optional<std::pair<Reply, json>> OcppCharger::AnswerLocalAuthorisation(
    const events::v1::EngineCommand& command, absl::Time now) {
  const std::string& request_id = command.has_authorize() ? command.authorize().walk_in_request_id()
                                                          : command.walk_in_rejected().request_id();
  if (!local_auth_ || local_auth_->request_id != request_id) return std::nullopt;
  LocalAuthorisation waiting = *std::move(local_auth_);
  local_auth_.reset();
  if (command.has_authorize()) {
    const auto& a = command.authorize();
    pending_ = Authorisation{a.supply_id(), a.driver_id(), a.price_millieuros_per_kwh(), waiting.id_tag};
    log::Info("RFID tag accepted", {{"cp_id", cp_id_}, {"supply_id", a.supply_id()}});
    return std::make_pair(std::move(waiting.reply), IdTagInfo("Accepted"));
  }
  const auto& r = command.walk_in_rejected();
  log::Info("RFID tag refused by central", {{"cp_id", cp_id_}, {"detail", r.detail()}});
  return std::make_pair(std::move(waiting.reply), IdTagInfo(AuthorizationStatusFor(r.reason())));
}

void OcppCharger::OnCommand(const events::v1::EngineCommand& command, absl::Time now) {
  std::optional<std::pair<std::string, json>> call;
  std::optional<std::pair<Reply, json>> answer;
  {
    absl::MutexLock lock(&mu_);
    if (std::string why; !channel_.Admit(command, now, options_.command_max_age, &why)) {
      if (!why.empty()) log::Info(why, {{"cp_id", cp_id_}});
      return;
    }
    if (command.has_authorize()) {
      const auto& a = command.authorize();
      if (absl::Status s = ValidateSupplyId(a.supply_id()); !s.ok()) return;
      if (absl::Status s = ValidatePriceMillieurosPerKwh(a.price_millieuros_per_kwh()); !s.ok()) return;
      if (transaction_ || faulted_ || link_ == nullptr) {
        log::Warn("authorisation not forwarded: charger busy, faulted or offline",
                  {{"cp_id", cp_id_}, {"supply_id", a.supply_id()}});
        return;
      }
      if (pending_ && pending_->supply_id == a.supply_id()) return;  // offered again
      if (a.walk_in_request_id().empty()) {
        pending_ = Authorisation{a.supply_id(), a.driver_id(), a.price_millieuros_per_kwh(), IdTagFor(a.supply_id())};
        call.emplace("RemoteStartTransaction", json{{"connectorId", 1}, {"idTag", pending_->id_tag}});
      } else if (answer = AnswerLocalAuthorisation(command, now); !answer) {
        // The Authorize it answers was refused meanwhile (timeout): nobody
        // will plug in, so central's record ends now rather than at its
        // plug timeout.
        log::Info("late authorisation of an RFID tag released", {{"cp_id", cp_id_}, {"supply_id", a.supply_id()}});
        EmitNotStarted(a.supply_id(), common::v1::END_REASON_PLUG_TIMEOUT, now);
      }
    } else if (command.has_walk_in_rejected()) {
      answer = AnswerLocalAuthorisation(command, now);
    } else if (command.has_stop()) {
      if (transaction_ && transaction_->supply.supply_id == command.stop().supply_id()) {
        transaction_->stop_reason = command.stop().reason();
        call.emplace("RemoteStopTransaction", json{{"transactionId", transaction_->transaction_id}});
      } else if (pending_ && pending_->supply_id == command.stop().supply_id()) {
        // Not started yet: nothing runs at the charger; central's record ends.
        EmitNotStarted(pending_->supply_id, command.stop().reason(), now);
        pending_.reset();
      }
    } else if (command.has_report_supply()) {
      if (transaction_ && transaction_->supply.supply_id == command.report_supply().supply_id()) {
        call.emplace("TriggerMessage", json{{"requestedMessage", "MeterValues"}, {"connectorId", 1}});
      } else if (!transaction_ && !pending_) {
        call = OnReportedSupply(command.report_supply(), now);
      }
    }
  }
  if (call) CallCharger(call->first, std::move(call->second));
  if (answer) answer->first(std::move(answer->second));
}

void OcppCharger::CentralState(common::v1::CpState state) {
  absl::MutexLock lock(&mu_);
  if (state == common::v1::CP_STATE_OUT_OF_SERVICE) {
    operative_wanted_ = false;
  } else if (state == common::v1::CP_STATE_ACTIVE || state == common::v1::CP_STATE_SUPPLYING) {
    operative_wanted_ = true;
  }
  // FAULTED is the charger's own report; DISCONNECTED has no link to tell.
}

bool OcppCharger::Adopt(int32_t transaction_id) {
  if (transaction_ || pending_ || !reported_ || TransactionIdFor(reported_->supply_id()) != transaction_id) {
    return false;
  }
  Transaction t;
  t.supply = Authorisation{reported_->supply_id(), reported_->driver_id(), reported_->price_millieuros_per_kwh(),
                           IdTagFor(reported_->supply_id())};
  t.transaction_id = transaction_id;
  t.meter_start_wh = reported_->meter_start_wh();
  t.energy_wh = reported_->energy_wh();
  t.seq = reported_->seq();
  transaction_ = std::move(t);
  reported_.reset();
  orphan_transaction_.reset();
  supply_known_ = true;
  log::Info("transaction taken up again after a gap", {{"cp_id", cp_id_},
                                                        {"supply_id", transaction_->supply.supply_id},
                                                        {"transaction_id", transaction_id}});
  return true;
}

std::optional<std::pair<std::string, json>> OcppCharger::OnReportedSupply(const events::v1::ReportSupply& report,
                                                                         absl::Time now) {
  reported_ = report;
  if (orphan_stop_ && Adopt(orphan_stop_->transaction_id)) {
    // It ended while this gateway did not know it: its ticket, now.
    const OrphanStop stop = *std::move(orphan_stop_);
    orphan_stop_.reset();
    EmitCompleted(stop.meter_stop_wh, EndReasonFor(stop.reason), now);
    return std::nullopt;
  }
  if (orphan_transaction_ && Adopt(*orphan_transaction_)) {
    // A fresh reading rather than waiting for the charger's next one.
    return std::make_pair(std::string("TriggerMessage"), json{{"requestedMessage", "MeterValues"}, {"connectorId", 1}});
  }
  return std::nullopt;
}

void OcppCharger::Tick(absl::Time now) {
  Reply expired;
  std::optional<bool> operative;
  {
    absl::MutexLock lock(&mu_);
    if (!supply_known_ && now >= discovery_deadline_) {
      supply_known_ = true;
      log::Info("no transaction shown by the charger: it runs none", {{"cp_id", cp_id_}});
    }
    if (orphan_stop_ && now >= orphan_stop_->expires) {
      log::Info("StopTransaction no supply of central's matched: dropped",
                {{"cp_id", cp_id_}, {"transaction_id", orphan_stop_->transaction_id}});
      orphan_stop_.reset();
    }
    if (local_auth_ && now >= local_auth_->deadline) {
      log::Warn("RFID tag not answered by central in time: refused", {{"cp_id", cp_id_}});
      expired = std::move(local_auth_->reply);
      local_auth_.reset();
    }
    // Not before the charger booted: OCPP 1.6 forbids the central system's
    // CALLs until its BootNotification is accepted.
    if (availability_lost_->exchange(false)) operative_sent_.reset();
    if (booted_ && link_ != nullptr && operative_wanted_ && operative_wanted_ != operative_sent_) {
      operative = operative_sent_ = operative_wanted_;
    }
  }
  if (expired) expired(IdTagInfo("Invalid"));
  if (operative) {
    log::Info("availability sent", {{"cp_id", cp_id_}, {"operative", *operative}});
    // Connector 0: the whole charger. During a transaction it answers Scheduled.
    CallCharger("ChangeAvailability", json{{"connectorId", 0}, {"type", *operative ? "Operative" : "Inoperative"}},
                availability_lost_);
  }
}

bool OcppCharger::OnCallLater(const std::string& action, const json& payload, Reply& reply) {
  if (action != "Authorize") return false;
  const std::string tag = payload["idTag"].get<std::string>();
  const absl::Time now = absl::Now();
  std::optional<json> at_once;
  {
    absl::MutexLock lock(&mu_);
    booted_ = true;  // as for OnCall's messages
    if (transaction_ && SameIdTag(transaction_->supply.id_tag, tag)) {
      at_once = IdTagInfo("Accepted");  // the tag that started it, presented to stop it
    } else if (!transaction_ && pending_ && SameIdTag(pending_->id_tag, tag)) {
      // Central authorised this card here already; the charger missed that
      // answer (it timed out, or reconnected) and asks again.
      at_once = IdTagInfo("Accepted");
    } else if (local_auth_ && SameIdTag(local_auth_->id_tag, tag)) {
      // The same card again while central decides (the charger gave up on
      // its first Authorize): central's answer goes to this one. The first
      // is left unanswered: the charger no longer waits for it.
      local_auth_->reply = std::move(reply);
      local_auth_->deadline = now + options_.authorize_timeout;
    } else if (!channel_.activated() || faulted_ || transaction_ || pending_ || local_auth_) {
      log::Info("RFID tag refused: the charger is busy, faulted or not yet linked to central", {{"cp_id", cp_id_}});
      at_once = IdTagInfo(transaction_ || pending_ ? "ConcurrentTx" : "Invalid");
    } else {
      // Central decides, under the rules of any charge request: a walk-in
      // with the tag, answered by an authorisation or a refusal.
      local_auth_ = LocalAuthorisation{crypto::RandomId(), tag, std::move(reply), now + options_.authorize_timeout};
      events::v1::EngineEvent e = channel_.NewEvent(now);
      e.mutable_walk_in()->set_request_id(local_auth_->request_id);
      e.mutable_walk_in()->set_id_tag(tag);
      Emit(e, now);
    }
  }
  if (at_once) reply(*std::move(at_once));
  return true;
}

std::variant<json, RpcError> OcppCharger::OnCall(const std::string& action, const json& payload) {
  const absl::Time now = absl::Now();
  if (action == "BootNotification") return Boot();
  {
    // A charger sends nothing else before its boot is accepted (OCPP 1.6
    // section 4.2), and one that reconnects without rebooting (after a
    // gateway restart) does not boot again: it has booted.
    absl::MutexLock lock(&mu_);
    booted_ = true;
  }
  if (action == "Heartbeat") return json{{"currentTime", Now()}};
  if (action == "StatusNotification") return StatusNotification(payload);
  if (action == "StartTransaction") return StartTransaction(payload, now);
  if (action == "MeterValues") return MeterValues(payload, now);
  if (action == "StopTransaction") return StopTransaction(payload, now);
  if (action == "DataTransfer") return json{{"status", "UnknownVendorId"}};
  if (action == "DiagnosticsStatusNotification" || action == "FirmwareStatusNotification") return json::object();
  return RpcError{errc::kNotSupported,
                  absl::StrCat(action, " is not supported by this central system (see README, OCPP gateway)")};
}

json OcppCharger::Boot() {
  {
    absl::MutexLock lock(&mu_);
    booted_ = true;
    // A charger that boots runs no transaction (one it ran ends with a
    // StopTransaction, which central's report still matches).
    supply_known_ = true;
  }
  log::Info("charger booted", {{"cp_id", cp_id_}});
  return json{{"status", "Accepted"}, {"currentTime", Now()}, {"interval", options_.heartbeat_interval_s}};
}

json OcppCharger::StatusNotification(const json& payload) {
  const std::string status = payload["status"].get<std::string>();
  absl::MutexLock lock(&mu_);
  const bool was = faulted_;
  faulted_ = status == "Faulted";
  // These say no transaction runs; Charging, Suspended*, Finishing do not.
  if (status == "Available" || status == "Preparing" || status == "Unavailable" || status == "Faulted" ||
      status == "Reserved") {
    supply_known_ = true;
  }
  fault_detail_ = faulted_ ? payload["errorCode"].get<std::string>() : "";
  if (faulted_ != was) log::Info(faulted_ ? "charger Faulted" : "charger recovered", {{"cp_id", cp_id_}, {"status", status}});
  return json::object();
}

json OcppCharger::StartTransaction(const json& payload, absl::Time now) {
  const std::string id_tag = payload["idTag"].get<std::string>();
  absl::MutexLock lock(&mu_);
  if (transaction_ && SameIdTag(transaction_->supply.id_tag, id_tag)) {
    // The charger sent it again (our answer was lost): same transaction.
    return json{{"transactionId", transaction_->transaction_id}, {"idTagInfo", {{"status", "Accepted"}}}};
  }
  if (!pending_ || !SameIdTag(pending_->id_tag, id_tag) || transaction_) {
    log::Warn("StartTransaction without an authorisation refused", {{"cp_id", cp_id_}});
    return json{{"transactionId", 0}, {"idTagInfo", {{"status", transaction_ ? "ConcurrentTx" : "Invalid"}}}};
  }
  Transaction t;
  t.supply = *pending_;
  pending_.reset();
  t.transaction_id = TransactionIdFor(t.supply.supply_id);
  // Central keeps it (a gateway that restarts bills the rest from it), so
  // both count from the same plausible value.
  t.meter_start_wh = std::clamp<int64_t>(payload["meterStart"].get<int64_t>(), 0, kMaxReading);
  transaction_ = t;
  supply_known_ = true;
  events::v1::EngineEvent e = channel_.NewEvent(now);
  e.mutable_started()->set_supply_id(t.supply.supply_id);
  e.mutable_started()->set_meter_start_wh(t.meter_start_wh);
  Emit(e, now);
  return json{{"transactionId", t.transaction_id}, {"idTagInfo", {{"status", "Accepted"}}}};
}

json OcppCharger::MeterValues(const json& payload, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (!payload.contains("transactionId")) return json::object();  // outside a transaction: nothing to bill
  const std::optional<int32_t> tx = TransactionIdOf(payload);
  if (!transaction_ && tx && !Adopt(*tx)) {
    // A transaction this gateway does not know (it restarted): central's
    // report names the supply; until then the reading waits for the next.
    // Still unknown to central meanwhile: it must not close the supply first.
    orphan_transaction_ = tx;
    return json::object();
  }
  if (!transaction_ || tx != transaction_->transaction_id) return json::object();
  std::optional<double> register_wh;
  std::optional<double> power_w;
  for (const json& mv : payload["meterValue"]) {
    for (const json& sample : mv["sampledValue"]) {
      // Energy.Active.Import.Register is the default measurand.
      const std::string measurand = sample.value("measurand", std::string("Energy.Active.Import.Register"));
      if (measurand == "Energy.Active.Import.Register") register_wh = Reading(sample);
      if (measurand == "Power.Active.Import") power_w = Reading(sample);
    }
  }
  if (!register_wh) return json::object();
  const int64_t wh = std::max<int64_t>(0, static_cast<int64_t>(std::floor(*register_wh)) - transaction_->meter_start_wh);
  transaction_->energy_wh = std::max(transaction_->energy_wh, wh);
  events::v1::EngineEvent e = channel_.NewEvent(now);
  auto* t = e.mutable_telemetry();
  t->set_supply_id(transaction_->supply.supply_id);
  t->set_seq(++transaction_->seq);
  t->set_energy_wh(transaction_->energy_wh);
  t->set_amount_millieuros(AmountMillieuros(transaction_->energy_wh, transaction_->supply.price_millieuros_per_kwh));
  if (power_w) t->set_power_w(static_cast<int64_t>(*power_w));
  Emit(e, now);
  return json::object();
}

json OcppCharger::StopTransaction(const json& payload, absl::Time now) {
  absl::MutexLock lock(&mu_);
  const std::optional<int32_t> tx = TransactionIdOf(payload);
  const int64_t meter_stop = payload["meterStop"].get<int64_t>();
  const std::string reason = payload.value("reason", std::string("Local"));
  if (!transaction_ && tx && !Adopt(*tx)) {
    // Ended while this gateway did not know it (it restarted): billed once
    // central's report says which supply it was.
    log::Info("StopTransaction for a transaction not known here kept for central's report",
              {{"cp_id", cp_id_}, {"transaction_id", *tx}});
    orphan_stop_ = OrphanStop{*tx, meter_stop, reason, now + options_.supply_discovery};
    return json::object();
  }
  if (!transaction_ || tx != transaction_->transaction_id) {
    log::Warn("StopTransaction for another transaction accepted and ignored",
              {{"cp_id", cp_id_}, {"transaction_id", payload["transactionId"].get<int64_t>()}});
    return json::object();
  }
  EmitCompleted(meter_stop, EndReasonFor(reason), now);
  return json::object();
}

void OcppCharger::EmitCompleted(int64_t meter_stop_wh, common::v1::EndReason charger_reason, absl::Time now) {
  // An implausible meterStop bills what the readings already showed.
  const int64_t wh =
      Plausible(meter_stop_wh) ? std::max<int64_t>(0, meter_stop_wh - transaction_->meter_start_wh) : 0;
  events::v1::EngineEvent e = channel_.NewEvent(now);
  auto* c = e.mutable_completed();
  c->set_supply_id(transaction_->supply.supply_id);
  c->set_seq(++transaction_->seq);
  c->set_energy_wh(std::max(wh, transaction_->energy_wh));
  // Central's own reason when it asked for the stop.
  c->set_reason(transaction_->stop_reason ? *transaction_->stop_reason : charger_reason);
  transaction_.reset();
  Emit(e, now);
}

}  // namespace evc::ocpp
