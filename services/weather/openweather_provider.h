#pragma once
// OpenWeather's current-weather endpoint over HTTPS (libcurl). The API key
// comes from EVC_OPENWEATHER_API_KEY or a key file and never appears in logs.
// Calls are budgeted per minute (the free plan allows 60), a 429 pauses
// every call until its Retry-After, and each call has a timeout.

#include <string>

#include "absl/synchronization/mutex.h"
#include "services/common/clock.h"
#include "services/weather/provider.h"

namespace evc::weather {

struct OpenWeatherOptions {
  std::string api_key;
  // Tests point this at a fake server on loopback.
  std::string base_url = "https://api.openweathermap.org";
  absl::Duration timeout = absl::Seconds(5);
  int max_calls_per_minute = 50;
};

// Turns one HTTP answer of /data/2.5/weather into a reading or a clear
// error (see WeatherProvider::Current).
absl::StatusOr<Reading> ParseOpenWeather(long http_status, const std::string& body,
                                         const City& city, absl::Time now);

class OpenWeatherProvider : public WeatherProvider {
 public:
  OpenWeatherProvider(OpenWeatherOptions options, const Clock& clock);

  absl::StatusOr<Reading> Current(const City& city) override;
  std::string name() const override { return "openweather"; }

 private:
  // A call slot within the per-minute budget, or why not.
  absl::Status TakeCallSlot(absl::Time now);

  const OpenWeatherOptions options_;
  const Clock& clock_;
  absl::Mutex mu_;
  absl::Time window_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int calls_in_window_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time paused_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace evc::weather
