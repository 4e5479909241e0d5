#pragma once
// The weather service's logic: which cities to watch (from the charging
// points at the registry), reading each city once per round whatever its
// number of CPs, deciding ALERT/CLEAR per city, storing readings and
// transitions, and telling central which CPs are held. Collaborators are
// interfaces, so tests run it with fakes.
//
// Central is told the complete set of held CPs (not deltas), so a missed or
// repeated call heals itself; it is sent when the set changes and again every
// sync interval. Nothing is sent before the first successful CP sync, so a
// restart never lifts holds by mistake. A failed read keeps the city's state.

#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "evc/common/v1/types.pb.h"
#include "evc/events/v1/events.pb.h"
#include "evc/weather/v1/weather.pb.h"
#include "services/common/audit.h"
#include "services/common/backoff.h"
#include "services/common/caller.h"
#include "services/common/clock.h"
#include "services/weather/alert_rule.h"
#include "services/weather/provider.h"
#include "services/weather/weather_store.h"

namespace evc::weather {

v1::Reading ReadingProto(const Reading& r);

// Central's ApplyWeatherHolds: CP id -> why.
class HoldSink {
 public:
  virtual ~HoldSink() = default;
  virtual absl::Status ApplyHolds(const std::map<std::string, std::string>& held) = 0;
};

// The registry's list of charging points.
class ChargingPointSource {
 public:
  virtual ~ChargingPointSource() = default;
  virtual absl::StatusOr<std::vector<common::v1::ChargingPoint>> List() = 0;
};

struct WatcherCounters {
  int64_t readings = 0;
  int64_t read_failures = 0;
  int64_t alerts = 0;
  int64_t clears = 0;
  int64_t hold_pushes = 0;
  int64_t hold_push_failures = 0;
};

class WeatherWatcher {
 public:
  WeatherWatcher(WeatherStore& store, WeatherProvider& provider, HoldSink& holds,
                 ChargingPointSource& charging_points, AuditSink& audit, const Clock& clock);
  ~WeatherWatcher();

  // Restores the stored configuration (else `defaults`), operator overrides
  // and every city's alert state.
  absl::Status Load(const Settings& defaults);
  // Re-reads the charging points from the registry.
  absl::Status SyncChargingPoints();
  // A CP registered, moved or removed: followed at once.
  void OnRegistryEvent(const events::v1::RegistryEvent& event);
  // One round: reads every watched city (or only the city with key
  // `only_key`), stores what it learnt and sends the holds.
  void PollOnce(const std::string& only_key = "");

  // Runs rounds every poll interval and syncs every sync interval, on a
  // thread of its own, until Stop().
  void Start();
  void Stop();

  // For the gRPC face.
  v1::ListCitiesResponse Cities() const;
  // The watched city a request names: `country` may be left out when the
  // name is not ambiguous. A name no known CP is in triggers one CP sync first:
  // registry events arrive late after a restart (the consumer group rejoins).
  absl::StatusOr<City> Resolve(const std::string& name, const std::string& country);
  // Operator override (simulated provider), stored, then the city is read.
  absl::StatusOr<v1::City> SetTemperature(const std::string& name, const std::string& country,
                                          std::optional<double> celsius, const Caller& who);
  Settings settings() const;
  absl::StatusOr<Settings> UpdateSettings(const v1::WeatherConfig& update,
                                          const std::vector<std::string>& paths,
                                          const Caller& who);
  WatcherCounters counters() const;
  // Whether central has the current holds (readiness, tests).
  bool HoldsInSync() const;

 private:
  struct CityState {
    City city;
    bool in_alert = false;
    absl::Time alert_since = absl::InfinitePast();
    // Why its CPs are held, e.g. "weather alert in Alicante (ES): 45.0 °C, above 40.0 °C".
    std::string alert_detail;
    std::optional<Reading> latest;
    absl::Time last_attempt = absl::InfinitePast();
    std::string last_error;
  };

  // Resolve against the CPs known now.
  absl::StatusOr<City> MatchKnownCity(const std::string& name, const std::string& country) const;
  // Cities with charging points, least recently read first.
  std::vector<City> CitiesToRead(const std::string& only_key) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<std::string> CpsIn(const std::string& city_key) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies one read; returns the transition if the city changed state.
  std::optional<AlertRecord> Apply(const City& city, const absl::StatusOr<Reading>& reading)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::map<std::string, std::string> DesiredHolds() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::City View(const CityState& state) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Persist(std::vector<Reading> readings, std::vector<AlertRecord> alerts)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  void SendHolds() ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  void Loop();

  WeatherStore& store_;
  WeatherProvider& provider_;
  HoldSink& holds_;
  ChargingPointSource& charging_points_;
  AuditSink& audit_;
  const Clock& clock_;

  // Rounds and hold pushes run one at a time (loop thread or an RPC).
  absl::Mutex round_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // What a failed database write left to store; alerts are never dropped,
  // readings beyond kMaxPendingReadings are.
  std::vector<Reading> pending_readings_ ABSL_GUARDED_BY(round_mu_);
  std::vector<AlertRecord> pending_alerts_ ABSL_GUARDED_BY(round_mu_);
  std::optional<std::map<std::string, std::string>> last_sent_ ABSL_GUARDED_BY(round_mu_);
  absl::Time next_resend_ ABSL_GUARDED_BY(round_mu_) = absl::InfinitePast();
  absl::Time retry_holds_at_ ABSL_GUARDED_BY(round_mu_) = absl::InfinitePast();
  Backoff holds_backoff_ ABSL_GUARDED_BY(round_mu_){absl::Milliseconds(500), absl::Seconds(30)};

  mutable absl::Mutex mu_;
  Settings settings_ ABSL_GUARDED_BY(mu_);
  bool synced_ ABSL_GUARDED_BY(mu_) = false;
  // CP id -> its city.
  std::map<std::string, City> cps_ ABSL_GUARDED_BY(mu_);
  // By City::key(); kept for cities that lost their CPs (the alert state
  // stays until the city is read again).
  absl::flat_hash_map<std::string, CityState> cities_ ABSL_GUARDED_BY(mu_);
  WatcherCounters counters_ ABSL_GUARDED_BY(mu_);
  bool in_sync_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool poll_now_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace evc::weather
