#include "services/evcctl/weather_commands.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "evc/weather/v1/weather.grpc.pb.h"
#include "services/common/grpc_util.h"
#include "services/common/proto_time.h"
#include "services/evcctl/args.h"

namespace evc::evcctl {
namespace {

using weather::v1::WeatherService;

std::string At(const google::protobuf::Timestamp& at) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", FromProto(at), absl::LocalTimeZone());
}

void PrintCity(Context& c, const weather::v1::City& city) {
  std::string temp =
      city.has_latest() ? absl::StrFormat("%6.1f °C", city.latest().temperature_c()) : "     - °C";
  std::string note = city.has_override_c() ? " (set by operator)" : "";
  if (!city.last_error().empty()) absl::StrAppend(&note, "  last read failed: ", city.last_error());
  std::fprintf(c.out, "%-16s %-3s %s  %-6s %-24s%s\n", city.city().c_str(), city.country().c_str(),
               temp.c_str(), city.in_alert() ? "ALERT" : "ok",
               absl::StrJoin(city.cp_ids(), ",").c_str(), note.c_str());
}

int Cities(Context& c) {
  auto list = Call(c, c.options.weather, false, &WeatherService::Stub::ListCities,
                   weather::v1::ListCitiesRequest());
  if (!list.ok()) return Fail(c, list.status());
  std::fprintf(c.out, "provider: %s\n%-16s %-3s %9s  %-6s %s\n", list->provider().c_str(), "CITY",
               "CC", "TEMP", "STATE", "CPS");
  for (const auto& city : list->cities()) PrintCity(c, city);
  return 0;
}

// `weather set CITY TEMP` or `weather clear CITY`.
int SetOrClear(Context& c, const std::vector<std::string>& args) {
  // Logging in comes first, so a missing --user is what an operator hears first.
  auto weather = StubFor<WeatherService>(c, c.options.weather, true);
  if (!weather.ok()) return Fail(c, weather.status());
  const auto [city, country] = CityArg(args[2]);
  absl::StatusOr<weather::v1::City> result;
  if (args[1] == "set") {
    double celsius = 0;
    if (args.size() < 4 || !absl::SimpleAtod(args[3], &celsius)) {
      return Fail(c, absl::InvalidArgumentError(
                         "usage: evcctl weather set CITY[,CC] TEMP (°C, e.g. 45 or -7.5)"));
    }
    weather::v1::SetTemperatureRequest r;
    r.set_city(city);
    r.set_country(country);
    r.set_temperature_c(celsius);
    result = CallUnary(&WeatherService::Stub::SetTemperature, **weather, r, c.options.timeout);
  } else {
    weather::v1::ClearTemperatureRequest r;
    r.set_city(city);
    r.set_country(country);
    result = CallUnary(&WeatherService::Stub::ClearTemperature, **weather, r, c.options.timeout);
  }
  if (!result.ok()) return Fail(c, result.status());
  PrintCity(c, *result);
  return 0;
}

int Alerts(Context& c, const std::vector<std::string>& args) {
  weather::v1::ListAlertsRequest r;
  if (args.size() > 2) r.set_city(CityArg(args[2]).first);
  r.set_limit(c.options.limit);
  auto list = Call(c, c.options.weather, false, &WeatherService::Stub::ListAlerts, r);
  if (!list.ok()) return Fail(c, list.status());
  for (const auto& a : list->alerts()) {
    std::fprintf(c.out, "%s  %-5s %-16s %-3s %6.1f °C (range %.1f..%.1f)  %s\n", At(a.at()).c_str(),
                 a.kind() == weather::v1::Alert::KIND_ALERT ? "ALERT" : "CLEAR", a.city().c_str(),
                 a.country().c_str(), a.temperature_c(), a.min_c(), a.max_c(),
                 absl::StrJoin(a.cp_ids(), ",").c_str());
  }
  return 0;
}

int Readings(Context& c, const std::vector<std::string>& args) {
  weather::v1::ListReadingsRequest r;
  std::tie(*r.mutable_city(), *r.mutable_country()) = CityArg(args[2]);
  r.set_limit(c.options.limit);
  auto list = Call(c, c.options.weather, false, &WeatherService::Stub::ListReadings, r);
  if (!list.ok()) return Fail(c, list.status());
  for (const auto& x : list->readings()) {
    std::fprintf(c.out, "%s  %6.1f °C  feels %6.1f °C  %3.0f%%  %4.1f m/s  %-18s %s\n",
                 At(x.at()).c_str(), x.temperature_c(), x.feels_like_c(), x.humidity_pct(),
                 x.wind_mps(), x.conditions().c_str(), x.provider().c_str());
  }
  return 0;
}

// Adds one NAME=VALUE change to `r`.
absl::Status AddConfigChange(const std::string& change, weather::v1::UpdateConfigRequest& r) {
  const size_t eq = change.find('=');
  if (eq == std::string::npos) return absl::InvalidArgumentError("config changes are NAME=VALUE");
  const std::string name = change.substr(0, eq), value = change.substr(eq + 1);
  double number = 0;
  absl::Duration period;
  auto* config = r.mutable_config();
  if ((name == "min_c" || name == "max_c" || name == "hysteresis_c") &&
      absl::SimpleAtod(value, &number)) {
    if (name == "min_c") config->set_min_c(number);
    if (name == "max_c") config->set_max_c(number);
    if (name == "hysteresis_c") config->set_hysteresis_c(number);
  } else if ((name == "poll_interval" || name == "sync_interval") &&
             absl::ParseDuration(value, &period)) {
    *(name == "poll_interval" ? config->mutable_poll_interval() : config->mutable_sync_interval()) =
        ToProto(period);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot set '", change,
                     "': known are min_c, max_c, hysteresis_c (°C) and poll_interval, "
                     "sync_interval (e.g. 5s)"));
  }
  r.mutable_update_mask()->add_paths(name);
  return absl::OkStatus();
}

// Without changes a read; with them a change, which logs in.
absl::StatusOr<weather::v1::WeatherConfig> GetOrUpdateConfig(
    Context& c, const weather::v1::UpdateConfigRequest& r) {
  if (!r.update_mask().paths().empty()) {
    return Call(c, c.options.weather, true, &WeatherService::Stub::UpdateConfig, r);
  }
  return Call(c, c.options.weather, false, &WeatherService::Stub::GetConfig,
              weather::v1::GetConfigRequest());
}

// Shows the configuration, or changes the fields given as NAME=VALUE.
int Config(Context& c, const std::vector<std::string>& args) {
  weather::v1::UpdateConfigRequest r;
  for (size_t i = 2; i < args.size(); ++i) {
    if (absl::Status s = AddConfigChange(args[i], r); !s.ok()) return Fail(c, s);
  }
  auto config = GetOrUpdateConfig(c, r);
  if (!config.ok()) return Fail(c, config.status());
  std::fprintf(c.out,
               "safe range %.1f..%.1f °C, hysteresis %.1f °C, poll every %s, CP sync every %s\n",
               config->min_c(), config->max_c(), config->hysteresis_c(),
               absl::FormatDuration(FromProto(config->poll_interval())).c_str(),
               absl::FormatDuration(FromProto(config->sync_interval())).c_str());
  return 0;
}

}  // namespace

int WeatherCommand(Context& c, const std::vector<std::string>& args) {
  const std::string sub = args.size() > 1 ? args[1] : "cities";
  if (sub == "cities") return Cities(c);
  if ((sub == "set" || sub == "clear") && args.size() >= 3) return SetOrClear(c, args);
  if (sub == "alerts") return Alerts(c, args);
  if (sub == "readings" && args.size() >= 3) return Readings(c, args);
  if (sub == "config") return Config(c, args);
  std::fprintf(c.err,
               "usage: evcctl weather [cities] | set CITY[,CC] TEMP | clear CITY[,CC] | "
               "alerts [CITY] | readings CITY[,CC] | config [NAME=VALUE ...]\n");
  return 2;
}

}  // namespace evc::evcctl
