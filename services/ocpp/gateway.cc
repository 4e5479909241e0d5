#include "services/ocpp/gateway.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/log.h"

namespace evc::ocpp {

Gateway::Gateway(GatewayOptions options, cp::Authenticator& auth,
                 central::v1::CentralService::StubInterface& central, cp::EngineOutput& out)
    : options_(options), auth_(auth), central_(central), out_(out),
      pool_(options.auth_threads, options.max_pending_admissions) {}

Gateway::~Gateway() { Shutdown(); }

void Gateway::SetCommandChannelReady() {
  absl::MutexLock lock(&mu_);
  ready_ = true;
}

size_t Gateway::chargers() const {
  absl::MutexLock lock(&mu_);
  return chargers_.size();
}

void Gateway::Admit(const std::string& cp_id, const std::string& password, const std::string& peer, Done done) {
  {
    absl::MutexLock lock(&mu_);
    if (!ready_) return done(absl::UnavailableError("the gateway is starting: connect again in a few seconds"));
  }
  if (password.empty()) {
    // Nothing to check: auth would refuse (and audit) it the same.
    return done(absl::UnauthenticatedError(
        "HTTP Basic authentication required: user = chargePointId, password = the secret the registry issued"));
  }
  auto task = [this, cp_id, password, peer, done]() {
    absl::StatusOr<auth::v1::AuthenticateChargingPointResponse> r = auth_.Authenticate(cp_id, password);
    if (!r.ok()) {
      const absl::StatusCode code = r.status().code();
      if (code == absl::StatusCode::kUnauthenticated || code == absl::StatusCode::kPermissionDenied ||
          code == absl::StatusCode::kNotFound || code == absl::StatusCode::kInvalidArgument) {
        return done(absl::UnauthenticatedError("unknown or revoked charger, or wrong password"));
      }
      log::Warn("charger admission failed: auth unavailable", {{"cp_id", cp_id}, {"error", r.status().ToString()}});
      return done(absl::UnavailableError("cannot check the charger's credentials now: connect again later"));
    }
    std::shared_ptr<OcppCharger> charger;
    {
      absl::MutexLock lock(&mu_);
      Entry& entry = chargers_[cp_id];
      if (entry.charger == nullptr) {
        entry.charger = std::make_shared<OcppCharger>(cp_id, out_, options_.charger);
        entry.slice = static_cast<int>(admissions_++ % kTickSlices);
      }
      entry.secret = password;
      entry.admitted_at = absl::Now();
      charger = entry.charger;
    }
    log::Info("charger admitted", {{"cp_id", cp_id}, {"peer", peer}});
    done(charger);
  };
  if (!pool_.TrySubmit(std::move(task))) {
    done(absl::ResourceExhaustedError("too many chargers connecting at once: connect again later"));
  }
}

std::shared_ptr<OcppCharger> Gateway::Find(const std::string& cp_id) const {
  absl::MutexLock lock(&mu_);
  auto it = chargers_.find(cp_id);
  return it == chargers_.end() ? nullptr : it->second.charger;
}

void Gateway::RouteCommands(std::span<const KafkaMessage> batch, KafkaProducer& dead_letters) {
  const absl::Time now = absl::Now();
  for (const KafkaMessage& m : batch) {
    std::shared_ptr<OcppCharger> charger = Find(m.key);
    if (charger == nullptr) continue;  // not a charger of this gateway
    absl::Status s = charger->OnSealedCommand(m.payload, now);
    if (!s.ok()) {
      log::Warn("engine command refused", {{"cp_id", m.key}, {"error", s.ToString()}});
      DeadLetter(dead_letters, m, std::string(s.message()));
    }
  }
}

void Gateway::Tick(absl::Time now) {
  std::vector<std::shared_ptr<cp::Monitor>> tick;
  std::vector<std::shared_ptr<cp::Monitor>> stop;
  std::vector<std::shared_ptr<OcppCharger>> chargers;
  {
    absl::MutexLock lock(&mu_);
    const int turn = static_cast<int>(ticks_++ % kTickSlices);
    for (auto it = chargers_.begin(); it != chargers_.end();) {
      Entry& e = it->second;
      const bool connected = e.charger->connected();
      bool due = e.slice == turn;
      if (connected && e.monitor == nullptr) {
        e.monitor = std::make_shared<cp::Monitor>(e.charger->cp_id(), e.secret, *e.charger, auth_, central_);
        due = true;  // linked to central now, not up to a second later
      } else if (!connected && e.monitor != nullptr) {
        stop.push_back(std::move(e.monitor));
        e.monitor.reset();
      }
      if (due && e.monitor != nullptr) tick.push_back(e.monitor);
      if (due) chargers.push_back(e.charger);
      if (!connected && e.monitor == nullptr && !e.charger->busy() && now - e.admitted_at > kAdmissionGrace) {
        chargers_.erase(it++);
      } else {
        ++it;
      }
    }
  }
  // Monitors call auth and central: outside the lock.
  for (auto& m : stop) m->Shutdown();
  for (auto& m : tick) m->Tick(now);
  for (auto& c : chargers) c->Tick(now);
}

void Gateway::Shutdown() {
  std::vector<std::shared_ptr<cp::Monitor>> monitors;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, e] : chargers_) {
      if (e.monitor) monitors.push_back(std::move(e.monitor));
      e.monitor.reset();
    }
  }
  for (auto& m : monitors) m->Shutdown();
}

}  // namespace evc::ocpp
