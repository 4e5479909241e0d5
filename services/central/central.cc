#include "services/central/central.h"
#include "services/common/audit_stream.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "services/central/live_config.h"
#include "services/common/log.h"
#include "services/common/proto_time.h"
#include "services/common/validation.h"

namespace evc::central {
namespace {

// How long a caller waits for its change to be durable before it is told the
// database is not accepting writes (gRPC clients give central 10 s).
constexpr absl::Duration kDurableWait = absl::Seconds(5);

bool Never(const Effects&) { return false; }
bool Always(const Effects&) { return true; }
bool WhenNeeded(const Effects& fx) { return fx.NeedsDurability(); }

// The supply a report names becomes a STOP and an audit record: an id, or nothing.
absl::Status ValidateHealth(const central::v1::Health& health) {
  if (health.engine_supply_id().empty()) return absl::OkStatus();
  absl::Status s = ValidateSupplyId(health.engine_supply_id());
  if (s.ok()) return s;
  return absl::InvalidArgumentError(absl::StrCat("health report: engine_supply_id: ", s.message()));
}

}  // namespace

Central::Central(NetworkConfig config, SupplyStore& store, Publisher& publisher,
                 EngineChannel& channel, const Clock& clock,
                 NotificationKeySource* notification_keys, CatalogueLookup* catalogue)
    : store_(store), publisher_(publisher), channel_(channel),
      catalogue_(catalogue), notification_keys_(notification_keys), clock_(clock),
      journal_(store), network_(config), ticket_retries_(config.command_resend_interval) {}

Central::~Central() { Stop(); }

absl::Status Central::Start(const std::vector<common::v1::ChargingPoint>& catalogue) {
  if (absl::Status s = channel_.RestoreReplayMarks(); !s.ok()) return s;
  absl::StatusOr<std::vector<SupplyRecord>> open = store_.LoadOpenSupplies();
  if (!open.ok()) return open.status();
  absl::StatusOr<std::vector<common::v1::Ticket>> unsent = store_.LoadUnpublishedTickets();
  if (!unsent.ok()) return unsent.status();
  absl::StatusOr<std::vector<HoldChange>> holds = store_.LoadHolds();
  if (!holds.ok()) return holds.status();
  absl::StatusOr<std::vector<QueueEntry>> queued = store_.LoadQueue();
  if (!queued.ok()) return queued.status();
  absl::StatusOr<std::vector<SiteCap>> caps = store_.LoadSiteCaps();
  if (!caps.ok()) return caps.status();
  const absl::StatusOr<std::optional<central::v1::CentralConfig>> stored_config = store_.LoadConfig();
  {
    absl::MutexLock lock(&mu_);
    Effects fx;
    const absl::Time now = clock_.Now();
    RestoreStoredConfig(stored_config, now, fx);
    for (const auto& cp : catalogue) network_.UpsertChargingPoint(cp, now, fx);
    for (const auto& h : *holds) network_.RestoreHold(h);
    for (const auto& c : *caps) network_.RestoreSitePowerCap(c);
    for (const auto& s : *open) network_.RestoreSupply(s, now, fx);
    for (const auto& q : *queued) network_.RestoreQueueEntry(q);
    network_.ReallocateAllPower(now, fx);
    fx.audit.push_back({now, AuditCategory::kSystem, "central_started", "central", "", "OK",
                        {{"charging_points", catalogue.size()},
                         {"open_supplies", open->size()},
                         {"holds", holds->size()},
                         {"queued_drivers", queued->size()},
                         {"site_power_caps", caps->size()}}});
    Apply(std::move(fx));
  }
  // Live readings are sealed under the lock, with keys already known: asked
  // for now, without waiting (a failover does not wait for one fetch per supply).
  for (const auto& s : *open) {
    if (!s.driver_id.empty()) PrefetchNotificationKey(s.driver_id);
  }
  for (const auto& t : *unsent) PublishTicket(t);
  log::Info("central started", {{"charging_points", catalogue.size()},
                                {"restored_supplies", open->size()},
                                {"tickets_resent", unsent->size()}});
  ticker_ = std::thread([this] { TickLoop(); });
  return absl::OkStatus();
}

void Central::StopTimers() {
  {
    absl::MutexLock lock(&stop_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (ticker_.joinable()) ticker_.join();
}

void Central::Stop() {
  StopTimers();
  {
    absl::MutexLock lock(&stop_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  {
    // What the ticker would have emitted next: the latest telemetry is
    // journaled before the journal stops.
    absl::MutexLock lock(&mu_);
    Effects fx;
    if (network_.HasPendingFigures()) network_.EmitFigures(clock_.Now(), fx);
    Apply(std::move(fx));
  }
  // Notices waiting for a driver's key leave first, so that a ticket's
  // delivery is marked in the journal's last write (else it is sent again at
  // the next start); the journal's last batch may still seal some.
  if (!notification_keys_.Drain(kDurableWait)) log::Warn("notification keys still being fetched at stop");
  journal_.Stop();
  notification_keys_.Stop();
}

absl::Status Central::LoadKeys(const std::string& cp_id) { return channel_.LoadKeys(cp_id); }

void Central::TickLoop() {
  while (true) {
    {
      absl::MutexLock lock(&stop_mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(stop_mu_) { return stopping_; };
      if (stop_mu_.AwaitWithTimeout(absl::Condition(&stopping), absl::Milliseconds(20))) return;
    }
    bool retry_tickets = false;
    {
      absl::MutexLock lock(&mu_);
      Effects fx;
      const absl::Time now = clock_.Now();
      network_.Tick(now, fx, kTickParts);
      Apply(std::move(fx));
      if (metric_samples_.Due(now)) metrics_.Sample(network_.CountByState(), network_.counters());
      ticket_retries_.set_interval(network_.config().command_resend_interval);
      retry_tickets = ticket_retries_.Due(now);
    }
    if (retry_tickets) RetryTickets();
  }
}

void Central::RestoreStoredConfig(
    const absl::StatusOr<std::optional<central::v1::CentralConfig>>& stored, absl::Time now,
    Effects& fx) {
  if (stored.ok() && !stored->has_value()) return;  // never changed: the flags
  absl::StatusOr<NetworkConfig> restored =
      stored.ok() ? RestoreConfig(network_.config(), **stored) : stored.status();
  if (!restored.ok()) {
    fx.audit.push_back({now, AuditCategory::kError, "config_not_restored", "central", "", "ERROR",
                        {{"error", restored.status().ToString()},
                         {"in_force", "the command-line flags"}}});
    return;
  }
  network_.RestoreConfig(*restored);
  config_updated_by_ = (*stored)->updated_by();
  config_updated_at_ = FromProto((*stored)->updated_at());
}

central::v1::CentralConfig Central::Config() {
  absl::MutexLock lock(&mu_);
  central::v1::CentralConfig config = ConfigProto(network_.config());
  if (config_updated_at_ != absl::InfinitePast()) {
    config.set_updated_by(config_updated_by_);
    *config.mutable_updated_at() = ToProto(config_updated_at_);
  }
  return config;
}

absl::Duration Central::health_interval() {
  absl::MutexLock lock(&mu_);
  return network_.config().health_interval;
}

absl::StatusOr<central::v1::CentralConfig> Central::UpdateConfig(
    const Caller& actor, const central::v1::CentralConfig& update,
    const std::vector<std::string>& paths) {
  absl::MutexLock config_lock(&config_mu_);
  absl::StatusOr<NetworkConfig> next = [&] {
    absl::MutexLock lock(&mu_);
    return MergeConfig(network_.config(), update, paths);
  }();
  if (!next.ok()) return next.status();
  // Stored first: settings in force survive a restart and a take-over.
  if (absl::Status s = store_.SaveConfig(ConfigProto(*next), actor.AuditName()); !s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the configuration could not be stored, so it is not in force (try again): ",
                     s.message()));
  }
  absl::Status durable = RunDurably([&](ChargingNetwork& network, absl::Time now, Effects& fx) {
    network.Reconfigure(*next, actor, now, fx);
  });
  {
    absl::MutexLock lock(&mu_);
    config_updated_by_ = actor.AuditName();
    config_updated_at_ = clock_.Now();
  }
  // Not durable yet is not undone: the settings are stored and in force.
  if (!durable.ok()) return durable;
  return Config();
}

void Central::EmitFiguresIfDue(absl::Time now, Effects& fx) {
  // The timer thread emits what is left.
  if (network_.HasPendingFigures() && figures_.Due(now)) network_.EmitFigures(now, fx);
}

void Central::Apply(Effects fx, std::function<void()> after_durable) {
  metrics_.Observe(fx);
  EmitFiguresIfDue(clock_.Now(), fx);
  for (auto& u : fx.updates) {
    broadcaster_.Send(std::make_shared<const central::v1::NetworkUpdate>(std::move(u)));
  }
  // Live readings are superseded by the next one: not retried.
  for (const auto& r : fx.readings) PublishNotification(r, /*may_fetch=*/false);
  for (const auto& a : fx.audit) {
    LogAudit(a);
    StreamAudit(publisher_, a);
  }
  if (!fx.NeedsDurability() && fx.supplies_changed.empty() && fx.audit.empty() && !after_durable) {
    return;
  }
  JournalBatch batch;
  batch.opened = std::move(fx.supplies_opened);
  batch.changed = std::move(fx.supplies_changed);
  batch.tickets = fx.tickets;
  batch.audit = std::move(fx.audit);
  batch.holds = std::move(fx.holds_changed);
  batch.queue = std::move(fx.queue_changed);
  std::function<void()> send;
  if (!fx.commands.empty() || !fx.notices.empty() || !fx.tickets.empty() || after_durable) {
    send = [this, commands = std::move(fx.commands), notices = std::move(fx.notices),
            tickets = std::move(fx.tickets), after_durable = std::move(after_durable)] {
      for (const auto& c : commands) {
        channel_.Send(c);
        latency_stages_.CommandSent(c, clock_.Now());
      }
      for (const auto& n : notices) PublishNotification(n, /*may_fetch=*/true);
      for (const auto& t : tickets) PublishTicket(t);
      if (after_durable) after_durable();
    };
  }
  journal_.Submit(std::move(batch), std::move(send));
}

void Central::PublishTicket(const common::v1::Ticket& ticket, int attempt) {
  // A walk-in's ticket has no driver to seal it for: it stays in central
  // (ListTickets, the supply's view) and is not put on the shared topic.
  if (ticket.driver_id().empty()) {
    journal_.MarkPublished(ticket.supply_id());
    return;
  }
  events::v1::DriverNotification n;
  n.set_driver_id(ticket.driver_id());
  *n.mutable_at() = ToProto(clock_.Now());
  *n.mutable_ticket() = ticket;
  // Retried while running for a while (a broker or auth outage), then left
  // unpublished for the next start: never retried forever in a loop.
  constexpr int kAttemptsWhileRunning = 20;
  auto retry_later = [this, ticket, attempt] {
    if (attempt + 1 >= kAttemptsWhileRunning) {
      log::Warn("ticket not delivered; sent again at the next start",
                {{"supply_id", ticket.supply_id()}, {"attempts", attempt + 1}});
      return;
    }
    absl::MutexLock lock(&retry_mu_);
    tickets_to_retry_.push_back({ticket, attempt + 1});
  };
  PublishNotification(n, /*may_fetch=*/true, [this, ticket, retry_later](const absl::Status& d) {
    if (d.ok()) return journal_.MarkPublished(ticket.supply_id());
    retry_later();
  });
}

void Central::RetryTickets() {
  std::vector<TicketRetry> due;
  {
    absl::MutexLock lock(&retry_mu_);
    due.swap(tickets_to_retry_);
  }
  if (due.empty()) return;
  log::Info("sending tickets again", {{"tickets", due.size()}});
  for (const TicketRetry& r : due) PublishTicket(r.ticket, r.attempt);
}

void Central::PrefetchNotificationKey(const std::string& driver_id) { notification_keys_.Prefetch(driver_id); }

void Central::ForgetNotificationKeys() { notification_keys_.Forget(); }

void Central::PublishNotification(const events::v1::DriverNotification& n, bool may_fetch,
                                  Publisher::Delivered on_delivery) {
  if (!may_fetch) {
    std::optional<NotificationKey> key = notification_keys_.Known(n.driver_id());
    return SealAndPublish(n, key ? absl::StatusOr<NotificationKey>(*key)
                                 : absl::FailedPreconditionError("no notification key for the driver yet"),
                          std::move(on_delivery));
  }
  notification_keys_.With(n.driver_id(), [this, n, on_delivery = std::move(on_delivery)](
                                              const absl::StatusOr<NotificationKey>& key) mutable {
    SealAndPublish(n, key, std::move(on_delivery));
  });
}

void Central::SealAndPublish(const events::v1::DriverNotification& n, const absl::StatusOr<NotificationKey>& key,
                             Publisher::Delivered on_delivery) {
  // Only its driver can open it: the topic is readable by any broker client.
  absl::StatusOr<events::v1::SealedNotification> sealed =
      key.ok() ? SealNotification(*key, n) : absl::StatusOr<events::v1::SealedNotification>(key.status());
  Publisher::Delivered told = on_delivery;  // Publish takes it only when it queues the notice
  absl::Status s = sealed.ok() ? publisher_.Publish(topics::kDriverNotifications, n.driver_id(), *sealed,
                                                    std::move(on_delivery))
                               : sealed.status();
  if (s.ok()) return;
  log::Warn("driver notification not sent",
            {{"driver_id", n.driver_id()}, {"request_id", n.request_id()}, {"error", s.ToString()}});
  if (told) told(s);
}

absl::Status Central::MonitorRegistered(const std::string& cp_id, const central::v1::Health& health) {
  if (absl::Status s = ValidateHealth(health); !s.ok()) return s;
  {
    absl::MutexLock lock(&mu_);
    Effects fx;
    absl::Status s = network_.MonitorRegistered(cp_id, health, clock_.Now(), fx);
    Apply(std::move(fx));
    if (!absl::IsNotFound(s) || catalogue_ == nullptr) return s;
  }
  // A network call: outside the lock. The registry's answer is the catalogue
  // entry its event would have brought (an upsert, so the late event is harmless).
  absl::StatusOr<common::v1::ChargingPoint> cp = catalogue_->Lookup(cp_id);
  if (!cp.ok()) {
    return absl::IsNotFound(cp.status())
               ? absl::NotFoundError(absl::StrCat("charging point '", cp_id, "' is not registered"))
               : cp.status();
  }
  absl::MutexLock lock(&mu_);
  Effects fx;
  network_.UpsertChargingPoint(*cp, clock_.Now(), fx);
  absl::Status s = network_.MonitorRegistered(cp_id, health, clock_.Now(), fx);
  Apply(std::move(fx));
  return s;
}

absl::Status Central::MonitorHealth(const std::string& cp_id, const central::v1::Health& health) {
  if (absl::Status s = ValidateHealth(health); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Effects fx;
  absl::Status s = network_.MonitorHealth(cp_id, health, clock_.Now(), fx);
  Apply(std::move(fx));
  return s;
}

absl::StatusOr<common::v1::Supply> Central::RequestCharge(const absl::StatusOr<Caller>& caller,
                                                          const std::string& cp_id,
                                                          const std::string& driver_id,
                                                          const std::string& request_id) {
  if (absl::Status s = ValidateCpId(cp_id); !s.ok()) return s;
  // On its way while the charge is decided: its notices wait for it, the engine's command does not.
  if (caller.ok() && caller->is_driver()) PrefetchNotificationKey(caller->name);
  absl::StatusOr<SupplyRecord> supply;
  absl::Status durable_status = RunDurably([&](ChargingNetwork& network, absl::Time now, Effects& fx) {
    supply = network.DriverRequestsCharge(caller, driver_id, cp_id, request_id, now, fx);
  });
  // A refusal changed nothing but the audit trail: it is the answer even
  // when the journal is down.
  if (!supply.ok()) return supply.status();
  if (!durable_status.ok()) return durable_status;
  return ToProtoSupply(*supply);
}

absl::StatusOr<common::v1::Supply> Central::StopCharge(const absl::StatusOr<Caller>& caller,
                                                       const std::string& supply_id,
                                                       const std::string& driver_id) {
  if (supply_id.empty()) return absl::InvalidArgumentError("supply_id is required");
  absl::StatusOr<SupplyRecord> result;
  absl::Status durable_status = RunDurably([&](ChargingNetwork& network, absl::Time now, Effects& fx) {
    result = network.DriverRequestsStop(caller, driver_id, supply_id, now, fx);
  });
  // A refusal changed nothing but the audit trail: it is the answer even
  // when the journal is down.
  if (!result.ok()) return result.status();
  if (!durable_status.ok()) return durable_status;
  return ToProtoSupply(*result);
}

absl::StatusOr<common::v1::QueueStatus> Central::JoinQueue(const absl::StatusOr<Caller>& caller,
                                                          const v1::JoinQueueRequest& req) {
  absl::StatusOr<common::v1::QueueStatus> result;
  absl::Status durable_status = RunDurably([&](ChargingNetwork& network, absl::Time now, Effects& fx) {
    if (absl::Status refusal = network.AdmitDriver(caller, req.driver_id(), "queue_join", "", now, fx);
        !refusal.ok()) {
      result = refusal;
      return;
    }
    result = network.JoinQueue(*caller, req.city(), req.address(), req.requested_energy_wh(), now,
                               fx);
  });
  if (!result.ok()) return result;
  if (!durable_status.ok()) return durable_status;
  return result;
}

absl::StatusOr<common::v1::QueueStatus> Central::LeaveQueue(const absl::StatusOr<Caller>& caller,
                                                           const std::string& driver_id) {
  absl::StatusOr<common::v1::QueueStatus> result;
  absl::Status durable_status = RunDurably([&](ChargingNetwork& network, absl::Time now, Effects& fx) {
    if (absl::Status refusal = network.AdmitDriver(caller, driver_id, "queue_leave", "", now, fx);
        !refusal.ok()) {
      result = refusal;
      return;
    }
    result = network.LeaveQueue(caller->name, *caller, now, fx);
  });
  if (!result.ok()) return result;
  if (!durable_status.ok()) return durable_status;
  return result;
}

absl::StatusOr<common::v1::QueueStatus> Central::QueuePosition(const Caller& caller,
                                                              const std::string& driver_id) {
  absl::StatusOr<std::string> whose = QueueViewedFor(caller, driver_id);
  if (!whose.ok()) return whose.status();
  absl::MutexLock lock(&mu_);
  return network_.QueueView(*whose, clock_.Now());
}

std::vector<common::v1::QueueStatus> Central::ListQueues() const {
  absl::MutexLock lock(&mu_);
  return network_.ListQueues(clock_.Now());
}

absl::StatusOr<std::vector<std::string>> Central::Operate(
    const Caller& actor, const std::string& cp_id, bool all,
    absl::StatusOr<std::vector<std::string>> (ChargingNetwork::*command)(const std::string&,
                                                                        const Caller&, absl::Time,
                                                                        Effects&)) {
  if (!all) {
    if (absl::Status s = ValidateCpId(cp_id); !s.ok()) return s;
  }
  absl::StatusOr<std::vector<std::string>> result;
  absl::Status durable_status = RunDurably([&](ChargingNetwork& network, absl::Time now, Effects& fx) {
    result = (network.*command)(all ? "" : cp_id, actor, now, fx);
  });
  if (!durable_status.ok()) return durable_status;
  return result;
}

absl::StatusOr<std::vector<std::string>> Central::OperatorStop(const Caller& actor,
                                                               const std::string& cp_id, bool all) {
  return Operate(actor, cp_id, all, &ChargingNetwork::OperatorStop);
}

absl::StatusOr<std::vector<std::string>> Central::OperatorResume(const Caller& actor,
                                                                 const std::string& cp_id, bool all) {
  return Operate(actor, cp_id, all, &ChargingNetwork::OperatorResume);
}

absl::StatusOr<central::v1::SitePowerCap> Central::SetSitePowerCap(const Caller& actor,
                                                                   const SiteCap& cap) {
  if (absl::Status s = SitePowerCaps::Validate(cap.address, cap.city, cap.cap_w); !s.ok()) return s;
  common::v1::Location site;
  site.set_address(cap.address);
  site.set_city(cap.city);
  absl::MutexLock caps_lock(&caps_mu_);
  // Stored first: a cap in force survives a restart of central.
  if (absl::Status s = store_.SaveSiteCap(SiteKeyOf(site), cap, actor.AuditName()); !s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the site power cap could not be stored (try again): ", s.message()));
  }
  absl::StatusOr<central::v1::SitePowerCap> result;
  absl::Status durable_status = RunDurably([&](ChargingNetwork& network, absl::Time now, Effects& fx) {
    result = network.SetSitePowerCap(cap, actor, now, fx);
  });
  if (!durable_status.ok()) return durable_status;
  return result;
}

std::vector<central::v1::SitePowerCap> Central::SiteCapViews() {
  absl::MutexLock lock(&mu_);
  return network_.SiteCapViews();
}

absl::StatusOr<WeatherHoldsResult> Central::ApplyWeatherHolds(
    const std::map<std::string, std::string>& held, const Caller& actor) {
  absl::StatusOr<WeatherHoldsResult> result;
  absl::Status durable_status = RunDurably([&](ChargingNetwork& network, absl::Time now, Effects& fx) {
    result = network.ApplyWeatherHolds(held, actor, now, fx);
  });
  if (!durable_status.ok()) return durable_status;
  return result;
}

absl::Status Central::RunAndWait(Change change, bool (*wait)(const Effects&)) {
  auto durable = std::make_shared<absl::Notification>();
  bool waits = false;
  {
    absl::MutexLock lock(&mu_);
    Effects fx;
    change(network_, clock_.Now(), fx);
    waits = wait(fx);
    Apply(std::move(fx), waits ? std::function<void()>([durable] { durable->Notify(); }) : nullptr);
  }
  if (!waits || durable->WaitForNotificationWithTimeout(kDurableWait)) return absl::OkStatus();
  return journal_.NotDurableError();
}

void Central::Run(Change change) { (void)RunAndWait(change, &Never); }

absl::Status Central::RunDurably(Change change) { return RunAndWait(change, &Always); }

absl::Status Central::RunDurablyIfNeeded(Change change) { return RunAndWait(change, &WhenNeeded); }

absl::Status Central::WaitForJournal() {
  return RunDurably([](ChargingNetwork&, absl::Time, Effects&) {});
}

std::vector<central::v1::ChargingPointStatus> Central::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return network_.Snapshot();
}

absl::StatusOr<central::v1::SupplyView> Central::GetSupply(const std::string& supply_id) {
  if (supply_id.empty()) return absl::InvalidArgumentError("supply_id is required");
  central::v1::SupplyView view;
  {
    absl::MutexLock lock(&mu_);
    if (auto s = network_.FindSupply(supply_id)) {
      *view.mutable_supply() = ToProtoSupply(*s);
      return view;
    }
  }
  absl::StatusOr<std::optional<common::v1::Ticket>> ticket = store_.GetTicket(supply_id);
  if (!ticket.ok()) return ticket.status();
  if (!ticket->has_value()) return absl::NotFoundError(absl::StrCat("no supply ", supply_id));
  *view.mutable_ticket() = **ticket;
  EndWithTicket(view.ticket(), *view.mutable_supply());
  return view;
}

absl::StatusOr<std::vector<common::v1::Ticket>> Central::ListTickets(const std::string& driver_id,
                                                                     const std::string& cp_id,
                                                                     int limit) {
  if (limit <= 0 || limit > 1000) limit = 100;
  return store_.ListTickets(driver_id, cp_id, limit);
}

NetworkCounters Central::counters() const {
  absl::MutexLock lock(&mu_);
  return network_.counters();
}

central::v1::NetworkStats Central::Stats() const {
  central::v1::NetworkStats stats;
  {
    absl::MutexLock lock(&mu_);
    const NetworkCounters& c = network_.counters();
    stats.set_telemetry_applied(c.telemetry_applied);
    stats.set_telemetry_duplicates(c.telemetry_duplicates);
    stats.set_engine_events_ignored(c.engine_events_ignored);
    for (const auto& [state, n] : network_.CountByState()) {
      stats.set_charging_points(stats.charging_points() + n);
      if (state != common::v1::CP_STATE_DISCONNECTED) stats.set_connected(stats.connected() + n);
      if (state == common::v1::CP_STATE_SUPPLYING) stats.set_supplying(n);
    }
  }
  stats.set_journal_transactions(journal_.transactions());
  stats.set_watchers(static_cast<int64_t>(broadcaster_.size()));
  return stats;
}

common::v1::CpState Central::StateOf(const std::string& cp_id) const {
  absl::MutexLock lock(&mu_);
  std::optional<central::v1::ChargingPointStatus> status = network_.Status(cp_id);
  return status ? status->state() : common::v1::CP_STATE_DISCONNECTED;
}

void Central::Watch(Watcher* w, bool with_snapshot) {
  absl::MutexLock lock(&mu_);
  if (with_snapshot) {
    std::vector<central::v1::ChargingPointStatus> cps = network_.Snapshot();
    for (size_t first = 0; first == 0 || first < cps.size(); first += kSnapshotPartSize) {
      auto part = std::make_shared<central::v1::NetworkUpdate>();
      central::v1::NetworkSnapshot* snapshot = part->mutable_snapshot();
      snapshot->set_continued(first > 0);
      const size_t end = std::min(cps.size(), first + kSnapshotPartSize);
      for (size_t i = first; i < end; ++i) *snapshot->add_charging_points() = std::move(cps[i]);
      w->Offer(part);
    }
  }
  broadcaster_.Add(w);
}

void Central::Unwatch(Watcher* w) { broadcaster_.Remove(w); }

void Central::EndWatchers() { broadcaster_.EndAll(); }

}  // namespace evc::central
