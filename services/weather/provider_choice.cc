#include "services/weather/provider_choice.h"

#include <cstdlib>

#include "services/common/secret_file.h"
#include "services/weather/openweather_provider.h"
#include "services/weather/simulated_provider.h"

namespace evc::weather {
namespace {

ProviderChoice Chosen(std::unique_ptr<WeatherProvider> provider) {
  ProviderChoice choice;
  choice.provider = std::move(provider);
  return choice;
}

ProviderChoice BadFlag(std::string flag, absl::Status error) {
  ProviderChoice choice;
  choice.bad_flag = std::move(flag);
  choice.error = std::move(error);
  return choice;
}

}  // namespace

ProviderChoice ChooseProvider(const ProviderFlags& flags, const Clock& clock) {
  if (flags.name == "simulated") return Chosen(std::make_unique<SimulatedProvider>(clock));
  if (flags.name != "openweather") {
    return BadFlag("--provider",
                   absl::InvalidArgumentError("must be 'simulated' or 'openweather', not '" +
                                              flags.name + "'"));
  }
  OpenWeatherOptions options;
  if (!flags.env_api_key.empty()) {
    options.api_key = flags.env_api_key;
  } else {
    auto key = ReadSecretFile(flags.key_file, "OpenWeather API key");
    if (!key.ok()) {
      return BadFlag(
          "--provider=openweather needs EVC_OPENWEATHER_API_KEY or --openweather_key_file",
          key.status());
    }
    options.api_key = *key;
  }
  options.base_url = flags.base_url;
  options.timeout = flags.timeout;
  options.max_calls_per_minute = flags.max_calls_per_minute;
  if (options.max_calls_per_minute < 1) {
    return BadFlag("--openweather_calls_per_minute",
                   absl::InvalidArgumentError("must be at least 1"));
  }
  return Chosen(std::make_unique<OpenWeatherProvider>(std::move(options), clock));
}

std::string ApiKeyFromEnvironment() {
  const char* key = std::getenv("EVC_OPENWEATHER_API_KEY");
  return key == nullptr ? "" : key;
}

}  // namespace evc::weather
