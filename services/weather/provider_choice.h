#pragma once
// The weather provider the binary's flags choose: the simulated one (offline), or
// OpenWeather with its API key from the environment or a file.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/weather/provider.h"

namespace evc::weather {

struct ProviderFlags {
  std::string name;  // "simulated" or "openweather"
  // EVC_OPENWEATHER_API_KEY; when empty the key is read from `key_file`.
  std::string env_api_key;
  std::string key_file;
  std::string base_url;
  absl::Duration timeout;
  int max_calls_per_minute = 0;
};

// The provider, or the flag to fix (named as the binary reports it) and why.
struct ProviderChoice {
  std::unique_ptr<WeatherProvider> provider;
  std::string bad_flag;
  absl::Status error;
};

ProviderChoice ChooseProvider(const ProviderFlags& flags, const Clock& clock);

// EVC_OPENWEATHER_API_KEY from the environment ("" when unset), for ProviderFlags.
std::string ApiKeyFromEnvironment();

}  // namespace evc::weather
