#pragma once
// When a city is in alert: the safe range and its hysteresis, and the live
// configuration of the weather service.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "evc/weather/v1/weather.pb.h"

namespace evc::weather {

struct Thresholds {
  double min_c = 0;
  double max_c = 40;
  double hysteresis_c = 1;
};

struct Settings {
  Thresholds thresholds;
  absl::Duration poll_interval = absl::Seconds(5);
  absl::Duration sync_interval = absl::Minutes(1);
};

// A city goes into alert when `celsius` is outside [min, max], and leaves it
// only once the reading is back inside by the hysteresis: a temperature
// hovering at a limit does not flap.
bool NextAlertState(bool in_alert, double celsius, const Thresholds& t);

// "45.0 °C, above 40.0 °C" / "-3.5 °C, below 0.0 °C" / "20.0 °C, within 0.0..40.0 °C".
std::string DescribeTemperature(double celsius, const Thresholds& t);

// INVALID_ARGUMENT with the reason when the settings make no sense.
absl::Status Validate(const Settings& s);

v1::WeatherConfig ConfigProto(const Settings& s);
// Applies the fields of `update` named by `paths` to `base` (when `paths` is
// empty: the fields `update` gives a non-zero value); INVALID_ARGUMENT for an
// unknown path or a bad result.
absl::StatusOr<Settings> Merge(const Settings& base, const v1::WeatherConfig& update,
                               const std::vector<std::string>& paths);

}  // namespace evc::weather
