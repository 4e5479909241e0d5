#include "services/central/kafka_routes.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/auth_client.h"
#include "services/common/log.h"
#include "services/common/proto_time.h"
#include "services/common/service_credentials.h"
#include "services/common/validation.h"

namespace evc::central {
namespace {

// Registry events are the registry's word: verified by its signature.
Caller Registry() { return Caller::Service(std::string(kRegistry), "kafka"); }

// A record that cannot be used is kept with why, when there is somewhere to keep it.
void Reject(KafkaProducer* dead_letters, const KafkaMessage& m, const std::string& why) {
  if (dead_letters != nullptr) DeadLetter(*dead_letters, m, why);
}

}  // namespace

KafkaRoutes::KafkaRoutes(Central& central, EngineChannel& channel, TokenVerifier& tokens,
                         KafkaTrust trust, LinkCloser& links, const Clock& clock)
    : central_(central), channel_(channel), tokens_(tokens), trust_(trust), links_(links),
      clock_(clock), event_ages_(central.latency_stages()) {}

void KafkaRoutes::HandleBatch(std::span<const KafkaMessage> batch, KafkaProducer* dead_letters) {
  batch_received_at_ = clock_.Now();
  const Verified verified = Verify(batch, dead_letters);
  PersistReplayMarks(ApplyBatch(batch, verified, dead_letters));
  event_ages_.Flush();
  if (!tag_walk_ins_.empty()) HandleTagWalkIns();
  if (!verified.requests.empty()) HandleChargeRequests(verified.requests);
}

KafkaRoutes::Verified KafkaRoutes::Verify(std::span<const KafkaMessage> batch,
                                          KafkaProducer* dead_letters) {
  Verified v;
  channel_.PrefetchKeys(batch);
  v.opened.assign(batch.size(), absl::StatusOr<std::string>(""));
  v.registry_events.resize(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const KafkaMessage& m = batch[i];
    if (m.topic == topics::kEngineEvents) {
      v.opened[i] = channel_.Open(m);
    } else if (m.topic == topics::kAuthEvents) {
      HandleAuthEvent(m);
    } else if (m.topic == topics::kRegistryEvents) {
      events::v1::RegistryEvent e;
      absl::Status s = trust_.registry_keys == nullptr
                           ? absl::UnauthenticatedError("central has no registry keys to verify events with")
                           : OpenSignedEvent(m.payload, *trust_.registry_keys, &e);
      if (s.ok()) {
        v.registry_events[i] = std::move(e);
      } else {
        v.refused.emplace_back(i, s);
      }
    } else if (m.topic == topics::kChargeRequests) {
      events::v1::ChargeRequest r;
      std::string problem;
      if (!r.ParseFromString(m.payload)) {
        problem = "not a ChargeRequest";
      } else if (r.cp_id() != m.key) {
        problem = absl::StrCat("key '", m.key, "' does not match cp_id '", r.cp_id(), "'");
      }
      if (problem.empty()) {
        v.requests.push_back(std::move(r));
      } else {
        Reject(dead_letters, m, problem);
      }
    }
  }
  return v;
}

bool KafkaRoutes::ApplyBatch(std::span<const KafkaMessage> batch, const Verified& verified,
                             KafkaProducer* dead_letters) {
  std::vector<std::pair<std::string, std::string>> links_to_cut;
  absl::Status durable = central_.RunDurablyIfNeeded([&](ChargingNetwork& network, absl::Time now,
                                                         Effects& fx) {
    for (size_t i = 0; i < batch.size(); ++i) {
      const KafkaMessage& m = batch[i];
      if (verified.registry_events[i]) {
        auto cut = HandleRegistryEvent(m, *verified.registry_events[i], network, now, fx, dead_letters);
        if (cut) links_to_cut.push_back(std::move(*cut));
      }
      if (m.topic != topics::kEngineEvents) continue;
      const absl::StatusOr<std::string>& opened = verified.opened[i];
      if (opened.ok()) {
        HandleEngineEvent(m, *opened, network, now, fx);
        continue;
      }
      // Redelivered after a restart, already handled before it.
      if (absl::IsAlreadyExists(opened.status())) continue;
      const std::string why(opened.status().message());
      Reject(dead_letters, m, why);
      fx.audit.push_back({now, AuditCategory::kSecurity, "sealed_message_rejected",
                          Caller::ChargingPoint(m.key).AuditName(),
                          m.key, "REJECTED",
                          {{"reason", why}, {"partition", m.partition}, {"offset", m.offset}},
                          topics::kEngineEvents});
    }
    for (const auto& [i, why] : verified.refused) RefuseSignedEvent(batch[i], why, now, fx);
  });
  // Their monitors' tokens are dead: cut now rather than at expiry.
  for (const auto& [cp_id, why] : links_to_cut) links_.CloseLink(cp_id, why);
  if (!durable.ok()) {
    // Bounded: with the database away the batch stays queued in the journal,
    // and the consumer must still stop on SIGTERM.
    log::Warn("kafka batch not durable in time; its effects stay queued", {{"error", durable.ToString()}});
  }
  return durable.ok();
}

void KafkaRoutes::PersistReplayMarks(bool batch_durable) {
  switch (channel_.PlanMarkSave(batch_durable)) {
    case EngineChannel::MarkSave::kNothing:
      return;
    case EngineChannel::MarkSave::kAfterJournal:
      if (!central_.WaitForJournal().ok()) return;
      break;
    case EngineChannel::MarkSave::kNow:
      break;
  }
  channel_.SaveMarks();
}

void KafkaRoutes::RefuseSignedEvent(const KafkaMessage& m, const absl::Status& why, absl::Time now,
                                    Effects& fx) {
  RefuseEvent(m, why, "central", nullptr, clock_);
  fx.audit.push_back({now, AuditCategory::kSecurity, "event_refused", "central", "", "REJECTED",
                      {{"reason", std::string(why.message())}, {"partition", m.partition},
                       {"offset", m.offset}, {"key", m.key}},
                      m.topic});
}

void KafkaRoutes::HandleAuthEvent(const KafkaMessage& m) {
  events::v1::AuthEvent event;
  absl::Status verified = trust_.auth_keys == nullptr
                              ? absl::UnauthenticatedError("central has no auth keys to verify events with")
                              : OpenSignedEvent(m.payload, *trust_.auth_keys, &event);
  if (!verified.ok()) {
    central_.Run([&](ChargingNetwork&, absl::Time now, Effects& fx) {
      RefuseSignedEvent(m, verified, now, fx);
    });
    return;
  }
  ApplyAuthEvent(event, tokens_);
  // Notification keys derive from the signing key: fetch them again.
  if (event.has_signing_key_rotated()) central_.ForgetNotificationKeys();
  std::string cp_id, why;
  if (event.has_cp_revoked()) {
    cp_id = event.cp_revoked().cp_id();
    why = absl::StrCat("charging point revoked (", event.cp_revoked().reason(), ")");
    channel_.ForgetKeys(cp_id);
  } else if (event.has_cp_key_rotated()) {
    cp_id = event.cp_key_rotated().cp_id();
    why = "key rotated: authenticate again for the new key";
    // Known before the monitor hands the new key to its engine.
    if (absl::Status s = channel_.LoadKeys(cp_id); !s.ok()) {
      log::Warn("cannot fetch rotated keys", {{"cp_id", cp_id}, {"error", s.ToString()}});
    }
  } else {
    return;
  }
  central_.Run([&](ChargingNetwork& network, absl::Time now, Effects& fx) {
    fx.audit.push_back({now, AuditCategory::kSecurity,
                        event.has_cp_revoked() ? "cp_link_cut_revoked" : "cp_link_cut_rotated",
                        "central", cp_id, "OK", {{"reason", why}}, topics::kAuthEvents});
    if (event.has_cp_key_rotated()) network.ExpectReconnect(cp_id, now);
  });
  links_.CloseLink(cp_id, why);
}

void KafkaRoutes::HandleEngineEvent(const KafkaMessage& m, const std::string& plaintext,
                                    ChargingNetwork& network, absl::Time now, Effects& fx) {
  events::v1::EngineEvent& e = scratch_event_;
  std::string problem;
  if (!e.ParseFromString(plaintext)) {
    problem = "sealed content is not an EngineEvent";
  } else if (e.cp_id() != m.key) {
    problem = absl::StrCat("key '", m.key, "' does not match cp_id '", e.cp_id(), "'");
  } else if (e.kind_case() == events::v1::EngineEvent::KIND_NOT_SET) {
    problem = "EngineEvent without a kind";
  } else if (!network.Knows(e.cp_id())) {
    problem = absl::StrCat("unknown charging point '", e.cp_id(), "'");
  }
  if (!problem.empty()) {
    fx.audit.push_back({now, AuditCategory::kError, "engine_event_rejected",
                        Caller::ChargingPoint(m.key).AuditName(), m.key,
                        "REJECTED", {{"reason", problem}}, topics::kEngineEvents});
    return;
  }
  if (e.has_walk_in() && !e.walk_in().id_tag().empty()) {
    tag_walk_ins_.emplace_back(e.cp_id(), e.walk_in());
    return;
  }
  ObserveLatency(m, e, network, now);
  network.OnEngineEvent(e, now, fx);
}

void KafkaRoutes::ObserveLatency(const KafkaMessage& m, const events::v1::EngineEvent& e,
                                 const ChargingNetwork& network, absl::Time now) {
  event_ages_.Add(e, m.produced_at, batch_received_at_, now);
  if (!e.has_started() || !e.has_at()) return;
  // Only the start that the network takes: a redelivered one is news no more.
  std::optional<SupplyRecord> supply = network.FindSupply(e.started().supply_id());
  if (supply && supply->phase == common::v1::SUPPLY_PHASE_AUTHORIZED) {
    central_.latency_stages().SupplyStarted(supply->authorized_at, FromProto(e.at()));
  }
}

std::optional<std::pair<std::string, std::string>> KafkaRoutes::HandleRegistryEvent(
    const KafkaMessage& m, const events::v1::RegistryEvent& e, ChargingNetwork& network,
    absl::Time now, Effects& fx, KafkaProducer* dead_letters) {
  if (e.cp_id().empty() || e.cp_id() != m.key) {
    Reject(dead_letters, m, "RegistryEvent without a cp_id matching its key");
    return std::nullopt;
  }
  if (e.has_registered()) network.UpsertChargingPoint(e.registered(), now, fx);
  if (e.has_updated()) network.UpsertChargingPoint(e.updated(), now, fx);
  if (e.has_unregistered()) network.RemoveChargingPoint(e.cp_id(), Registry(), now, fx);
  if (e.has_unregistered()) return std::make_pair(e.cp_id(), "charging point unregistered");
  if (e.has_credentials_reset()) return std::make_pair(e.cp_id(), "charging point credentials reset");
  return std::nullopt;
}

absl::StatusOr<Caller> KafkaRoutes::AssertedDriver(const events::v1::ChargeRequest& r) {
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
  central_.Run([&](ChargingNetwork&, absl::Time, Effects& fx) {
    fx.audit.push_back({now, AuditCategory::kSecurity, "charge_request_refused",
                        a.ok() ? a->subject() : (r.driver_id().empty() ? "anonymous" : r.driver_id()),
                        r.cp_id(), "REJECTED",
                        {{"reason", std::string(refusal.message())}, {"request_id", r.request_id()},
                         {"carried_access_token", !r.access_token().empty()}},
                        topics::kChargeRequests});
  });
  return refusal;
}

void KafkaRoutes::HandleTagWalkIns() {
  const absl::Time now = clock_.Now();
  for (const auto& [cp, request] : tag_walk_ins_) {
    // Each lookup tells whether a tag is someone's: a CP presenting tags in a
    // loop gets one a second, enough for a person with cards.
    absl::Time& last = last_tag_lookup_.try_emplace(cp, absl::InfinitePast()).first->second;
    if (now - last < kTagLookupInterval) {
      ChargeTagWalkIn(cp, request,
                      absl::ResourceExhaustedError("RFID tags presented too often at this CP: present the card again"));
      continue;
    }
    last = now;
    // Off the consumer thread: a slow or absent registry must not hold up
    // everything else on Kafka. A full queue refuses the walk-in at once.
    const bool queued = tag_lookups_.TrySubmit([this, cp_id = std::string(cp), walk_in = request] {
      ChargeTagWalkIn(cp_id, walk_in,
                      trust_.driver_tags == nullptr
                          ? absl::FailedPreconditionError("central cannot look up RFID tags")
                          : trust_.driver_tags->DriverOf(walk_in.id_tag()));
    });
    if (!queued) {
      ChargeTagWalkIn(cp, request, absl::ResourceExhaustedError("too many RFID tags waiting to be checked"));
    }
  }
  tag_walk_ins_.clear();
}

void KafkaRoutes::ChargeTagWalkIn(const std::string& cp_id, const events::v1::WalkInRequest& walk_in,
                                  const absl::StatusOr<std::string>& owner) {
  // Known before the driver's ticket or refusal is sealed for them.
  if (owner.ok()) central_.PrefetchNotificationKey(*owner);
  absl::Status durable = central_.RunDurably([&](ChargingNetwork& network, absl::Time now, Effects& fx) {
    network.OnTagWalkIn(cp_id, walk_in, owner, now, fx);
  });
  if (!durable.ok()) log::Warn("RFID walk-in not durable in time", {{"cp_id", cp_id}, {"error", durable.ToString()}});
}

void KafkaRoutes::HandleChargeRequests(const std::vector<events::v1::ChargeRequest>& requests) {
  for (const events::v1::ChargeRequest& r : requests) {
    absl::StatusOr<Caller> driver = AssertedDriver(r);
    // Known before the answer is sealed for this driver.
    if (ValidateDriverId(r.driver_id()).ok()) central_.PrefetchNotificationKey(r.driver_id());
    // Not durable in time (database away): its notice leaves once it is.
    absl::Status durable = central_.RunDurably([&](ChargingNetwork& network, absl::Time now, Effects& fx) {
      network.AnswerChargeRequest(r, driver, now, fx);
    });
    if (!durable.ok()) log::Warn("charge request not durable in time", {{"error", durable.ToString()}});
  }
}

}  // namespace evc::central
