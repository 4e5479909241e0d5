#include "services/weather/watcher.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/common/proto_time.h"

namespace evc::weather {
namespace {

constexpr size_t kMaxPendingReadings = 10000;

struct WeatherMetrics {
  prometheus::Counter& readings = prometheus::BuildCounter()
      .Name("evc_weather_readings_total").Help("Successful weather readings")
      .Register(metrics::Registry()).Add({});
  prometheus::Counter& failures = prometheus::BuildCounter()
      .Name("evc_weather_read_failures_total").Help("Weather readings that failed (state kept)")
      .Register(metrics::Registry()).Add({});
  // Cities are those of registered CPs: a bounded set chosen by operators.
  prometheus::Family<prometheus::Counter>& alerts = prometheus::BuildCounter()
      .Name("evc_weather_alerts_total").Help("ALERT and CLEAR transitions, by city and kind")
      .Register(metrics::Registry());
  prometheus::Gauge& in_alert = prometheus::BuildGauge()
      .Name("evc_weather_cities_in_alert").Help("Watched cities outside the safe range")
      .Register(metrics::Registry()).Add({});
  prometheus::Gauge& held = prometheus::BuildGauge()
      .Name("evc_weather_held_charging_points").Help("Charging points held by weather alerts, as last sent")
      .Register(metrics::Registry()).Add({});
};

WeatherMetrics& Metrics() {
  static WeatherMetrics* m = new WeatherMetrics();
  return *m;
}

std::string AlertDetail(const City& city, double celsius, const Thresholds& t) {
  return absl::StrCat("weather alert in ", city.label(), ": ", DescribeTemperature(celsius, t));
}

absl::Status ValidateCityName(const std::string& name, const std::string& country) {
  const auto stripped = absl::StripAsciiWhitespace(name);
  if (stripped.empty() || stripped.size() > 100) {
    return absl::InvalidArgumentError("city must have 1 to 100 characters");
  }
  for (unsigned char c : stripped) {
    if (c < 0x20 || c == 0x7f) return absl::InvalidArgumentError("city contains control characters");
  }
  if (!country.empty() && (country.size() != 2 || !absl::ascii_isalpha(country[0]) ||
                           !absl::ascii_isalpha(country[1]))) {
    return absl::InvalidArgumentError(
        absl::StrCat("country '", country, "' is not an ISO 3166-1 alpha-2 code such as ES"));
  }
  return absl::OkStatus();
}

}  // namespace

v1::Reading ReadingProto(const Reading& r) {
  v1::Reading out;
  out.set_city(r.city.name);
  out.set_country(r.city.country);
  *out.mutable_at() = ToProto(r.at);
  out.set_temperature_c(r.temperature_c);
  out.set_feels_like_c(r.feels_like_c);
  out.set_humidity_pct(r.humidity_pct);
  out.set_wind_mps(r.wind_mps);
  out.set_conditions(r.conditions);
  out.set_provider(r.provider);
  return out;
}

WeatherWatcher::WeatherWatcher(WeatherStore& store, WeatherProvider& provider, HoldSink& holds,
                               ChargingPointSource& charging_points, AuditSink& audit,
                               const Clock& clock)
    : store_(store), provider_(provider), holds_(holds), charging_points_(charging_points),
      audit_(audit), clock_(clock) {}

WeatherWatcher::~WeatherWatcher() { Stop(); }

absl::Status WeatherWatcher::Load(const Settings& defaults) {
  absl::StatusOr<std::optional<Settings>> stored = store_.LoadSettings();
  if (!stored.ok()) return stored.status();
  absl::StatusOr<std::vector<std::pair<City, double>>> overrides = store_.LoadOverrides();
  if (!overrides.ok()) return overrides.status();
  absl::StatusOr<std::vector<AlertRecord>> states = store_.LoadAlertStates();
  if (!states.ok()) return states.status();
  for (const auto& [city, celsius] : *overrides) {
    absl::Status s = provider_.SetOverride(city, celsius);
    if (!s.ok()) log::Warn("stored temperature override not applied", {{"city", city.label()}, {"error", s.ToString()}});
  }
  absl::MutexLock lock(&mu_);
  settings_ = stored->value_or(defaults);
  for (const AlertRecord& a : *states) {
    if (a.alert) Metrics().in_alert.Increment();
    CityState& state = cities_[a.city.key()];
    state.city = a.city;
    state.in_alert = a.alert;
    if (a.alert) {
      state.alert_since = a.at;
      state.alert_detail = AlertDetail(a.city, a.temperature_c, a.thresholds);
    }
  }
  log::Info("weather state restored", {{"cities_in_alert", std::count_if(states->begin(), states->end(),
                                                                          [](const auto& a) { return a.alert; })},
                                       {"overrides", overrides->size()},
                                       {"config_stored", stored->has_value()}});
  return absl::OkStatus();
}

absl::Status WeatherWatcher::SyncChargingPoints() {
  absl::StatusOr<std::vector<common::v1::ChargingPoint>> list = charging_points_.List();
  if (!list.ok()) return list.status();
  absl::MutexLock lock(&mu_);
  std::map<std::string, City> fresh;
  for (const auto& cp : *list) {
    fresh[cp.cp_id()] = City::Of(cp.location().city(), cp.location().country());
  }
  for (const auto& [id, city] : fresh) {
    if (!cities_.contains(city.key())) poll_now_ = true;
  }
  cps_ = std::move(fresh);
  synced_ = true;
  wake_ = true;
  return absl::OkStatus();
}

void WeatherWatcher::OnRegistryEvent(const events::v1::RegistryEvent& event) {
  absl::MutexLock lock(&mu_);
  const common::v1::ChargingPoint* cp = event.has_registered() ? &event.registered()
                                        : event.has_updated()  ? &event.updated()
                                                               : nullptr;
  if (cp != nullptr) {
    City city = City::Of(cp->location().city(), cp->location().country());
    if (!cities_.contains(city.key()) || !cities_[city.key()].latest) poll_now_ = true;
    cps_[cp->cp_id()] = std::move(city);
  } else if (event.has_unregistered()) {
    cps_.erase(event.cp_id());
  } else {
    return;
  }
  wake_ = true;
}

std::vector<City> WeatherWatcher::CitiesToRead(const std::string& only_key) const {
  std::map<std::string, City> distinct;
  for (const auto& [id, city] : cps_) {
    if (only_key.empty() || city.key() == only_key) distinct.try_emplace(city.key(), city);
  }
  std::vector<City> out;
  for (auto& [key, city] : distinct) out.push_back(city);
  auto last = [this](const City& c) {
    auto it = cities_.find(c.key());
    return it == cities_.end() ? absl::InfinitePast() : it->second.last_attempt;
  };
  // Least recently read first, so a rate-limited provider still serves all.
  std::stable_sort(out.begin(), out.end(), [&](const City& a, const City& b) { return last(a) < last(b); });
  return out;
}

std::vector<std::string> WeatherWatcher::CpsIn(const std::string& city_key) const {
  std::vector<std::string> out;
  for (const auto& [id, city] : cps_) {
    if (city.key() == city_key) out.push_back(id);
  }
  return out;
}

std::optional<AlertRecord> WeatherWatcher::Apply(const City& city,
                                                 const absl::StatusOr<Reading>& reading) {
  const absl::Time now = clock_.Now();
  CityState& state = cities_[city.key()];
  state.city = city;
  state.last_attempt = now;
  if (!reading.ok()) {
    ++counters_.read_failures;
    Metrics().failures.Increment();
    state.last_error = reading.status().ToString();
    log::Warn("weather reading failed; alert state kept",
              {{"city", city.label()}, {"error", state.last_error}});
    return std::nullopt;
  }
  ++counters_.readings;
  Metrics().readings.Increment();
  state.last_error.clear();
  state.latest = *reading;
  const Thresholds& t = settings_.thresholds;
  const bool next = NextAlertState(state.in_alert, reading->temperature_c, t);
  if (next == state.in_alert) return std::nullopt;
  state.in_alert = next;
  state.alert_since = next ? now : absl::InfinitePast();
  state.alert_detail = next ? AlertDetail(city, reading->temperature_c, t) : "";
  AlertRecord record{city, now, next, reading->temperature_c, t, CpsIn(city.key())};
  ++(next ? counters_.alerts : counters_.clears);
  Metrics().alerts.Add({{"city", city.label()}, {"kind", next ? "ALERT" : "CLEAR"}}).Increment();
  Metrics().in_alert.Increment(next ? 1 : -1);
  audit_.Record({now, AuditCategory::kIncident, next ? "weather_alert" : "weather_clear", "weather", "",
                 next ? "ALERT" : "CLEAR",
                 {{"city", city.name},
                  {"country", city.country},
                  {"temperature_c", reading->temperature_c},
                  {"min_c", t.min_c},
                  {"max_c", t.max_c},
                  {"cp_ids", record.cp_ids}}});
  return record;
}

void WeatherWatcher::PollOnce(const std::string& only_key) {
  absl::MutexLock round(&round_mu_);
  std::vector<City> cities;
  {
    absl::MutexLock lock(&mu_);
    cities = CitiesToRead(only_key);
  }
  // Read off the lock: a provider call may take its whole timeout.
  std::vector<std::pair<City, absl::StatusOr<Reading>>> results;
  for (const City& city : cities) results.emplace_back(city, provider_.Current(city));
  std::vector<Reading> readings;
  std::vector<AlertRecord> alerts;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [city, reading] : results) {
      if (reading.ok()) readings.push_back(*reading);
      if (std::optional<AlertRecord> a = Apply(city, reading)) alerts.push_back(std::move(*a));
    }
  }
  Persist(std::move(readings), std::move(alerts));
  SendHolds();
}

void WeatherWatcher::Persist(std::vector<Reading> readings, std::vector<AlertRecord> alerts) {
  for (auto& r : readings) pending_readings_.push_back(std::move(r));
  for (auto& a : alerts) pending_alerts_.push_back(std::move(a));
  if (pending_readings_.size() > kMaxPendingReadings) {
    const size_t drop = pending_readings_.size() - kMaxPendingReadings;
    log::Warn("database unavailable: oldest weather readings dropped", {{"dropped", drop}});
    pending_readings_.erase(pending_readings_.begin(), pending_readings_.begin() + drop);
  }
  absl::Status s = store_.Record(pending_readings_, pending_alerts_);
  if (!s.ok()) {
    log::Error("weather readings not stored; kept for the next round", {{"error", s.ToString()}});
    return;
  }
  pending_readings_.clear();
  pending_alerts_.clear();
}

std::map<std::string, std::string> WeatherWatcher::DesiredHolds() const {
  std::map<std::string, std::string> held;
  for (const auto& [id, city] : cps_) {
    auto it = cities_.find(city.key());
    if (it != cities_.end() && it->second.in_alert) held[id] = it->second.alert_detail;
  }
  return held;
}

void WeatherWatcher::SendHolds() {
  std::map<std::string, std::string> desired;
  absl::Duration resend_every;
  {
    absl::MutexLock lock(&mu_);
    if (!synced_) return;  // an empty list would lift every hold
    desired = DesiredHolds();
    resend_every = settings_.sync_interval;
  }
  const absl::Time now = clock_.Now();
  const bool changed = !last_sent_ || *last_sent_ != desired;
  if (!changed && now < next_resend_) return;
  if (now < retry_holds_at_) return;
  absl::Status s = holds_.ApplyHolds(desired);
  absl::MutexLock lock(&mu_);
  if (!s.ok()) {
    ++counters_.hold_push_failures;
    in_sync_ = false;
    retry_holds_at_ = now + holds_backoff_.Next();
    log::Warn("central did not take the weather holds; retrying",
              {{"error", s.ToString()}, {"held", desired.size()}});
    return;
  }
  ++counters_.hold_pushes;
  Metrics().held.Set(static_cast<double>(desired.size()));
  in_sync_ = true;
  holds_backoff_.Reset();
  retry_holds_at_ = absl::InfinitePast();
  if (changed) log::Info("weather holds sent to central", {{"held", desired.size()}});
  last_sent_ = std::move(desired);
  next_resend_ = now + resend_every;
}

void WeatherWatcher::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void WeatherWatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void WeatherWatcher::Loop() {
  absl::Time next_poll = absl::InfinitePast();
  absl::Time next_sync = absl::InfinitePast();
  Backoff sync_backoff(absl::Milliseconds(500), absl::Seconds(30));
  while (true) {
    const absl::Time now = clock_.Now();
    Settings s = settings();
    if (now >= next_sync) {
      absl::Status synced = SyncChargingPoints();
      if (synced.ok()) {
        sync_backoff.Reset();
        next_sync = now + s.sync_interval;
      } else {
        log::Warn("cannot list charging points at the registry; retrying", {{"error", synced.ToString()}});
        next_sync = now + sync_backoff.Next();
      }
    }
    bool poll_now;
    {
      absl::MutexLock lock(&mu_);
      poll_now = poll_now_;
      poll_now_ = false;
    }
    if (poll_now || now >= next_poll) {
      PollOnce();
      next_poll = now + s.poll_interval;
    } else {
      absl::MutexLock round(&round_mu_);
      SendHolds();
    }
    absl::MutexLock lock(&mu_);
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || wake_; };
    const absl::Duration wait =
        std::clamp(std::min(next_poll, next_sync) - clock_.Now(), absl::Milliseconds(50), absl::Seconds(1));
    mu_.AwaitWithTimeout(absl::Condition(&woken), wait);
    if (stopping_) return;
    wake_ = false;
  }
}

v1::City WeatherWatcher::View(const CityState& state) const {
  v1::City c;
  c.set_city(state.city.name);
  c.set_country(state.city.country);
  if (state.latest) *c.mutable_latest() = ReadingProto(*state.latest);
  c.set_in_alert(state.in_alert);
  if (state.in_alert) *c.mutable_alert_since() = ToProto(state.alert_since);
  for (auto& id : CpsIn(state.city.key())) c.add_cp_ids(std::move(id));
  if (std::optional<double> forced = provider_.Override(state.city)) c.set_override_c(*forced);
  c.set_last_error(state.last_error);
  return c;
}

v1::ListCitiesResponse WeatherWatcher::Cities() const {
  absl::MutexLock lock(&mu_);
  v1::ListCitiesResponse out;
  std::map<std::string, City> watched;
  for (const auto& [id, city] : cps_) watched.try_emplace(city.key(), city);
  for (const auto& [key, city] : watched) {
    auto it = cities_.find(key);
    CityState fresh;
    fresh.city = city;
    *out.add_cities() = View(it == cities_.end() ? fresh : it->second);
  }
  out.set_provider(provider_.name());
  out.set_overrides_supported(provider_.SupportsOverrides());
  return out;
}

absl::StatusOr<City> WeatherWatcher::Resolve(const std::string& name, const std::string& country) {
  absl::StatusOr<City> city = MatchKnownCity(name, country);
  if (!absl::IsNotFound(city.status())) return city;
  if (absl::Status synced = SyncChargingPoints(); !synced.ok()) {
    log::Warn("cp sync for an unknown city failed", {{"city", name}, {"error", synced.ToString()}});
    return city;
  }
  return MatchKnownCity(name, country);
}

absl::StatusOr<City> WeatherWatcher::MatchKnownCity(const std::string& name, const std::string& country) const {
  if (absl::Status s = ValidateCityName(name, country); !s.ok()) return s;
  const City asked = City::Of(name, country);
  if (!country.empty()) return asked;
  const std::string lower = absl::AsciiStrToLower(asked.name);
  std::map<std::string, City> matches;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, city] : cps_) {
    if (absl::AsciiStrToLower(city.name) == lower) matches.try_emplace(city.country, city);
  }
  if (matches.empty()) {
    return absl::NotFoundError(absl::StrCat("no charging point is in a city named '", asked.name,
                                            "'; give its country to name it anyway"));
  }
  if (matches.size() > 1) {
    std::vector<std::string> countries;
    for (const auto& [c, city] : matches) countries.push_back(c);
    return absl::InvalidArgumentError(absl::StrCat("'", asked.name, "' exists in ",
                                                   absl::StrJoin(countries, ", "), "; give the country"));
  }
  return matches.begin()->second;
}

absl::StatusOr<v1::City> WeatherWatcher::SetTemperature(const std::string& name,
                                                        const std::string& country,
                                                        std::optional<double> celsius,
                                                        const Caller& who) {
  absl::StatusOr<City> city = Resolve(name, country);
  if (!city.ok()) return city.status();
  const std::optional<double> before = provider_.Override(*city);
  if (absl::Status s = provider_.SetOverride(*city, celsius); !s.ok()) return s;
  if (absl::Status s = store_.SaveOverride(*city, celsius); !s.ok()) {
    provider_.SetOverride(*city, before).IgnoreError();
    return absl::UnavailableError(absl::StrCat("override not stored, so not applied: ", s.message()));
  }
  nlohmann::json details = {{"city", city->name}, {"country", city->country}};
  if (celsius) details["temperature_c"] = *celsius;
  audit_.Record({clock_.Now(), AuditCategory::kStatus,
                 celsius ? "weather_override_set" : "weather_override_cleared", who.AuditName(), "",
                 "OK", std::move(details), who.source});
  PollOnce(city->key());
  absl::MutexLock lock(&mu_);
  auto it = cities_.find(city->key());
  if (it != cities_.end()) return View(it->second);
  CityState fresh;
  fresh.city = *city;
  return View(fresh);
}

Settings WeatherWatcher::settings() const {
  absl::MutexLock lock(&mu_);
  return settings_;
}

absl::StatusOr<Settings> WeatherWatcher::UpdateSettings(const v1::WeatherConfig& update,
                                                        const std::vector<std::string>& paths,
                                                        const Caller& who) {
  absl::StatusOr<Settings> merged = Merge(settings(), update, paths);
  if (!merged.ok()) return merged.status();
  if (absl::Status s = store_.SaveSettings(*merged); !s.ok()) {
    return absl::UnavailableError(absl::StrCat("configuration not stored, so not applied: ", s.message()));
  }
  const Thresholds& t = merged->thresholds;
  audit_.Record({clock_.Now(), AuditCategory::kSystem, "weather_config_changed", who.AuditName(), "", "OK",
                 {{"min_c", t.min_c},
                  {"max_c", t.max_c},
                  {"hysteresis_c", t.hysteresis_c},
                  {"poll_interval", absl::FormatDuration(merged->poll_interval)},
                  {"sync_interval", absl::FormatDuration(merged->sync_interval)}},
                 who.source});
  absl::MutexLock lock(&mu_);
  settings_ = *merged;
  // New thresholds apply to a fresh reading at once.
  poll_now_ = true;
  wake_ = true;
  return *merged;
}

WatcherCounters WeatherWatcher::counters() const {
  absl::MutexLock lock(&mu_);
  return counters_;
}

bool WeatherWatcher::HoldsInSync() const {
  absl::MutexLock lock(&mu_);
  return in_sync_;
}

}  // namespace evc::weather
