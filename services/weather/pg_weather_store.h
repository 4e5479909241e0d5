#pragma once

#include "services/common/postgres.h"
#include "services/weather/weather_store.h"

namespace evc::weather {

class PgWeatherStore : public WeatherStore {
 public:
  explicit PgWeatherStore(PgPool& pool) : pool_(pool) {}
  absl::StatusOr<std::vector<AlertRecord>> LoadAlertStates() override;
  absl::StatusOr<std::optional<Settings>> LoadSettings() override;
  absl::Status SaveSettings(const Settings& settings) override;
  absl::StatusOr<std::vector<std::pair<City, double>>> LoadOverrides() override;
  absl::Status SaveOverride(const City& city, std::optional<double> celsius) override;
  absl::Status Record(const std::vector<Reading>& readings,
                      const std::vector<AlertRecord>& alerts) override;
  absl::StatusOr<std::vector<Reading>> ListReadings(const City& city, int limit) override;
  absl::StatusOr<std::vector<AlertRecord>> ListAlerts(const std::string& city_name, int limit) override;

 private:
  PgPool& pool_;
};

}  // namespace evc::weather
