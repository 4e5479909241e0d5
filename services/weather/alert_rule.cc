#include "services/weather/alert_rule.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/common/proto_time.h"

namespace evc::weather {

bool NextAlertState(bool in_alert, double celsius, const Thresholds& t) {
  if (celsius < t.min_c || celsius > t.max_c) return true;
  if (!in_alert) return false;
  return celsius < t.min_c + t.hysteresis_c || celsius > t.max_c - t.hysteresis_c;
}

std::string DescribeTemperature(double celsius, const Thresholds& t) {
  if (celsius > t.max_c) return absl::StrFormat("%.1f °C, above %.1f °C", celsius, t.max_c);
  if (celsius < t.min_c) return absl::StrFormat("%.1f °C, below %.1f °C", celsius, t.min_c);
  return absl::StrFormat("%.1f °C, within %.1f..%.1f °C", celsius, t.min_c, t.max_c);
}

absl::Status Validate(const Settings& s) {
  const Thresholds& t = s.thresholds;
  if (!std::isfinite(t.min_c) || !std::isfinite(t.max_c) || !std::isfinite(t.hysteresis_c)) {
    return absl::InvalidArgumentError("temperatures must be finite numbers");
  }
  if (t.min_c < -90 || t.max_c > 70) {
    return absl::InvalidArgumentError("the safe range must lie within -90..70 °C");
  }
  if (t.min_c >= t.max_c) {
    return absl::InvalidArgumentError(
        absl::StrFormat("min_c (%.1f) must be below max_c (%.1f)", t.min_c, t.max_c));
  }
  if (t.hysteresis_c < 0 || 2 * t.hysteresis_c >= t.max_c - t.min_c) {
    return absl::InvalidArgumentError(
        "hysteresis_c must be at least 0 and less than half of the safe range");
  }
  if (s.poll_interval < absl::Seconds(1) || s.poll_interval > absl::Hours(1)) {
    return absl::InvalidArgumentError("poll_interval must be between 1s and 1h");
  }
  if (s.sync_interval < absl::Seconds(5) || s.sync_interval > absl::Hours(1)) {
    return absl::InvalidArgumentError("sync_interval must be between 5s and 1h");
  }
  return absl::OkStatus();
}

v1::WeatherConfig ConfigProto(const Settings& s) {
  v1::WeatherConfig c;
  c.set_min_c(s.thresholds.min_c);
  c.set_max_c(s.thresholds.max_c);
  c.set_hysteresis_c(s.thresholds.hysteresis_c);
  *c.mutable_poll_interval() = evc::ToProto(s.poll_interval);
  *c.mutable_sync_interval() = evc::ToProto(s.sync_interval);
  return c;
}

absl::StatusOr<Settings> Merge(const Settings& base, const v1::WeatherConfig& update,
                               const std::vector<std::string>& paths) {
  static const std::vector<std::string> kAll = {"min_c", "max_c", "hysteresis_c", "poll_interval",
                                                "sync_interval"};
  std::vector<std::string> given = paths;
  if (given.empty()) {
    // No mask: the fields given a value (a zero needs the mask).
    if (update.min_c() != 0) given.push_back("min_c");
    if (update.max_c() != 0) given.push_back("max_c");
    if (update.hysteresis_c() != 0) given.push_back("hysteresis_c");
    if (update.has_poll_interval()) given.push_back("poll_interval");
    if (update.has_sync_interval()) given.push_back("sync_interval");
  }
  Settings out = base;
  for (const std::string& path : given) {
    if (path == "min_c" || path == "minC") {
      out.thresholds.min_c = update.min_c();
    } else if (path == "max_c" || path == "maxC") {
      out.thresholds.max_c = update.max_c();
    } else if (path == "hysteresis_c" || path == "hysteresisC") {
      out.thresholds.hysteresis_c = update.hysteresis_c();
    } else if (path == "poll_interval" || path == "pollInterval") {
      out.poll_interval = evc::FromProto(update.poll_interval());
    } else if (path == "sync_interval" || path == "syncInterval") {
      out.sync_interval = evc::FromProto(update.sync_interval());
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown config field '", path,
                                                     "'; known: ", absl::StrJoin(kAll, ", ")));
    }
  }
  if (absl::Status s = Validate(out); !s.ok()) return s;
  return out;
}

}  // namespace evc::weather
