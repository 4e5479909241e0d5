#pragma once
// Where temperatures come from: one interface, two providers (simulated, the
// default for machines with no internet, and OpenWeather).

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace evc::weather {

// A city as charging points name it. Two CPs are in the same city when their
// names match ignoring case and surrounding spaces, in the same country.
struct City {
  std::string name;     // as first seen, e.g. "Alicante"
  std::string country;  // ISO 3166-1 alpha-2, upper case

  // The comparison key: "alicante|ES".
  std::string key() const;
  // "Alicante (ES)".
  std::string label() const;
  static City Of(const std::string& name, const std::string& country);
};

struct Reading {
  City city;
  absl::Time at;
  double temperature_c = 0;
  double feels_like_c = 0;
  double humidity_pct = 0;
  double wind_mps = 0;
  std::string conditions;
  std::string provider;
};

class WeatherProvider {
 public:
  virtual ~WeatherProvider() = default;
  // The weather now. Errors say why (UNAUTHENTICATED: bad API key; NOT_FOUND:
  // unknown city; RESOURCE_EXHAUSTED: rate limited; UNAVAILABLE or
  // DEADLINE_EXCEEDED: provider down or slow; DATA_LOSS: an answer that does
  // not parse). A failed read never changes an alert state.
  virtual absl::StatusOr<Reading> Current(const City& city) = 0;
  virtual std::string name() const = 0;

  // Operator overrides of a city's temperature (`celsius` unset: remove).
  // FAILED_PRECONDITION unless the provider is simulated.
  virtual absl::Status SetOverride(const City& city, std::optional<double> celsius);
  virtual std::optional<double> Override(const City& city) const { return std::nullopt; }
  virtual bool SupportsOverrides() const { return false; }
};

}  // namespace evc::weather
