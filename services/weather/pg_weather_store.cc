#include "services/weather/pg_weather_store.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace evc::weather {
namespace {

constexpr char kAlertColumns[] =
    "city, country, extract(epoch from at)::float8, kind, temperature_c, min_c, max_c,"
    " array_to_string(cp_ids, ',')";

AlertRecord AlertFromRow(const pqxx::row& r) {
  AlertRecord a;
  a.city = {r[0].as<std::string>(), r[1].as<std::string>()};
  a.at = PgFromEpoch(r[2].as<double>());
  a.alert = r[3].as<std::string>() == "ALERT";
  a.temperature_c = r[4].as<double>();
  a.thresholds.min_c = r[5].as<double>();
  a.thresholds.max_c = r[6].as<double>();
  a.cp_ids = absl::StrSplit(r[7].as<std::string>(), ',', absl::SkipEmpty());
  return a;
}

}  // namespace

absl::StatusOr<std::vector<AlertRecord>> PgWeatherStore::LoadAlertStates() {
  std::vector<AlertRecord> out;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec(absl::StrCat(
        "SELECT DISTINCT ON (lower(city), country) ", kAlertColumns,
        " FROM weather_alerts ORDER BY lower(city), country, id DESC"));
    for (const pqxx::row& row : r) out.push_back(AlertFromRow(row));
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::optional<Settings>> PgWeatherStore::LoadSettings() {
  std::optional<std::string> json;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec("SELECT config::text FROM weather_config");
    if (!r.empty()) json = r[0][0].as<std::string>();
  });
  if (!s.ok()) return s;
  if (!json) return std::optional<Settings>();
  v1::WeatherConfig stored;
  if (!google::protobuf::util::JsonStringToMessage(*json, &stored).ok()) {
    return absl::DataLossError("weather_config holds a configuration that does not parse");
  }
  absl::StatusOr<Settings> settings =
      Merge(Settings(), stored, {"min_c", "max_c", "hysteresis_c", "poll_interval", "sync_interval"});
  if (!settings.ok()) return settings.status();
  return std::optional<Settings>(*settings);
}

absl::Status PgWeatherStore::SaveSettings(const Settings& settings) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  if (!google::protobuf::util::MessageToJsonString(ConfigProto(settings), &json, options).ok()) {
    return absl::InternalError("cannot encode the weather configuration");
  }
  return pool_.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "INSERT INTO weather_config (id, config) VALUES (TRUE, $1::jsonb)"
        " ON CONFLICT (id) DO UPDATE SET config = excluded.config, updated_at = now()",
        json);
  });
}

absl::StatusOr<std::vector<std::pair<City, double>>> PgWeatherStore::LoadOverrides() {
  std::vector<std::pair<City, double>> out;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec("SELECT city, country, temperature_c FROM weather_overrides");
    for (const pqxx::row& row : r) {
      out.push_back({{row[0].as<std::string>(), row[1].as<std::string>()}, row[2].as<double>()});
    }
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status PgWeatherStore::SaveOverride(const City& city, std::optional<double> celsius) {
  return pool_.Transact([&](pqxx::work& tx) {
    tx.exec_params("DELETE FROM weather_overrides WHERE lower(city) = lower($1) AND country = $2",
                   PgText(city.name, 256), PgText(city.country, 64));
    if (celsius) {
      tx.exec_params("INSERT INTO weather_overrides (city, country, temperature_c) VALUES ($1, $2, $3)",
                     PgText(city.name, 256), PgText(city.country, 64), *celsius);
    }
  });
}

absl::Status PgWeatherStore::Record(const std::vector<Reading>& readings,
                                    const std::vector<AlertRecord>& alerts) {
  if (readings.empty() && alerts.empty()) return absl::OkStatus();
  return pool_.Transact([&](pqxx::work& tx) {
    if (!readings.empty()) {
      std::vector<std::string> cities, countries, conditions, providers;
      std::vector<double> at, temp, feels, humidity, wind;
      for (const Reading& r : readings) {
        // The provider's text: sanitised by PgTextArray, bounded here.
        cities.push_back(PgText(r.city.name, 256));
        countries.push_back(PgText(r.city.country, 64));
        conditions.push_back(PgText(r.conditions, 256));
        providers.push_back(PgText(r.provider, 64));
        at.push_back(PgEpoch(r.at));
        temp.push_back(r.temperature_c);
        feels.push_back(r.feels_like_c);
        humidity.push_back(r.humidity_pct);
        wind.push_back(r.wind_mps);
      }
      tx.exec_params(
          "INSERT INTO weather_readings (city, country, at, temperature_c, feels_like_c,"
          " humidity_pct, wind_mps, conditions, provider)"
          " SELECT u.city, u.country, to_timestamp(u.at), u.temp, u.feels, u.humidity, u.wind,"
          "   u.conditions, u.provider"
          " FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::float8[],"
          "   $6::float8[], $7::float8[], $8::text[], $9::text[])"
          "   AS u(city, country, at, temp, feels, humidity, wind, conditions, provider)",
          PgTextArray(cities), PgTextArray(countries), PgNumArray(at), PgNumArray(temp),
          PgNumArray(feels), PgNumArray(humidity), PgNumArray(wind), PgTextArray(conditions),
          PgTextArray(providers));
    }
    // Transitions are rare: one row each.
    for (const AlertRecord& a : alerts) {
      tx.exec_params(
          "INSERT INTO weather_alerts (city, country, at, kind, temperature_c, min_c, max_c, cp_ids)"
          " VALUES ($1, $2, to_timestamp($3), $4, $5, $6, $7, $8::text[])",
          PgText(a.city.name, 256), PgText(a.city.country, 64), PgEpoch(a.at),
          a.alert ? "ALERT" : "CLEAR", a.temperature_c,
          a.thresholds.min_c, a.thresholds.max_c, PgTextArray(a.cp_ids));
    }
  });
}

absl::StatusOr<std::vector<Reading>> PgWeatherStore::ListReadings(const City& city, int limit) {
  std::vector<Reading> out;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT city, country, extract(epoch from at)::float8, temperature_c, feels_like_c,"
        " humidity_pct, wind_mps, conditions, provider FROM weather_readings"
        " WHERE lower(city) = lower($1) AND country = $2 ORDER BY at DESC LIMIT $3",
        city.name, city.country, limit);
    for (const pqxx::row& row : r) {
      Reading reading;
      reading.city = {row[0].as<std::string>(), row[1].as<std::string>()};
      reading.at = PgFromEpoch(row[2].as<double>());
      reading.temperature_c = row[3].as<double>();
      reading.feels_like_c = row[4].as<double>();
      reading.humidity_pct = row[5].as<double>();
      reading.wind_mps = row[6].as<double>();
      reading.conditions = row[7].as<std::string>();
      reading.provider = row[8].as<std::string>();
      out.push_back(std::move(reading));
    }
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<AlertRecord>> PgWeatherStore::ListAlerts(const std::string& city_name,
                                                                    int limit) {
  std::vector<AlertRecord> out;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT ", kAlertColumns,
                     " FROM weather_alerts WHERE ($1 = '' OR lower(city) = lower($1))"
                     " ORDER BY id DESC LIMIT $2"),
        city_name, limit);
    for (const pqxx::row& row : r) out.push_back(AlertFromRow(row));
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace evc::weather
