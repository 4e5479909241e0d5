#include "services/ocpp/charger.h"

#include <cmath>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
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

// A sampled value in Wh or W whatever unit the charger used; nullopt if it is
// not a number.
std::optional<double> Reading(const json& sample) {
  double value;
  if (!absl::SimpleAtod(sample["value"].get<std::string>(), &value) || !std::isfinite(value)) return std::nullopt;
  const std::string unit = sample.value("unit", std::string());
  if (unit == "kWh" || unit == "kW") value *= 1000;
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

OcppCharger::OcppCharger(std::string cp_id, cp::EngineOutput& out, ChargerOptions options)
    : cp_id_(std::move(cp_id)), out_(out), options_(options) {}

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
  return transaction_.has_value() || pending_.has_value();
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

void OcppCharger::CallCharger(const std::string& action, json payload) {
  std::shared_ptr<ChargerLink> link;
  {
    absl::MutexLock lock(&mu_);
    link = link_;
  }
  if (link == nullptr) {
    log::Warn("charger not connected: CALL not sent", {{"cp_id", cp_id_}, {"action", action}});
    return;
  }
  link->Call(action, std::move(payload), [cp = cp_id_, action](absl::StatusOr<json> result) {
    if (!result.ok()) {
      log::Warn("charger refused or missed a CALL", {{"cp_id", cp}, {"action", action}, {"error", result.status().ToString()}});
    } else if (result->value("status", std::string("Accepted")) != "Accepted") {
      log::Warn("charger rejected a CALL", {{"cp_id", cp}, {"action", action}, {"status", (*result)["status"].get<std::string>()}});
    }
  });
}

absl::Status OcppCharger::OnSealedCommand(absl::string_view wire, absl::Time now) {
  return channel_.OpenThenAct(mu_, wire, now, [&](const events::v1::EngineCommand& c) { OnCommand(c, now); });
}

void OcppCharger::OnCommand(const events::v1::EngineCommand& command, absl::Time now) {
  std::optional<std::pair<std::string, json>> call;
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
      pending_ = Authorisation{a.supply_id(), a.driver_id(), a.price_millieuros_per_kwh()};
      call.emplace("RemoteStartTransaction", json{{"connectorId", 1}, {"idTag", IdTagFor(a.supply_id())}});
    } else if (command.has_stop()) {
      if (transaction_ && transaction_->supply.supply_id == command.stop().supply_id()) {
        transaction_->stop_reason = command.stop().reason();
        call.emplace("RemoteStopTransaction", json{{"transactionId", transaction_->transaction_id}});
      } else if (pending_ && pending_->supply_id == command.stop().supply_id()) {
        // Not started yet: nothing runs at the charger; central's record ends.
        events::v1::EngineEvent e = channel_.NewEvent(now);
        auto* c = e.mutable_completed();
        c->set_supply_id(pending_->supply_id);
        c->set_seq(1);
        c->set_energy_wh(0);
        c->set_reason(command.stop().reason());
        pending_.reset();
        Emit(e, now);
      }
    } else if (command.has_report_supply()) {
      if (transaction_ && transaction_->supply.supply_id == command.report_supply().supply_id()) {
        call.emplace("TriggerMessage", json{{"requestedMessage", "MeterValues"}, {"connectorId", 1}});
      }
    }
  }
  if (call) CallCharger(call->first, std::move(call->second));
}

std::variant<json, RpcError> OcppCharger::OnCall(const std::string& action, const json& payload) {
  const absl::Time now = absl::Now();
  if (action == "BootNotification") return Boot();
  if (action == "Heartbeat") return json{{"currentTime", Now()}};
  if (action == "StatusNotification") return StatusNotification(payload);
  if (action == "StartTransaction") return StartTransaction(payload, now);
  if (action == "MeterValues") return MeterValues(payload, now);
  if (action == "StopTransaction") return StopTransaction(payload, now);
  if (action == "Authorize") {
    // Drivers have no RFID tags in the registry yet: only charges requested
    // through the network (RemoteStartTransaction) are authorised.
    log::Info("local Authorize refused: RFID tags are not supported yet", {{"cp_id", cp_id_}});
    return json{{"idTagInfo", {{"status", "Invalid"}}}};
  }
  if (action == "DataTransfer") return json{{"status", "UnknownVendorId"}};
  if (action == "DiagnosticsStatusNotification" || action == "FirmwareStatusNotification") return json::object();
  return RpcError{errc::kNotSupported,
                  absl::StrCat(action, " is not supported by this central system (see README, OCPP gateway)")};
}

json OcppCharger::Boot() {
  {
    absl::MutexLock lock(&mu_);
    booted_ = true;
  }
  log::Info("charger booted", {{"cp_id", cp_id_}});
  return json{{"status", "Accepted"}, {"currentTime", Now()}, {"interval", options_.heartbeat_interval_s}};
}

json OcppCharger::StatusNotification(const json& payload) {
  const std::string status = payload["status"].get<std::string>();
  absl::MutexLock lock(&mu_);
  const bool was = faulted_;
  faulted_ = status == "Faulted";
  fault_detail_ = faulted_ ? payload["errorCode"].get<std::string>() : "";
  if (faulted_ != was) log::Info(faulted_ ? "charger Faulted" : "charger recovered", {{"cp_id", cp_id_}, {"status", status}});
  return json::object();
}

json OcppCharger::StartTransaction(const json& payload, absl::Time now) {
  const std::string id_tag = payload["idTag"].get<std::string>();
  absl::MutexLock lock(&mu_);
  if (transaction_ && IdTagFor(transaction_->supply.supply_id) == id_tag) {
    // The charger sent it again (our answer was lost): same transaction.
    return json{{"transactionId", transaction_->transaction_id}, {"idTagInfo", {{"status", "Accepted"}}}};
  }
  if (!pending_ || IdTagFor(pending_->supply_id) != id_tag || transaction_) {
    log::Warn("StartTransaction without an authorisation refused", {{"cp_id", cp_id_}});
    return json{{"transactionId", 0}, {"idTagInfo", {{"status", transaction_ ? "ConcurrentTx" : "Invalid"}}}};
  }
  Transaction t;
  t.supply = *pending_;
  pending_.reset();
  t.transaction_id = TransactionIdFor(t.supply.supply_id);
  t.meter_start_wh = payload["meterStart"].get<int64_t>();
  transaction_ = t;
  events::v1::EngineEvent e = channel_.NewEvent(now);
  e.mutable_started()->set_supply_id(t.supply.supply_id);
  Emit(e, now);
  return json{{"transactionId", t.transaction_id}, {"idTagInfo", {{"status", "Accepted"}}}};
}

json OcppCharger::MeterValues(const json& payload, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (!transaction_ || !payload.contains("transactionId") ||
      payload["transactionId"].get<int64_t>() != transaction_->transaction_id) {
    return json::object();  // outside a transaction: nothing to bill
  }
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
  if (!transaction_ || payload["transactionId"].get<int64_t>() != transaction_->transaction_id) {
    log::Warn("StopTransaction for an unknown transaction accepted and ignored",
              {{"cp_id", cp_id_}, {"transaction_id", payload["transactionId"].get<int64_t>()}});
    return json::object();
  }
  const int64_t wh = std::max<int64_t>(0, payload["meterStop"].get<int64_t>() - transaction_->meter_start_wh);
  events::v1::EngineEvent e = channel_.NewEvent(now);
  auto* c = e.mutable_completed();
  c->set_supply_id(transaction_->supply.supply_id);
  c->set_seq(++transaction_->seq);
  c->set_energy_wh(std::max(wh, transaction_->energy_wh));
  c->set_reason(transaction_->stop_reason ? *transaction_->stop_reason
                                          : EndReasonFor(payload.value("reason", std::string("Local"))));
  transaction_.reset();
  Emit(e, now);
  return json::object();
}

}  // namespace evc::ocpp
