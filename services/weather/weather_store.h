#pragma once
// The weather service's durable state: readings, ALERT/CLEAR transitions (the
// latest per city is its alert state after a restart), operator overrides and
// the live configuration.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "services/weather/alert_rule.h"
#include "services/weather/provider.h"

namespace evc::weather {

struct AlertRecord {
  City city;
  absl::Time at;
  bool alert = false;  // false: CLEAR
  double temperature_c = 0;
  Thresholds thresholds;
  std::vector<std::string> cp_ids;
};

class WeatherStore {
 public:
  virtual ~WeatherStore() = default;
  // The latest transition of every city that ever had one.
  virtual absl::StatusOr<std::vector<AlertRecord>> LoadAlertStates() = 0;
  virtual absl::StatusOr<std::optional<Settings>> LoadSettings() = 0;
  virtual absl::Status SaveSettings(const Settings& settings) = 0;
  virtual absl::StatusOr<std::vector<std::pair<City, double>>> LoadOverrides() = 0;
  // `celsius` unset: the override is removed.
  virtual absl::Status SaveOverride(const City& city, std::optional<double> celsius) = 0;
  // One polling round's readings and transitions, in one transaction.
  virtual absl::Status Record(const std::vector<Reading>& readings,
                              const std::vector<AlertRecord>& alerts) = 0;
  // Newest first.
  virtual absl::StatusOr<std::vector<Reading>> ListReadings(const City& city, int limit) = 0;
  // Newest first; `city_name` empty: every city.
  virtual absl::StatusOr<std::vector<AlertRecord>> ListAlerts(const std::string& city_name,
                                                              int limit) = 0;
};

}  // namespace evc::weather
