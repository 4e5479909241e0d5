#include "services/cp/monitor.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/log.h"

namespace evc::cp {

// One attempt at the long-lived stream to central: Register, then Health.
class CentralLink : public grpc::ClientBidiReactor<central::v1::MonitorMessage,
                                                   central::v1::MonitorReply> {
 public:
  CentralLink(Monitor& monitor, central::v1::CentralService::StubInterface& stub,
              const central::v1::MonitorMessage& registration)
      : monitor_(monitor), stub_(stub) {
    out_ = registration;
  }

  // Separate from construction so the caller can publish the pointer first.
  void Start() {
    // While no replica leads (a take-over), the link waits for one to report
    // SERVING instead of failing and backing off: every monitor relinks as
    // soon as the new leader serves, not a backoff period later.
    context_.set_wait_for_ready(true);
    stub_.async()->MonitorLink(&context_, this);
    {
      absl::MutexLock lock(&mu_);
      writing_ = true;
    }
    StartWrite(&out_);
    StartRead(&in_);
    StartCall();
  }

  void SendHealth(const central::v1::Health& health) {
    absl::MutexLock lock(&mu_);
    if (writing_) {
      pending_ = health;  // only the latest report matters
      return;
    }
    Write(health);
  }

  void Cancel() { context_.TryCancel(); }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok || !pending_) return;
    central::v1::Health next = *pending_;
    pending_.reset();
    Write(next);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (in_.has_registered()) monitor_.LinkRegistered(in_.registered());
    StartRead(&in_);
  }

  void OnDone(const grpc::Status& status) override {
    monitor_.LinkEnded(status);
    delete this;
  }

 private:
  void Write(const central::v1::Health& health) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    out_.Clear();
    *out_.mutable_health() = health;
    writing_ = true;
    StartWrite(&out_);
  }

  Monitor& monitor_;
  central::v1::CentralService::StubInterface& stub_;
  grpc::ClientContext context_;
  central::v1::MonitorMessage out_;
  central::v1::MonitorReply in_;
  absl::Mutex mu_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<central::v1::Health> pending_ ABSL_GUARDED_BY(mu_);
};

Monitor::Monitor(std::string cp_id, std::string secret, EngineProbe& engine, Authenticator& auth,
                 central::v1::CentralService::StubInterface& central)
    : cp_id_(std::move(cp_id)), secret_(std::move(secret)), engine_(engine), auth_(auth),
      central_(central) {}

Monitor::~Monitor() { Shutdown(); }

bool Monitor::linked() const {
  absl::MutexLock lock(&mu_);
  return link_ != nullptr && registered_;
}

void Monitor::Shutdown() {
  absl::MutexLock lock(&mu_);
  shutting_down_ = true;
  if (link_ != nullptr) link_->Cancel();
  mu_.Await(absl::Condition(
      +[](CentralLink** link) { return *link == nullptr; }, &link_));
}

void Monitor::LinkEnded(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  link_ = nullptr;
  registered_ = false;
  if (shutting_down_) return;
  log::Warn("link to central ended",
            {{"cp_id", cp_id_}, {"code", status.error_code()}, {"reason", status.error_message()}});
  // A refused token (expired, revoked) means authenticating again.
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
      status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
    drop_credentials_ = true;
  }
  next_connect_ = absl::Now() + connect_backoff_.Next();
}

bool Monitor::Authenticated(absl::Time now) const {
  return credentials_ && now < absl::FromUnixSeconds(credentials_->expires_at().seconds()) - absl::Minutes(1);
}

bool Monitor::EnsureAuthenticated(absl::Time now) {
  {
    absl::MutexLock lock(&mu_);
    if (drop_credentials_) {
      credentials_.reset();
      drop_credentials_ = false;
    }
  }
  if (Authenticated(now)) return true;
  if (now < next_auth_) return false;
  auto r = auth_.Authenticate(cp_id_, secret_);
  if (!r.ok()) {
    next_auth_ = now + auth_backoff_.Next();
    log::Warn("authentication failed", {{"cp_id", cp_id_}, {"error", r.status().ToString()}});
    return false;
  }
  auth_backoff_.Reset();
  credentials_ = std::move(*r);
  log::Info("authenticated", {{"cp_id", cp_id_}, {"key_id", credentials_->key_id()}});
  return true;
}

central::v1::Health Monitor::CheckEngine() {
  central::v1::Health health;
  engine_starting_ = false;
  absl::StatusOr<cp::v1::CheckResponse> check = engine_.Check();
  // Also after a key rotation: the engine must seal with the new key.
  if (check.ok() && credentials_ &&
      (!check->activated() || check->key_id() != credentials_->key_id())) {
    cp::v1::ActivateRequest activate;
    activate.set_cp_id(cp_id_);
    activate.set_key_id(credentials_->key_id());
    activate.set_key(credentials_->key());
    absl::Status s = engine_.Activate(activate);
    // Reachable but not serving: central must know once the CP is on the
    // network (a supply there cannot go on), so it is reported as not OK.
    engine_starting_ = absl::IsFailedPrecondition(s);
    check = s.ok() ? engine_.Check() : absl::StatusOr<cp::v1::CheckResponse>(s);
  }
  if (check.ok()) {
    engine_reached_ = true;
  } else if (!engine_reached_ && absl::Now() - created_ < kEngineStartupGrace) {
    // Started together (a whole network coming back): not broken, not up yet.
    engine_starting_ = true;
  }
  if (!check.ok()) {
    health.set_engine_ok(false);
    health.set_detail(engine_starting_ ? std::string(check.status().message())
                                       : absl::StrCat("engine unreachable: ", check.status().message()));
  } else {
    health.set_engine_ok(check->ok() && check->activated());
    health.set_detail(check->activated() ? check->detail() : "engine not activated");
    // Unset when the engine side cannot tell: central then does not reconcile.
    if (!check->supply_unknown()) health.set_engine_supply_id(check->supply_id());
  }
  if (health.engine_ok() != last_engine_ok_) {
    log::Info(health.engine_ok() ? "engine OK" : "engine KO",
              {{"cp_id", cp_id_}, {"detail", health.detail()}});
    last_engine_ok_ = health.engine_ok();
  }
  return health;
}

void Monitor::Tick(absl::Time now) {
  if (!EnsureAuthenticated(now)) return;
  const central::v1::Health health = CheckEngine();
  absl::ReleasableMutexLock lock(&mu_);
  if (shutting_down_) return;
  if (link_ != nullptr) {
    if (registered_) link_->SendHealth(health);
    return;
  }
  // A CP whose engine is still starting joins the network once it is ready.
  if (engine_starting_ || now < next_connect_) return;
  central::v1::MonitorMessage registration;
  auto* reg = registration.mutable_register_();
  reg->set_cp_id(cp_id_);
  reg->set_token(credentials_->token());
  *reg->mutable_health() = health;
  link_ = new CentralLink(*this, central_, registration);
  CentralLink* link = link_;
  lock.Release();
  link->Start();
}

void Monitor::LinkRegistered(const central::v1::Registered& registered) {
  {
    absl::MutexLock lock(&mu_);
    // Central says again on an open link when its settings or the CP's state change.
    const bool first = !registered_;
    registered_ = true;
    connect_backoff_.Reset();
    const int64_t health_interval_ms = registered.health_interval_ms();
    const absl::Duration interval =
        std::clamp(absl::Milliseconds(health_interval_ms), kMinHealthInterval, kMaxHealthInterval);
    // 0: a central that does not say keeps the default.
    if (health_interval_ms > 0 && interval != health_interval_) {
      health_interval_ = interval;
      log::Info("health interval", {{"cp_id", cp_id_}, {"interval", absl::FormatDuration(interval)}});
    }
    if (first) log::Info("linked to central", {{"cp_id", cp_id_}});
  }
  // Outside the lock: the engine side may talk to its charger.
  if (registered.state() != common::v1::CP_STATE_UNSPECIFIED) engine_.CentralState(registered.state());
}

absl::Duration Monitor::health_interval() const {
  absl::MutexLock lock(&mu_);
  return health_interval_;
}

}  // namespace evc::cp
