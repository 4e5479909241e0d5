#include "services/central/central_metrics.h"

#include <algorithm>

#include "services/common/metrics.h"
#include "services/common/proto_time.h"

namespace evc::central {
namespace {

prometheus::Counter& Counter(const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(metrics::Registry()).Add({});
}

prometheus::Family<prometheus::Counter>& Counters(const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(metrics::Registry());
}

std::string EndReasonLabel(common::v1::EndReason r) {
  std::string name = common::v1::EndReason_Name(r);
  return name.rfind("END_REASON_", 0) == 0 ? name.substr(11) : name;
}

// Fine around the targets (50 ms, 100 ms), so a quantile read from the
// buckets lands within a few ms of them.
const prometheus::Histogram::BucketBoundaries& StageBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5, 10};
  return *buckets;
}

prometheus::Family<prometheus::Histogram>& Histograms(const std::string& name, const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(metrics::Registry());
}

void ObserveAge(prometheus::Histogram& histogram, absl::Duration age) {
  histogram.Observe(std::max(0.0, absl::ToDoubleSeconds(age)));
}

}  // namespace

CentralMetrics::CentralMetrics()
    : cps_by_state_(prometheus::BuildGauge()
                        .Name("evc_charging_points")
                        .Help("Charging points by state")
                        .Register(metrics::Registry())),
      monitor_links_(prometheus::BuildGauge()
                         .Name("evc_monitor_links")
                         .Help("Charging points with a live monitor link")
                         .Register(metrics::Registry())
                         .Add({})),
      supplies_started_(Counter("evc_supplies_started_total", "Supplies authorised")),
      supplies_ended_(Counters("evc_supplies_ended_total", "Supplies closed with a ticket, by end reason")),
      energy_kwh_(Counter("evc_energy_delivered_kwh_total", "Energy delivered by ended supplies, kWh")),
      revenue_euros_(Counter("evc_revenue_euros_total", "Amount charged by ended supplies, euros")),
      charge_requests_(Counters("evc_charge_requests_total",
                                "Charge requests decided, by outcome and reject reason")),
      holds_(Counters("evc_holds_changed_total", "Holds added or lifted, by reason")),
      sealed_rejected_(Counter("evc_sealed_messages_rejected_total",
                               "Engine messages refused: bad key, tag, replay or format")),
      telemetry_applied_(Counter("evc_telemetry_applied_total", "Telemetry messages applied")),
      telemetry_duplicates_(Counter("evc_telemetry_duplicates_total",
                                    "Telemetry messages dropped as redelivered or out of order")),
      commands_resent_(Counter("evc_engine_commands_resent_total",
                               "Engine commands sent again because the engine had not acted on them")),
      supplies_reconciled_(Counter("evc_supplies_reconciled_total",
                                   "Supplies closed or stopped because a CP's report disagreed with central")),
      power_limits_changed_(Counter("evc_power_limits_changed_total",
                                    "Supply power limits set or changed (site caps, CP maximum power)")) {
  // Every state and reason is present from the start, so queries see zeros, not gaps.
  Sample({}, NetworkCounters());
  for (int r = common::v1::EndReason_MIN + 1; r <= common::v1::EndReason_MAX; ++r) {
    supplies_ended_.Add({{"reason", EndReasonLabel(static_cast<common::v1::EndReason>(r))}});
  }
  charge_requests_.Add({{"outcome", "accepted"}, {"reason", ""}});
}

LatencyStages::LatencyStages()
    : command_sent_(start_delay().Add({{"stage", "command_sent"}}, StageBuckets())),
      engine_started_(start_delay().Add({{"stage", "engine_started"}}, StageBuckets())) {
  auto& ages = Histograms("evc_engine_event_age_seconds",
                          "Age of an engine event (from its engine time) at each stage: produced "
                          "(handed to Kafka), received (read by central), applied (in the network, "
                          "its watchers' update queued)");
  const char* events[kEvents] = {"started", "telemetry", "completed"};
  const char* stages[kStages] = {"produced", "received", "applied"};
  for (int e = 0; e < kEvents; ++e) {
    for (int s = 0; s < kStages; ++s) {
      event_age_[e][s] = &ages.Add({{"event", events[e]}, {"stage", stages[s]}}, StageBuckets());
    }
  }
}

prometheus::Family<prometheus::Histogram>& LatencyStages::start_delay() {
  return Histograms("evc_supply_start_seconds",
                    "From a supply's authorisation to each stage: command_sent (AUTHORIZE handed to "
                    "Kafka once the journal holds the supply), engine_started (the engine's start time)");
}

LatencyStages::EventTally::EventTally(LatencyStages& stages) : stages_(stages) {
  for (auto& stages_of_event : pending_) {
    for (Pending& p : stages_of_event) p.buckets.assign(StageBuckets().size() + 1, 0);
  }
}

void LatencyStages::EventTally::Add(const events::v1::EngineEvent& e, absl::Time produced_at,
                                    absl::Time received_at, absl::Time applied_at) {
  Event event;
  switch (e.kind_case()) {
    case events::v1::EngineEvent::kStarted:
      event = kStarted;
      break;
    case events::v1::EngineEvent::kTelemetry:
      event = kTelemetry;
      break;
    case events::v1::EngineEvent::kCompleted:
      event = kCompleted;
      break;
    default:
      return;
  }
  if (!e.has_at()) return;
  const absl::Time at = FromProto(e.at());
  if (produced_at != absl::InfinitePast()) Count(pending_[event][kProduced], produced_at - at);
  Count(pending_[event][kReceived], received_at - at);
  Count(pending_[event][kApplied], applied_at - at);
}

void LatencyStages::EventTally::Count(Pending& pending, absl::Duration age) {
  // In integer ns: absl's conversion to double seconds divides, and was a
  // third of the cost.
  static const std::vector<int64_t>* const bounds_ns = [] {
    auto* ns = new std::vector<int64_t>;
    for (double bound : StageBuckets()) ns->push_back(static_cast<int64_t>(bound * 1e9));
    return ns;
  }();
  const int64_t ns = std::max<int64_t>(0, absl::ToInt64Nanoseconds(age));
  // The bucket Histogram::Observe picks: the first bound not below the value.
  pending.buckets[std::lower_bound(bounds_ns->begin(), bounds_ns->end(), ns) - bounds_ns->begin()] += 1;
  pending.sum += static_cast<double>(ns) * 1e-9;
  pending.any = true;
}

void LatencyStages::EventTally::Flush() {
  for (int e = 0; e < kEvents; ++e) {
    for (int s = 0; s < kStages; ++s) {
      Pending& p = pending_[e][s];
      if (!p.any) continue;
      stages_.event_age_[e][s]->ObserveMultiple(p.buckets, p.sum);
      std::fill(p.buckets.begin(), p.buckets.end(), 0);
      p.sum = 0;
      p.any = false;
    }
  }
}

void LatencyStages::CommandSent(const events::v1::EngineCommand& c, absl::Time now) {
  if (c.has_authorize() && c.has_sent_at()) ObserveAge(command_sent_, now - FromProto(c.sent_at()));
}

void LatencyStages::SupplyStarted(absl::Time authorized_at, absl::Time started_at) {
  ObserveAge(engine_started_, started_at - authorized_at);
}

LeadershipMetrics::LeadershipMetrics()
    : leader_(prometheus::BuildGauge()
                  .Name("evc_central_leader")
                  .Help("1 while this central replica leads (holds the lease and serves), else 0")
                  .Register(metrics::Registry())
                  .Add({})),
      epoch_(prometheus::BuildGauge()
                 .Name("evc_central_leader_epoch")
                 .Help("The epoch of this replica's term (last one held; 0: never led)")
                 .Register(metrics::Registry())
                 .Add({})),
      takeovers_(Counter("evc_central_takeovers_total",
                         "Terms this replica began after another term (fail-over or restart)")),
      takeover_seconds_(prometheus::BuildHistogram()
                            .Name("evc_central_takeover_seconds")
                            .Help("From taking the lease to serving: state loaded, Kafka joined")
                            .Register(metrics::Registry())
                            .Add({}, metrics::LatencyBuckets())),
      fenced_writes_(Counter("evc_central_fenced_writes_total",
                             "Journal writes refused because this replica's term was over")) {}

void LeadershipMetrics::Leading(bool leading, int64_t epoch) {
  leader_.Set(leading ? 1 : 0);
  epoch_.Set(static_cast<double>(epoch));
}

void LeadershipMetrics::TookOver(absl::Duration lease_to_serving) {
  takeovers_.Increment();
  takeover_seconds_.Observe(absl::ToDoubleSeconds(lease_to_serving));
}

void LeadershipMetrics::FencedWrite() { fenced_writes_.Increment(); }

void CentralMetrics::Observe(const Effects& fx) {
  if (!fx.supplies_opened.empty()) supplies_started_.Increment(static_cast<double>(fx.supplies_opened.size()));
  for (const common::v1::Ticket& t : fx.tickets) {
    supplies_ended_.Add({{"reason", EndReasonLabel(t.end_reason())}}).Increment();
    energy_kwh_.Increment(static_cast<double>(t.energy_wh()) / 1000.0);
    revenue_euros_.Increment(static_cast<double>(t.amount_millieuros()) / 1000.0);
  }
  for (const AuditRecord& a : fx.audit) {
    if (a.action == "charge_authorized") {
      charge_requests_.Add({{"outcome", "accepted"}, {"reason", ""}}).Increment();
    } else if (a.action == "charge_rejected") {
      charge_requests_.Add({{"outcome", "rejected"}, {"reason", a.details.value("reason", "rejected")}}).Increment();
    } else if (a.action == "sealed_message_rejected") {
      sealed_rejected_.Increment();
    }
  }
  for (const HoldChange& h : fx.holds_changed) {
    holds_.Add({{"reason", HoldReasonText(h.reason)}, {"change", h.held ? "added" : "lifted"}}).Increment();
  }
}

void CentralMetrics::Sample(const std::map<common::v1::CpState, int>& by_state,
                            const NetworkCounters& counters) {
  int linked = 0;
  for (auto state : {common::v1::CP_STATE_DISCONNECTED, common::v1::CP_STATE_ACTIVE,
                     common::v1::CP_STATE_SUPPLYING, common::v1::CP_STATE_OUT_OF_SERVICE,
                     common::v1::CP_STATE_FAULTED}) {
    auto it = by_state.find(state);
    const int n = it == by_state.end() ? 0 : it->second;
    cps_by_state_.Add({{"state", StateName(state)}}).Set(n);
    if (state != common::v1::CP_STATE_DISCONNECTED) linked += n;
  }
  monitor_links_.Set(linked);
  telemetry_applied_.Increment(static_cast<double>(counters.telemetry_applied - last_.telemetry_applied));
  telemetry_duplicates_.Increment(static_cast<double>(counters.telemetry_duplicates - last_.telemetry_duplicates));
  commands_resent_.Increment(static_cast<double>(counters.commands_resent - last_.commands_resent));
  supplies_reconciled_.Increment(
      static_cast<double>(counters.supplies_reconciled - last_.supplies_reconciled));
  power_limits_changed_.Increment(
      static_cast<double>(counters.power_limits_changed - last_.power_limits_changed));
  last_ = counters;
}

}  // namespace evc::central
