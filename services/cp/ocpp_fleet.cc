#include "services/cp/ocpp_fleet.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/log.h"
#include "services/cp/fleet.h"
#include "services/ocpp/schemas.h"

namespace evc::cp {

using json = nlohmann::json;

namespace {

constexpr int kConnector = 1;

std::string Timestamp(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

// The configuration keys a simulated charger reports and accepts (OCPP 1.6
// section 9.1: the standard names).
constexpr const char* kKnownKeys[] = {"HeartbeatInterval", "MeterValueSampleInterval", "NumberOfConnectors"};

}  // namespace

SimulatedOcppCharger::SimulatedOcppCharger(std::string cp_id, std::string secret,
                                           const OcppChargerBehaviour& behaviour, OcppFleetObserver* observer)
    : cp_id_(std::move(cp_id)), secret_(std::move(secret)), observer_(observer), behaviour_(behaviour) {}

void SimulatedOcppCharger::Tick(absl::Time now, ocpp::OcppClientPool& pool, const ocpp::CentralSystemUrl& url) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  if (link_ == nullptr) {
    if (now < next_connect_) return;
    // Not due again until this attempt ends (Closed sets the next one).
    next_connect_ = absl::InfiniteFuture();
    link_ = pool.Connect(url, cp_id_, secret_, *this);
    return;
  }
  if (!open_) return;
  if (!booted_) {
    if (!boot_in_flight_ && now >= next_boot_) Boot();
    return;
  }
  SendPendingStop();
  if (now >= next_heartbeat_) {
    next_heartbeat_ = now + heartbeat_interval_;
    Send("Heartbeat", json::object(), nullptr);
  }
  if (!transaction_ || stop_in_flight_ || pending_stop_) return;
  if (now >= transaction_->next_reading) SendMeterValues(now);
  const bool unplug_by_time = behaviour_.auto_unplug_after > absl::ZeroDuration() &&
                              now - transaction_->started_at >= behaviour_.auto_unplug_after;
  const bool unplug_by_readings =
      behaviour_.unplug_after_readings > 0 && transaction_->readings >= behaviour_.unplug_after_readings;
  if (unplug_by_time || unplug_by_readings) StopTransaction("EVDisconnected");
}

void SimulatedOcppCharger::Shutdown() {
  std::shared_ptr<ocpp::ClientLink> link;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    link = link_;
  }
  if (link) link->Close();
}

void SimulatedOcppCharger::SetBehaviour(const OcppChargerBehaviour& behaviour) {
  absl::MutexLock lock(&mu_);
  behaviour_ = behaviour;
}

bool SimulatedOcppCharger::connected() const {
  absl::MutexLock lock(&mu_);
  return open_;
}

bool SimulatedOcppCharger::booted() const {
  absl::MutexLock lock(&mu_);
  return open_ && booted_;
}

bool SimulatedOcppCharger::charging() const {
  absl::MutexLock lock(&mu_);
  return transaction_.has_value();
}

int64_t SimulatedOcppCharger::meter_wh() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(meter_wh_);
}

void SimulatedOcppCharger::Opened() {
  absl::MutexLock lock(&mu_);
  open_ = true;
  reconnect_.Reset();
  // A charger that reconnects does not boot again: it reports where it stands.
  if (booted_) {
    ReportStatus(transaction_ ? "Charging" : IdleStatus());
  } else {
    Boot();
  }
}

void SimulatedOcppCharger::Closed(const absl::Status& why) {
  absl::MutexLock lock(&mu_);
  if (open_ || !absl::IsCancelled(why)) {
    log::Info("simulated charger disconnected", {{"cp_id", cp_id_}, {"reason", why.ToString()}});
  }
  open_ = false;
  boot_in_flight_ = false;
  stop_in_flight_ = false;
  link_.reset();
  next_connect_ = absl::Now() + reconnect_.Next();
}

void SimulatedOcppCharger::Send(const std::string& action, json payload,
                                std::function<void(const absl::StatusOr<json>&)> then) {
  if (link_ == nullptr) return;
  const absl::Time sent = absl::Now();
  link_->Call(action, std::move(payload), [this, action, sent, then = std::move(then)](absl::StatusOr<json> answer) {
    if (observer_ != nullptr) observer_->CallAnswered(action, absl::Now() - sent, answer.ok());
    if (!then) return;
    absl::MutexLock lock(&mu_);
    then(answer);
  });
}

void SimulatedOcppCharger::Boot() {
  boot_in_flight_ = true;
  Send("BootNotification", json{{"chargePointVendor", "EVC"}, {"chargePointModel", "evc-cp-fleet"}},
       [this](const absl::StatusOr<json>& answer) {
         boot_in_flight_ = false;
         const absl::Time now = absl::Now();
         const int64_t interval = answer.ok() ? answer->at("interval").get<int64_t>() : 0;
         if (!answer.ok() || answer->at("status") != "Accepted") {
           // Pending or Rejected: ask again after the interval it names.
           next_boot_ = now + absl::Seconds(std::max<int64_t>(interval, 5));
           return;
         }
         booted_ = true;
         if (interval > 0) heartbeat_interval_ = absl::Seconds(interval);
         next_heartbeat_ = now + heartbeat_interval_;
         ReportStatus(transaction_ ? "Charging" : IdleStatus());
       });
}

std::string SimulatedOcppCharger::IdleStatus() const { return inoperative_ ? "Unavailable" : "Available"; }

void SimulatedOcppCharger::ReportStatus(const std::string& status) {
  Send("StatusNotification",
       json{{"connectorId", kConnector}, {"errorCode", "NoError"}, {"status", status}, {"timestamp", Timestamp(absl::Now())}},
       nullptr);
}

void SimulatedOcppCharger::AdvanceMeter(absl::Time now) {
  if (transaction_ && now > metered_at_) {
    meter_wh_ += static_cast<double>(behaviour_.power_w) * absl::ToDoubleHours(now - metered_at_);
  }
  metered_at_ = now;
}

void SimulatedOcppCharger::StartTransaction(const std::string& id_tag) {
  starting_ = true;
  ReportStatus("Preparing");
  const absl::Time now = absl::Now();
  const int64_t meter_start = static_cast<int64_t>(meter_wh_);
  Send("StartTransaction",
       json{{"connectorId", kConnector}, {"idTag", id_tag}, {"meterStart", meter_start}, {"timestamp", Timestamp(now)}},
       [this, meter_start](const absl::StatusOr<json>& answer) {
         starting_ = false;
         if (!answer.ok() || answer->at("idTagInfo").at("status") != "Accepted") {
           ReportStatus(IdleStatus());
           return;
         }
         const absl::Time now = absl::Now();
         // A charger's sampling clock is its own: the first reading comes at a
         // random point of the first period, so chargers whose transactions
         // started together (a load test's ramp) do not meter in lockstep.
         const absl::Duration first_reading = behaviour_.meter_period * absl::Uniform(sampling_phase_, 0.0, 1.0);
         transaction_ = Transaction{.id = answer->at("transactionId").get<int64_t>(),
                                    .meter_start_wh = meter_start,
                                    .started_at = now,
                                    .next_reading = now + first_reading};
         metered_at_ = now;
         if (observer_ != nullptr) observer_->TransactionStarted(cp_id_, transaction_->id, now);
         ReportStatus("Charging");
       });
}

void SimulatedOcppCharger::SendMeterValues(absl::Time now) {
  AdvanceMeter(now);
  ++transaction_->readings;
  transaction_->next_reading = now + behaviour_.meter_period;
  Send("MeterValues",
       json{{"connectorId", kConnector},
            {"transactionId", transaction_->id},
            {"meterValue",
             json::array({{{"timestamp", Timestamp(now)},
                           {"sampledValue",
                            json::array({{{"value", std::to_string(static_cast<int64_t>(meter_wh_))},
                                          {"measurand", "Energy.Active.Import.Register"},
                                          {"unit", "Wh"}},
                                         {{"value", std::to_string(behaviour_.power_w)},
                                          {"measurand", "Power.Active.Import"},
                                          {"unit", "W"}}})}}})}},
       nullptr);
}

void SimulatedOcppCharger::StopTransaction(const std::string& reason) {
  const absl::Time now = absl::Now();
  AdvanceMeter(now);
  pending_stop_ = json{{"transactionId", transaction_->id},
                       {"meterStop", static_cast<int64_t>(meter_wh_)},
                       {"timestamp", Timestamp(now)},
                       {"reason", reason}};
  SendPendingStop();
}

void SimulatedOcppCharger::SendPendingStop() {
  if (!pending_stop_ || stop_in_flight_ || !open_) return;
  stop_in_flight_ = true;
  Send("StopTransaction", *pending_stop_, [this](const absl::StatusOr<json>& answer) {
    stop_in_flight_ = false;
    // Not delivered: kept, and sent again (the gateway closes each
    // transaction once, whatever it is sent).
    if (!answer.ok() && absl::IsUnavailable(answer.status())) return;
    pending_stop_.reset();
    transaction_.reset();
    if (inoperative_scheduled_) {
      inoperative_ = true;
      inoperative_scheduled_ = false;
    }
    ReportStatus(IdleStatus());
  });
}

ocpp::Answer SimulatedOcppCharger::OnCall(const std::string& action, const json& payload) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  if (action == "RemoteStartTransaction") {
    if (observer_ != nullptr) observer_->RemoteStartReceived(cp_id_, now);
    if (transaction_ || starting_ || inoperative_) return json{{"status", "Rejected"}};
    if (behaviour_.auto_plug) StartTransaction(payload.at("idTag").get<std::string>());
    return json{{"status", "Accepted"}};
  }
  if (action == "RemoteStopTransaction") {
    if (!transaction_ || payload.at("transactionId").get<int64_t>() != transaction_->id) {
      return json{{"status", "Rejected"}};
    }
    if (!pending_stop_) StopTransaction("Remote");
    return json{{"status", "Accepted"}};
  }
  if (action == "ChangeAvailability") {
    const bool inoperative = payload.at("type") == "Inoperative";
    if (transaction_ && inoperative) {
      inoperative_scheduled_ = true;
      return json{{"status", "Scheduled"}};
    }
    inoperative_scheduled_ = false;
    if (inoperative != inoperative_) {
      inoperative_ = inoperative;
      ReportStatus(IdleStatus());
    }
    return json{{"status", "Accepted"}};
  }
  if (action == "TriggerMessage") return Trigger(payload.at("requestedMessage").get<std::string>());
  if (action == "GetConfiguration") return Configuration(payload);
  if (action == "ChangeConfiguration") {
    int64_t seconds = 0;
    if (payload.at("key") == "MeterValueSampleInterval" &&
        absl::SimpleAtoi(payload.at("value").get<std::string>(), &seconds) && seconds > 0) {
      behaviour_.meter_period = absl::Seconds(seconds);
      return json{{"status", "Accepted"}};
    }
    return json{{"status", "NotSupported"}};
  }
  if (action == "Reset") return json{{"status", "Rejected"}};  // a simulator does not reboot
  if (action == "DataTransfer") return json{{"status", "UnknownVendorId"}};
  return ocpp::RpcError{ocpp::errc::kNotSupported, absl::StrCat(action, " is not supported by this simulated charger")};
}

ocpp::Answer SimulatedOcppCharger::Trigger(const std::string& message) {
  if (message == "MeterValues") {
    if (transaction_) SendMeterValues(absl::Now());
  } else if (message == "StatusNotification") {
    ReportStatus(transaction_ ? "Charging" : IdleStatus());
  } else if (message == "Heartbeat") {
    Send("Heartbeat", json::object(), nullptr);
  } else {
    return json{{"status", "NotImplemented"}};
  }
  return json{{"status", "Accepted"}};
}

json SimulatedOcppCharger::Configuration(const json& payload) const {
  auto value_of = [&](const std::string& key) -> std::optional<std::string> {
    if (key == "HeartbeatInterval") return std::to_string(absl::ToInt64Seconds(heartbeat_interval_));
    if (key == "MeterValueSampleInterval") {
      return std::to_string(std::max<int64_t>(1, absl::ToInt64Seconds(behaviour_.meter_period)));
    }
    if (key == "NumberOfConnectors") return std::to_string(kConnector);
    return std::nullopt;
  };
  std::vector<std::string> asked;
  if (payload.contains("key")) {
    for (const json& k : payload.at("key")) asked.push_back(k.get<std::string>());
  } else {
    asked.assign(std::begin(kKnownKeys), std::end(kKnownKeys));
  }
  json known = json::array(), unknown = json::array();
  for (const std::string& key : asked) {
    if (auto v = value_of(key)) {
      known.push_back({{"key", key}, {"readonly", key == "NumberOfConnectors"}, {"value", *v}});
    } else {
      unknown.push_back(key);
    }
  }
  json answer{{"configurationKey", known}};
  if (!unknown.empty()) answer["unknownKey"] = unknown;
  return answer;
}

OcppFleet::OcppFleet(OcppChargerBehaviour behaviour, ocpp::CentralSystemUrl url, int io_threads,
                     OcppFleetObserver* observer)
    : behaviour_(behaviour), url_(std::move(url)), observer_(observer),
      pool_(io_threads, ocpp::Schemas::Ocpp16()) {}

OcppFleet::~OcppFleet() { pool_.Stop(); }

absl::Status OcppFleet::Enrol(registry::v1::RegistryService::StubInterface& registry,
                              const std::vector<ChargingPointEnrolment>& plan, absl::Duration patience,
                              const absl::Notification* stop) {
  const OcppChargerBehaviour behaviour = [&] {
    absl::MutexLock lock(&mu_);
    return behaviour_;
  }();
  return EnrolEach(registry, plan, patience, stop, [&](const ChargingPointEnrolment& planned, const std::string& secret) {
    chargers_[planned.cp_id] = std::make_unique<SimulatedOcppCharger>(planned.cp_id, secret, behaviour, observer_);
  });
}

size_t OcppFleet::booted() const {
  return std::count_if(chargers_.begin(), chargers_.end(), [](const auto& c) { return c.second->booted(); });
}

SimulatedOcppCharger* OcppFleet::Charger(const std::string& cp_id) {
  auto it = chargers_.find(cp_id);
  return it == chargers_.end() ? nullptr : it->second.get();
}

void OcppFleet::SetBehaviour(const OcppChargerBehaviour& behaviour) {
  {
    absl::MutexLock lock(&mu_);
    behaviour_ = behaviour;
  }
  for (auto& [id, c] : chargers_) c->SetBehaviour(behaviour);
}

absl::Duration OcppFleet::TickPeriod() const {
  absl::MutexLock lock(&mu_);
  return std::clamp(behaviour_.meter_period / 4, absl::Milliseconds(20), absl::Milliseconds(250));
}

void OcppFleet::Run(int threads, const absl::Notification& stopping) {
  std::vector<SimulatedOcppCharger*> chargers;
  for (auto& [id, c] : chargers_) chargers.push_back(c.get());
  RunInShards(threads, [&](int shard, int shards) {
    do {
      for (size_t i = shard; i < chargers.size(); i += shards) chargers[i]->Tick(absl::Now(), pool_, url_);
    } while (!stopping.WaitForNotificationWithTimeout(TickPeriod()));
  });
  for (SimulatedOcppCharger* c : chargers) c->Shutdown();
  pool_.Stop();
}

}  // namespace evc::cp
