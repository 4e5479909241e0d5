// OpenWeather's answers come from outside the network: any status and body must give a
// reading or a clear error, never a crash or a reading with no temperature.

#include <cmath>
#include <cstdint>
#include <string>

#include "services/weather/openweather_provider.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte picks the HTTP status the body came with.
  static constexpr long kStatuses[] = {200, 200, 200, 200, 401, 404, 429, 500, 503, 302};
  const long status = kStatuses[data[0] % (sizeof(kStatuses) / sizeof(kStatuses[0]))];
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const evc::weather::City city = evc::weather::City::Of("Alicante", "ES");
  absl::StatusOr<evc::weather::Reading> reading =
      evc::weather::ParseOpenWeather(status, body, city, absl::FromUnixSeconds(1'800'000'000));
  if (reading.ok() && !std::isfinite(reading->temperature_c)) __builtin_trap();
  return 0;
}
