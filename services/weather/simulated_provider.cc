#include "services/weather/simulated_provider.h"

#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"

namespace evc::weather {
namespace {

// FNV-1a: stable across runs and builds, unlike std::hash.
uint64_t StableHash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// 0..1 from a few bits of the hash.
double Fraction(uint64_t h, int shift) { return static_cast<double>((h >> shift) & 0xffff) / 65535.0; }

}  // namespace

absl::StatusOr<Reading> SimulatedProvider::Current(const City& city) {
  const absl::Time now = clock_.Now();
  const uint64_t h = StableHash(city.key());
  // 10..24 °C by city, ±4 °C over the day (warmest mid-afternoon UTC).
  const double hours = absl::ToDoubleHours(now - absl::UnixEpoch());
  const double day_phase = std::fmod(hours, 24.0) / 24.0;
  double celsius = 10 + 14 * Fraction(h, 0) - 4 * std::cos(2 * std::numbers::pi * (day_phase - 0.125));
  Reading r;
  r.city = city;
  r.at = now;
  r.provider = name();
  if (std::optional<double> forced = Override(city)) {
    celsius = *forced;
    r.provider = "simulated (operator override)";
  }
  r.temperature_c = std::round(celsius * 10) / 10;
  r.humidity_pct = std::round(35 + 50 * Fraction(h, 16));
  r.wind_mps = std::round(80 * Fraction(h, 32)) / 10;
  r.feels_like_c = std::round((r.temperature_c - 0.3 * r.wind_mps) * 10) / 10;
  static const char* kConditions[] = {"clear sky", "few clouds", "scattered clouds", "light rain"};
  r.conditions = kConditions[(h >> 48) % 4];
  return r;
}

absl::Status SimulatedProvider::SetOverride(const City& city, std::optional<double> celsius) {
  if (celsius && (!std::isfinite(*celsius) || *celsius < -90 || *celsius > 70)) {
    return absl::InvalidArgumentError("temperature must be between -90 and 70 °C");
  }
  absl::MutexLock lock(&mu_);
  if (celsius) {
    overrides_[city.key()] = *celsius;
  } else {
    overrides_.erase(city.key());
  }
  return absl::OkStatus();
}

std::optional<double> SimulatedProvider::Override(const City& city) const {
  absl::MutexLock lock(&mu_);
  auto it = overrides_.find(city.key());
  if (it == overrides_.end()) return std::nullopt;
  return it->second;
}

}  // namespace evc::weather
