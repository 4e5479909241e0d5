#pragma once
// The default provider, for machines with no internet: a plausible,
// deterministic temperature per city (a base from the city's name and a daily
// cycle, always inside the default safe range), which an operator can
// override per city to demonstrate and test alerts.

#include <map>

#include "absl/synchronization/mutex.h"
#include "services/common/clock.h"
#include "services/weather/provider.h"

namespace evc::weather {

class SimulatedProvider : public WeatherProvider {
 public:
  explicit SimulatedProvider(const Clock& clock) : clock_(clock) {}

  absl::StatusOr<Reading> Current(const City& city) override;
  std::string name() const override { return "simulated"; }
  absl::Status SetOverride(const City& city, std::optional<double> celsius) override;
  std::optional<double> Override(const City& city) const override;
  bool SupportsOverrides() const override { return true; }

 private:
  const Clock& clock_;
  mutable absl::Mutex mu_;
  std::map<std::string, double> overrides_ ABSL_GUARDED_BY(mu_);  // by City::key()
};

}  // namespace evc::weather
