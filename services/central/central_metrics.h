#pragma once
// Central's business metrics, declared once: what the network decided (from
// the effects it returns) and how it stands (sampled every second). Labels
// are bounded: states, end and reject reasons, hold reasons.

#include <array>
#include <map>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include "services/central/effects.h"
#include "services/central/network.h"

namespace evc::central {

class CentralMetrics {
 public:
  CentralMetrics();
  // Counts what one batch of effects did.
  void Observe(const Effects& fx);
  // How the network stands now.
  void Sample(const std::map<common::v1::CpState, int>& by_state, const NetworkCounters& counters);

 private:
  prometheus::Family<prometheus::Gauge>& cps_by_state_;
  prometheus::Gauge& monitor_links_;
  prometheus::Counter& supplies_started_;
  prometheus::Family<prometheus::Counter>& supplies_ended_;
  prometheus::Counter& energy_kwh_;
  prometheus::Counter& revenue_euros_;
  prometheus::Family<prometheus::Counter>& charge_requests_;
  prometheus::Family<prometheus::Counter>& holds_;
  prometheus::Counter& sealed_rejected_;
  prometheus::Counter& telemetry_applied_;
  prometheus::Counter& telemetry_duplicates_;
  prometheus::Counter& commands_resent_;
  prometheus::Counter& supplies_reconciled_;
  prometheus::Counter& power_limits_changed_;
  NetworkCounters last_;
};

// Where the time of the two paths the network is judged by goes (issue 19):
// a reading from the engine to central's watchers, and a charge from its
// authorisation to the engine starting. Each figure is an age measured from
// the path's start, so the stages of one path read as a running total.
// Engine times are the engine's clock: a skew between hosts shows as an
// offset (clamped at 0). Thread-safe.
class LatencyStages {
  enum Stage { kProduced, kReceived, kApplied, kStages };
  enum Event { kStarted, kTelemetry, kCompleted, kEvents };

 public:
  LatencyStages();

  // Engine events' ages, tallied by one thread (central's consumer) and told
  // to the histograms once per batch: an observation each, under the
  // histograms' locks, cost ~185 ns a message, 5% of the ingest drain.
  class EventTally {
   public:
    explicit EventTally(LatencyStages& stages);
    // An engine event central applies at `applied_at`, read from Kafka at
    // `received_at`, handed to Kafka by the engine at `produced_at`
    // (InfinitePast: unknown).
    void Add(const events::v1::EngineEvent& e, absl::Time produced_at, absl::Time received_at,
             absl::Time applied_at);
    // Tells the histograms what was added since the last flush.
    void Flush();

   private:
    struct Pending {
      std::vector<double> buckets;
      double sum = 0;
      bool any = false;
    };
    void Count(Pending& pending, absl::Duration age);

    LatencyStages& stages_;
    std::array<std::array<Pending, kStages>, kEvents> pending_;
  };

  // An AUTHORIZE handed to Kafka at `now`, its supply's journal durable.
  void CommandSent(const events::v1::EngineCommand& c, absl::Time now);
  // The engine started a supply central authorised at `authorized_at`.
  void SupplyStarted(absl::Time authorized_at, absl::Time started_at);

 private:
  static prometheus::Family<prometheus::Histogram>& start_delay();
  std::array<std::array<prometheus::Histogram*, kStages>, kEvents> event_age_;
  prometheus::Histogram& command_sent_;
  prometheus::Histogram& engine_started_;
};

// The replica's part in the leader election (issue 17). Thread-safe.
class LeadershipMetrics {
 public:
  LeadershipMetrics();
  // This replica leads (or stopped leading) under `epoch`.
  void Leading(bool leading, int64_t epoch);
  // A term begun after another one: from the lease taken to serving.
  void TookOver(absl::Duration lease_to_serving);
  void FencedWrite();

 private:
  prometheus::Gauge& leader_;
  prometheus::Gauge& epoch_;
  prometheus::Counter& takeovers_;
  prometheus::Histogram& takeover_seconds_;
  prometheus::Counter& fenced_writes_;
};

}  // namespace evc::central
