#include "services/central/central.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "services/common/auth_client.h"
#include "services/common/log.h"
#include "services/common/proto_time.h"
#include "services/common/validation.h"

namespace evc::central {
namespace {

// How long a caller waits for its change to be durable before it is told the
// database is not accepting writes (gRPC clients give central 10 s).
constexpr absl::Duration kDurableWait = absl::Seconds(5);

// Runs `fn` under `mu` and waits, without the lock, until its effects are
// durable: OK, or the journal's UNAVAILABLE after kDurableWait.
template <typename Fn>
absl::Status RunDurably(absl::Mutex& mu, const Journal& journal, Fn fn) {
  auto durable = std::make_shared<absl::Notification>();
  {
    absl::MutexLock lock(&mu);
    fn([durable] { durable->Notify(); });
  }
  if (durable->WaitForNotificationWithTimeout(kDurableWait)) return absl::OkStatus();
  return journal.NotDurableError();
}

// The supply a report names becomes a STOP and an audit record: an id, or nothing.
absl::Status ValidateHealth(const central::v1::Health& health) {
  if (health.engine_supply_id().empty()) return absl::OkStatus();
  absl::Status s = ValidateSupplyId(health.engine_supply_id());
  if (s.ok()) return s;
  return absl::InvalidArgumentError(absl::StrCat("health report: engine_supply_id: ", s.message()));
}

}  // namespace

Central::Central(NetworkConfig config, SupplyStore& store, Publisher& publisher,
                 TokenVerifier& tokens, CpKeySource& keys, const Clock& clock)
    : store_(store), publisher_(publisher), tokens_(tokens), key_source_(keys), clock_(clock),
      journal_(store), network_(config), resend_interval_(config.command_resend_interval) {}

Central::~Central() { Stop(); }

absl::Status Central::Start(const std::vector<common::v1::ChargingPoint>& catalogue) {
  if (absl::Status s = RestoreReplayMarks(); !s.ok()) return s;
  absl::StatusOr<std::vector<SupplyRecord>> open = store_.LoadOpenSupplies();
  if (!open.ok()) return open.status();
  absl::StatusOr<std::vector<common::v1::Ticket>> unsent = store_.LoadUnpublishedTickets();
  if (!unsent.ok()) return unsent.status();
  absl::StatusOr<std::vector<HoldChange>> holds = store_.LoadHolds();
  if (!holds.ok()) return holds.status();
  {
    absl::MutexLock lock(&mu_);
    Effects fx;
    const absl::Time now = clock_.Now();
    for (const auto& cp : catalogue) network_.UpsertChargingPoint(cp, now, fx);
    for (const auto& h : *holds) network_.RestoreHold(h);
    for (const auto& s : *open) network_.RestoreSupply(s, now, fx);
    fx.audit.push_back({now, AuditCategory::kSystem, "central_started", "central", "", "OK",
                        {{"charging_points", catalogue.size()},
                         {"open_supplies", open->size()},
                         {"holds", holds->size()}}});
    Apply(std::move(fx));
  }
  // Live readings are sealed under the lock, with keys already known.
  for (const auto& s : *open) {
    if (!s.driver_id.empty()) (void)NotificationKeyOf(s.driver_id, /*may_fetch=*/true);
  }
  for (const auto& t : *unsent) PublishTicket(t);
  log::Info("central started", {{"charging_points", catalogue.size()},
                                {"restored_supplies", open->size()},
                                {"tickets_resent", unsent->size()}});
  ticker_ = std::thread([this] { TickLoop(); });
  return absl::OkStatus();
}

void Central::Stop() {
  {
    absl::MutexLock lock(&stop_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (ticker_.joinable()) ticker_.join();
  journal_.Stop();
}

void Central::SetLinkCloser(std::function<void(const std::string&, const std::string&)> closer) {
  absl::MutexLock lock(&mu_);
  link_closer_ = std::move(closer);
}

void Central::SetCatalogueLookup(CatalogueLookup lookup) {
  absl::MutexLock lock(&mu_);
  catalogue_lookup_ = std::move(lookup);
}

void Central::SetReplayMarkStore(ReplayMarkStore* marks) {
  absl::MutexLock lock(&open_mu_);
  replay_marks_ = marks;
}

absl::Status Central::RestoreReplayMarks() {
  absl::MutexLock lock(&open_mu_);
  if (replay_marks_ == nullptr) return absl::OkStatus();
  absl::StatusOr<std::vector<ReplayMark>> marks = replay_marks_->LoadReplayMarks();
  if (!marks.ok()) return marks.status();
  for (ReplayMark& m : *marks) {
    replay_guard_.Restore(m.cp_id, m.counter);
    restored_marks_[m.cp_id] = std::move(m);
  }
  return absl::OkStatus();
}

// Why the marks are saved here, after the batch and before its offsets are
// stored (the consumer stores them when HandleKafkaBatch returns):
// - every record whose offset gets committed is covered, so after a restart
//   none of them can be replayed: Kafka does not redeliver it, and a copy of
//   it appended by an attacker comes at a new offset with an old counter;
// - a record covered but redelivered after a crash (its offset not committed
//   yet) was handled before: what needs durability was committed before this
//   point (HandleKafkaBatch waits for it), and what does not (telemetry,
//   "started") is re-derived from the next telemetry, which carries the
//   cumulative energy and the next seq. Such a record is at or before the
//   saved Kafka position and is skipped quietly; a covered counter at a later
//   position is a replay, refused and audited.
// A batch whose effects did not become durable in time holds the marks back
// until the journal has caught up (a barrier through it). One small write per
// batch that opened envelopes, on the consumer thread; if it fails the marks
// stay pending and go with the next batch.
void Central::PersistReplayMarks(bool batch_durable) {
  bool barrier = false;
  {
    absl::MutexLock lock(&open_mu_);
    if (replay_marks_ == nullptr || unsaved_marks_.empty()) return;
    if (!batch_durable) {
      marks_wait_for_journal_ = true;
      return;
    }
    barrier = marks_wait_for_journal_;
  }
  if (barrier) {
    auto caught_up = std::make_shared<absl::Notification>();
    {
      absl::MutexLock lock(&mu_);
      Apply(Effects(), [caught_up] { caught_up->Notify(); });
    }
    if (!caught_up->WaitForNotificationWithTimeout(kDurableWait)) return;
  }
  absl::MutexLock lock(&open_mu_);
  marks_wait_for_journal_ = false;
  std::vector<ReplayMark> marks;
  marks.reserve(unsaved_marks_.size());
  for (const auto& [cp_id, m] : unsaved_marks_) marks.push_back(m);
  if (absl::Status s = replay_marks_->SaveReplayMarks(marks); !s.ok()) {
    log::Warn("replay marks not saved yet", {{"charging_points", marks.size()}, {"error", s.ToString()}});
    return;
  }
  unsaved_marks_.clear();
}

absl::Status Central::LoadKeys(const std::string& cp_id) {
  absl::StatusOr<std::vector<CpKey>> keys = key_source_.Keys(cp_id);
  if (!keys.ok()) return keys.status();
  if (keys->empty()) {
    return absl::FailedPreconditionError(absl::StrCat("charging point '", cp_id, "' has no valid key"));
  }
  keys_.Set(cp_id, std::move(*keys));
  return absl::OkStatus();
}

void Central::TickLoop() {
  while (true) {
    {
      absl::MutexLock lock(&stop_mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(stop_mu_) { return stopping_; };
      if (stop_mu_.AwaitWithTimeout(absl::Condition(&stopping), absl::Milliseconds(20))) return;
    }
    if (clock_.Now() - last_ticket_retry_ >= resend_interval_) {
      last_ticket_retry_ = clock_.Now();
      RetryTickets();
    }
    absl::MutexLock lock(&mu_);
    Effects fx;
    const absl::Time now = clock_.Now();
    network_.Tick(now, fx);
    Apply(std::move(fx));
    if (now - last_sample_ >= absl::Seconds(1)) {
      metrics_.Sample(network_.CountByState(), network_.counters());
      last_sample_ = now;
    }
  }
}

void Central::Apply(Effects fx, std::function<void()> after_durable) {
  // Live figures at most every 20 ms (see ChargingNetwork::EmitFigures); the
  // timer thread emits what is left.
  constexpr absl::Duration kFigureInterval = absl::Milliseconds(20);
  const absl::Time now = clock_.Now();
  metrics_.Observe(fx);
  if (network_.HasPendingFigures() && now - last_figures_ >= kFigureInterval) {
    network_.EmitFigures(now, fx);
    last_figures_ = now;
  }
  for (auto& u : fx.updates) {
    broadcaster_.Send(std::make_shared<const central::v1::NetworkUpdate>(std::move(u)));
  }
  // Live readings are superseded by the next one: not retried.
  for (const auto& r : fx.readings) (void)PublishNotification(r, /*may_fetch=*/false);
  for (const auto& a : fx.audit) LogAudit(a);
  if (!fx.NeedsDurability() && fx.supplies_changed.empty() && fx.audit.empty() && !after_durable) {
    return;
  }
  JournalBatch batch;
  batch.opened = std::move(fx.supplies_opened);
  batch.changed = std::move(fx.supplies_changed);
  batch.tickets = fx.tickets;
  batch.audit = std::move(fx.audit);
  batch.holds = std::move(fx.holds_changed);
  std::function<void()> send;
  if (!fx.commands.empty() || !fx.notices.empty() || !fx.tickets.empty() || after_durable) {
    send = [this, commands = std::move(fx.commands), notices = std::move(fx.notices),
            tickets = std::move(fx.tickets), after_durable = std::move(after_durable)] {
      for (const auto& c : commands) SendCommand(c);
      for (const auto& n : notices) (void)PublishNotification(n, /*may_fetch=*/true);
      for (const auto& t : tickets) PublishTicket(t);
      if (after_durable) after_durable();
    };
  }
  journal_.Submit(std::move(batch), std::move(send));
}

void Central::SendCommand(const events::v1::EngineCommand& command) {
  const absl::Time now = clock_.Now();
  std::optional<CpKey> key = keys_.ForSealing(command.cp_id(), now);
  absl::StatusOr<events::v1::SealedEnvelope> sealed =
      key ? SealEnvelope(events::v1::SealedEnvelope::DIRECTION_CENTRAL_TO_ENGINE, command.cp_id(),
                         *key, command_counter_.Next(now), command.SerializeAsString())
          : absl::FailedPreconditionError("no key for this charging point");
  // Lost on the way or not: the network keeps what it owes the engine and
  // sends it again until the engine's reports show it acted (OwedCommand).
  auto undelivered = [cp_id = command.cp_id(), id = command.command_id()](const absl::Status& d) {
    if (!d.ok()) {
      log::Warn("engine command not delivered", {{"cp_id", cp_id}, {"command_id", id}, {"error", d.ToString()}});
    }
  };
  absl::Status s = sealed.ok() ? publisher_.Publish(topics::kEngineCommands, command.cp_id(), *sealed,
                                                    undelivered)
                               : sealed.status();
  if (!s.ok()) log::Error("engine command not sent", {{"cp_id", command.cp_id()}, {"error", s.ToString()}});
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
  absl::Status queued =
      PublishNotification(n, /*may_fetch=*/true, [this, ticket, retry_later](const absl::Status& d) {
        if (d.ok()) return journal_.MarkPublished(ticket.supply_id());
        retry_later();
      });
  if (!queued.ok()) retry_later();
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

std::optional<NotificationKey> Central::NotificationKeyOf(const std::string& driver_id, bool may_fetch) {
  {
    absl::MutexLock lock(&notify_mu_);
    auto it = notification_keys_.find(driver_id);
    if (it != notification_keys_.end()) return it->second;
  }
  if (!may_fetch || trust_.notification_keys == nullptr) return std::nullopt;
  absl::StatusOr<NotificationKey> key = trust_.notification_keys->Key(driver_id);
  if (!key.ok()) {
    log::Warn("cannot get a driver's notification key", {{"driver_id", driver_id}, {"error", key.status().ToString()}});
    return std::nullopt;
  }
  absl::MutexLock lock(&notify_mu_);
  notification_keys_[driver_id] = *key;
  return *key;
}

absl::Status Central::PublishNotification(const events::v1::DriverNotification& n, bool may_fetch,
                                          Publisher::Delivered on_delivery) {
  // Only its driver can open it: the topic is readable by any broker client.
  std::optional<NotificationKey> key = NotificationKeyOf(n.driver_id(), may_fetch);
  absl::StatusOr<events::v1::SealedNotification> sealed =
      key ? SealNotification(*key, n) : absl::FailedPreconditionError("no notification key for the driver");
  absl::Status s = sealed.ok() ? publisher_.Publish(topics::kDriverNotifications, n.driver_id(), *sealed,
                                                    std::move(on_delivery))
                               : sealed.status();
  if (!s.ok()) {
    log::Warn("driver notification not sent",
              {{"driver_id", n.driver_id()}, {"request_id", n.request_id()}, {"error", s.ToString()}});
  }
  return s;
}

absl::Status Central::MonitorRegistered(const std::string& cp_id, const central::v1::Health& health) {
  if (absl::Status s = ValidateHealth(health); !s.ok()) return s;
  CatalogueLookup lookup;
  {
    absl::MutexLock lock(&mu_);
    Effects fx;
    absl::Status s = network_.MonitorRegistered(cp_id, health, clock_.Now(), fx);
    Apply(std::move(fx));
    if (!absl::IsNotFound(s) || !catalogue_lookup_) return s;
    lookup = catalogue_lookup_;
  }
  // A network call: outside the lock. The registry's answer is the catalogue
  // entry its event would have brought (an upsert, so the late event is harmless).
  absl::StatusOr<common::v1::ChargingPoint> cp = lookup(cp_id);
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

absl::StatusOr<Caller> Central::DriverOf(const std::string& access_token,
                                         const std::string& driver_id, const std::string& action,
                                         const std::string& cp_id) {
  absl::StatusOr<Claims> claims = tokens_.Verify(access_token);
  absl::StatusOr<Caller> caller =
      claims.ok() ? CallerFromClaims(*claims, "grpc") : absl::StatusOr<Caller>(claims.status());
  absl::Status refusal = caller.ok() ? MayChargeAs(*caller, driver_id) : caller.status();
  if (refusal.ok()) return caller;
  absl::MutexLock lock(&mu_);
  Effects fx;
  fx.audit.push_back({clock_.Now(), AuditCategory::kSecurity, action + "_refused",
                      claims.ok() ? claims->subject : (driver_id.empty() ? "anonymous" : driver_id),
                      cp_id, "REJECTED", {{"reason", std::string(refusal.message())}}});
  Apply(std::move(fx));
  return refusal;
}

absl::StatusOr<Caller> Central::AssertedDriver(const events::v1::ChargeRequest& r) {
  const absl::Time now = clock_.Now();
  absl::StatusOr<events::v1::ChargeAssertion> a =
      trust_.auth_keys == nullptr
          ? absl::UnauthenticatedError("central has no auth keys to verify charge assertions with")
          : VerifyChargeAssertion(r.assertion(), *trust_.auth_keys, r.cp_id(), r.request_id(), r.driver_id(), now);
  absl::Status refusal = a.status();
  // Each assertion once (a replay of a captured request). After a restart
  // the guard is empty, but an assertion lives a minute and its request id
  // is answered idempotently by the network: a replay opens no new supply.
  if (refusal.ok()) refusal = assertion_guard_.Accept(a->assertion_id(), FromProto(a->expires_at()), now);
  if (refusal.ok()) return Caller::Driver(a->subject(), "kafka", a->session_id());
  absl::MutexLock lock(&mu_);
  Effects fx;
  fx.audit.push_back({now, AuditCategory::kSecurity, "charge_request_refused",
                      a.ok() ? a->subject() : (r.driver_id().empty() ? "anonymous" : r.driver_id()), r.cp_id(),
                      "REJECTED",
                      {{"reason", std::string(refusal.message())}, {"request_id", r.request_id()},
                       {"carried_access_token", !r.access_token().empty()}},
                      topics::kChargeRequests});
  Apply(std::move(fx));
  return refusal;
}

absl::StatusOr<common::v1::Supply> Central::RequestCharge(const std::string& cp_id,
                                                          const std::string& driver_id,
                                                          const std::string& request_id,
                                                          const std::string& access_token) {
  if (absl::Status s = ValidateCpId(cp_id); !s.ok()) return s;
  absl::StatusOr<Caller> driver = DriverOf(access_token, driver_id, "charge_request", cp_id);
  if (!driver.ok()) return driver.status();
  // Known before the supply's notices are sealed for this driver.
  (void)NotificationKeyOf(driver->name, /*may_fetch=*/true);
  ChargeDecision decision;
  absl::Status durable_status =
      RunDurably(mu_, journal_, [&](std::function<void()> durable) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        Effects fx;
        decision = network_.RequestCharge(cp_id, *driver, true, request_id, clock_.Now(), fx);
        Apply(std::move(fx), std::move(durable));
      });
  if (!durable_status.ok()) return durable_status;
  if (!decision.accepted()) return decision.status();
  return ToProtoSupply(*decision.supply);
}

absl::StatusOr<common::v1::Supply> Central::StopCharge(const std::string& supply_id,
                                                       const std::string& driver_id,
                                                       const std::string& access_token) {
  if (supply_id.empty()) return absl::InvalidArgumentError("supply_id is required");
  absl::StatusOr<Caller> driver = DriverOf(access_token, driver_id, "stop_request", "");
  if (!driver.ok()) return driver.status();
  absl::StatusOr<SupplyRecord> result;
  absl::Status durable_status =
      RunDurably(mu_, journal_, [&](std::function<void()> durable) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        Effects fx;
        result = network_.DriverStop(supply_id, *driver, clock_.Now(), fx);
        Apply(std::move(fx), std::move(durable));
      });
  if (!durable_status.ok()) return durable_status;
  if (!result.ok()) return result.status();
  return ToProtoSupply(*result);
}

absl::StatusOr<std::vector<std::string>> Central::Operate(
    const std::string& cp_id, bool all, const std::string& actor,
    absl::StatusOr<std::vector<std::string>> (ChargingNetwork::*command)(const std::string&,
                                                                        const Caller&, absl::Time,
                                                                        Effects&)) {
  if (!all) {
    if (absl::Status s = ValidateCpId(cp_id); !s.ok()) return s;
  }
  absl::StatusOr<std::vector<std::string>> result;
  absl::Status durable_status =
      RunDurably(mu_, journal_, [&](std::function<void()> durable) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        Effects fx;
        result = (network_.*command)(all ? "" : cp_id, Caller::Operator(actor), clock_.Now(), fx);
        Apply(std::move(fx), std::move(durable));
      });
  if (!durable_status.ok()) return durable_status;
  return result;
}

absl::StatusOr<std::vector<std::string>> Central::OperatorStop(const std::string& cp_id, bool all,
                                                               const std::string& actor) {
  return Operate(cp_id, all, actor, &ChargingNetwork::OperatorStop);
}

absl::StatusOr<std::vector<std::string>> Central::OperatorResume(const std::string& cp_id, bool all,
                                                                 const std::string& actor) {
  return Operate(cp_id, all, actor, &ChargingNetwork::OperatorResume);
}

absl::StatusOr<WeatherHoldsResult> Central::ApplyWeatherHolds(
    const std::map<std::string, std::string>& held, const Caller& actor) {
  absl::StatusOr<WeatherHoldsResult> result;
  absl::Status durable_status =
      RunDurably(mu_, journal_, [&](std::function<void()> durable) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        Effects fx;
        result = network_.ApplyWeatherHolds(held, actor, clock_.Now(), fx);
        Apply(std::move(fx), std::move(durable));
      });
  if (!durable_status.ok()) return durable_status;
  return result;
}

void Central::HandleKafkaBatch(std::span<const KafkaMessage> batch, KafkaProducer* dead_letters) {
  std::vector<events::v1::ChargeRequest> requests;
  // Opened off the lock: decryption, signatures and key fetches do not hold the network.
  std::vector<absl::StatusOr<std::string>> opened(batch.size(), absl::StatusOr<std::string>(""));
  std::vector<std::optional<events::v1::RegistryEvent>> registry_events(batch.size());
  std::vector<std::pair<size_t, absl::Status>> refused;
  auto reject = [&](const KafkaMessage& m, const std::string& why) {
    if (dead_letters != nullptr) DeadLetter(*dead_letters, m, why);
  };
  for (size_t i = 0; i < batch.size(); ++i) {
    const KafkaMessage& m = batch[i];
    if (m.topic == topics::kEngineEvents) {
      opened[i] = OpenEngineMessage(m);
    } else if (m.topic == topics::kAuthEvents) {
      HandleAuthEvent(m);
    } else if (m.topic == topics::kRegistryEvents) {
      events::v1::RegistryEvent e;
      absl::Status s = trust_.registry_keys == nullptr
                           ? absl::UnauthenticatedError("central has no registry keys to verify events with")
                           : OpenSignedEvent(m.payload, *trust_.registry_keys, &e);
      if (s.ok()) {
        registry_events[i] = std::move(e);
      } else {
        refused.emplace_back(i, s);
      }
    } else if (m.topic == topics::kChargeRequests) {
      events::v1::ChargeRequest r;
      if (!r.ParseFromString(m.payload)) {
        reject(m, "not a ChargeRequest");
      } else if (r.cp_id() != m.key) {
        reject(m, absl::StrCat("key '", m.key, "' does not match cp_id '", r.cp_id(), "'"));
      } else {
        requests.push_back(std::move(r));
      }
    }
  }
  bool needs_wait = false;
  auto durable = std::make_shared<absl::Notification>();
  {
    absl::MutexLock lock(&mu_);
    Effects fx;
    for (size_t i = 0; i < batch.size(); ++i) {
      const KafkaMessage& m = batch[i];
      if (registry_events[i]) HandleRegistryEvent(m, *registry_events[i], fx, dead_letters);
      if (m.topic != topics::kEngineEvents) continue;
      if (opened[i].ok()) {
        HandleEngineEvent(m, *opened[i], fx);
        continue;
      }
      // Redelivered after a restart, already handled before it.
      if (absl::IsAlreadyExists(opened[i].status())) continue;
      const std::string why(opened[i].status().message());
      reject(m, why);
      fx.audit.push_back({clock_.Now(), AuditCategory::kSecurity, "sealed_message_rejected",
                          "cp:" + m.key, m.key, "REJECTED",
                          {{"reason", why}, {"partition", m.partition}, {"offset", m.offset}},
                          topics::kEngineEvents});
    }
    for (const auto& [i, why] : refused) RefuseSignedEvent(batch[i], why, fx);
    // Telemetry alone is not urgent: its progress is journaled on the next
    // periodic flush. Asking for a callback would force a transaction per batch.
    needs_wait = fx.NeedsDurability();
    if (needs_wait) {
      Apply(std::move(fx), [durable] { durable->Notify(); });
    } else {
      Apply(std::move(fx));
    }
  }
  // Bounded: with the database away the batch stays queued in the journal,
  // and the consumer must still stop on SIGTERM.
  bool durable_in_time = true;
  if (needs_wait && !durable->WaitForNotificationWithTimeout(kDurableWait)) {
    durable_in_time = false;
    log::Warn("kafka batch not durable in time; its effects stay queued",
              {{"error", journal_.NotDurableError().ToString()}});
  }
  PersistReplayMarks(durable_in_time);
  if (!requests.empty()) HandleChargeRequests(requests);
}

absl::StatusOr<std::string> Central::OpenEngineMessage(const KafkaMessage& m) {
  constexpr absl::Duration kRefetchInterval = absl::Seconds(1);
  const absl::Time now = clock_.Now();
  std::optional<CpKey> found;
  auto lookup = [&](const std::string& cp_id, const std::string& key_id) -> const CpKey* {
    found = keys_.Find(cp_id, key_id);
    return found ? &*found : nullptr;
  };
  absl::MutexLock lock(&open_mu_);
  absl::StatusOr<OpenedEnvelope> opened =
      OpenEnvelope(m.payload, events::v1::SealedEnvelope::DIRECTION_ENGINE_TO_CENTRAL, lookup, now);
  // A key not seen yet (central restarted, key rotated): ask auth once.
  if (absl::IsUnauthenticated(opened.status()) && !found && ValidateCpId(m.key).ok() &&
      now - last_key_fetch_[m.key] >= kRefetchInterval) {
    last_key_fetch_[m.key] = now;
    if (absl::Status s = LoadKeys(m.key); !s.ok()) {
      log::Warn("cannot fetch charging-point keys", {{"cp_id", m.key}, {"error", s.ToString()}});
    }
    opened = OpenEnvelope(m.payload, events::v1::SealedEnvelope::DIRECTION_ENGINE_TO_CENTRAL, lookup, now);
  }
  if (!opened.ok()) return opened.status();
  if (opened->cp_id != m.key) {
    return absl::UnauthenticatedError(
        absl::StrCat("envelope of '", opened->cp_id, "' under key '", m.key, "'"));
  }
  if (absl::Status s = replay_guard_.Accept(opened->cp_id, opened->counter); !s.ok()) {
    // Kafka redelivering, after a restart, a record central read before it
    // (at or before the saved position): see PersistReplayMarks.
    auto restored = restored_marks_.find(opened->cp_id);
    if (restored != restored_marks_.end() && opened->counter <= restored->second.counter &&
        m.partition == restored->second.partition && m.offset <= restored->second.offset) {
      return absl::AlreadyExistsError("handled before the restart");
    }
    return s;
  }
  unsaved_marks_[opened->cp_id] = {opened->cp_id, opened->counter, m.partition, m.offset};
  keys_.MarkInUse(opened->cp_id, opened->key_id);
  return std::move(opened->plaintext);
}

void Central::RefuseSignedEvent(const KafkaMessage& m, const absl::Status& why, Effects& fx) {
  RefuseEvent(m, why, "central", nullptr, clock_);
  fx.audit.push_back({clock_.Now(), AuditCategory::kSecurity, "event_refused", "central", "", "REJECTED",
                      {{"reason", std::string(why.message())}, {"partition", m.partition},
                       {"offset", m.offset}, {"key", m.key}},
                      m.topic});
}

void Central::HandleAuthEvent(const KafkaMessage& m) {
  events::v1::AuthEvent event;
  absl::Status verified = trust_.auth_keys == nullptr
                              ? absl::UnauthenticatedError("central has no auth keys to verify events with")
                              : OpenSignedEvent(m.payload, *trust_.auth_keys, &event);
  if (!verified.ok()) {
    absl::MutexLock lock(&mu_);
    Effects fx;
    RefuseSignedEvent(m, verified, fx);
    Apply(std::move(fx));
    return;
  }
  ApplyAuthEvent(event, tokens_);
  if (event.has_signing_key_rotated()) {
    // Notification keys derive from the signing key: fetch them again.
    absl::MutexLock lock(&notify_mu_);
    notification_keys_.clear();
  }
  std::string cp_id, why;
  if (event.has_cp_revoked()) {
    cp_id = event.cp_revoked().cp_id();
    why = absl::StrCat("charging point revoked (", event.cp_revoked().reason(), ")");
    keys_.Remove(cp_id);
  } else if (event.has_cp_key_rotated()) {
    cp_id = event.cp_key_rotated().cp_id();
    why = "key rotated: authenticate again for the new key";
    // Known before the monitor hands the new key to its engine.
    if (absl::Status s = LoadKeys(cp_id); !s.ok()) {
      log::Warn("cannot fetch rotated keys", {{"cp_id", cp_id}, {"error", s.ToString()}});
    }
  } else {
    return;
  }
  absl::MutexLock lock(&mu_);
  Effects fx;
  fx.audit.push_back({clock_.Now(), AuditCategory::kSecurity,
                      event.has_cp_revoked() ? "cp_link_cut_revoked" : "cp_link_cut_rotated", "central",
                      cp_id, "OK", {{"reason", why}}, topics::kAuthEvents});
  if (event.has_cp_key_rotated()) network_.ExpectReconnect(cp_id, clock_.Now());
  Apply(std::move(fx));
  if (link_closer_) link_closer_(cp_id, why);
}

void Central::HandleEngineEvent(const KafkaMessage& m, const std::string& plaintext, Effects& fx) {
  events::v1::EngineEvent& e = scratch_event_;
  std::string problem;
  if (!e.ParseFromString(plaintext)) {
    problem = "sealed content is not an EngineEvent";
  } else if (e.cp_id() != m.key) {
    problem = absl::StrCat("key '", m.key, "' does not match cp_id '", e.cp_id(), "'");
  } else if (e.kind_case() == events::v1::EngineEvent::KIND_NOT_SET) {
    problem = "EngineEvent without a kind";
  } else if (!network_.Knows(e.cp_id())) {
    problem = absl::StrCat("unknown charging point '", e.cp_id(), "'");
  }
  if (!problem.empty()) {
    fx.audit.push_back({clock_.Now(), AuditCategory::kError, "engine_event_rejected", "cp:" + m.key,
                        m.key, "REJECTED", {{"reason", problem}}, topics::kEngineEvents});
    return;
  }
  network_.OnEngineEvent(e, clock_.Now(), fx);
}

void Central::HandleRegistryEvent(const KafkaMessage& m, const events::v1::RegistryEvent& e, Effects& fx,
                                  KafkaProducer* dead_letters) {
  if (e.cp_id().empty() || e.cp_id() != m.key) {
    if (dead_letters != nullptr) DeadLetter(*dead_letters, m, "RegistryEvent without a cp_id matching its key");
    return;
  }
  const absl::Time now = clock_.Now();
  if (e.has_registered()) network_.UpsertChargingPoint(e.registered(), now, fx);
  if (e.has_updated()) network_.UpsertChargingPoint(e.updated(), now, fx);
  if (e.has_unregistered() || e.has_credentials_reset()) {
    if (e.has_unregistered()) network_.RemoveChargingPoint(e.cp_id(), now, fx);
    // Its monitor's token is dead: cut the link now rather than at expiry.
    if (link_closer_) {
      link_closer_(e.cp_id(), e.has_unregistered() ? "charging point unregistered"
                                                   : "charging point credentials reset");
    }
  }
}

void Central::HandleChargeRequests(const std::vector<events::v1::ChargeRequest>& requests) {
  for (const events::v1::ChargeRequest& r : requests) {
    absl::StatusOr<Caller> driver = AssertedDriver(r);
    // Known before the answer is sealed for this driver.
    if (ValidateDriverId(r.driver_id()).ok()) (void)NotificationKeyOf(r.driver_id(), /*may_fetch=*/true);
    // Not durable in time (database away): its notice leaves once it is.
    absl::Status durable_status =
        RunDurably(mu_, journal_, [&](std::function<void()> durable) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      Effects fx;
      network_.AnswerChargeRequest(r, driver, clock_.Now(), fx);
      Apply(std::move(fx), std::move(durable));
    });
    if (!durable_status.ok()) {
      log::Warn("charge request not durable in time", {{"error", durable_status.ToString()}});
    }
  }
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

void Central::Watch(Watcher* w, bool with_snapshot) {
  absl::MutexLock lock(&mu_);
  if (with_snapshot) {
    auto snapshot = std::make_shared<central::v1::NetworkUpdate>();
    for (auto& s : network_.Snapshot()) *snapshot->mutable_snapshot()->add_charging_points() = std::move(s);
    w->Offer(snapshot);
  }
  broadcaster_.Add(w);
}

void Central::Unwatch(Watcher* w) { broadcaster_.Remove(w); }

}  // namespace evc::central
