#include "services/weather/openweather_provider.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace evc::weather {
namespace {

constexpr size_t kMaxBody = 64 * 1024;

// The "message" of an OpenWeather error body, shortened, or "".
std::string ErrorMessage(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("message") || !j["message"].is_string()) return "";
  std::string m = j["message"].get<std::string>();
  if (m.size() > 200) m = m.substr(0, 200) + "...";
  return absl::StrCat(": ", m);
}

absl::Status HttpError(long status, const std::string& body, const City& city) {
  const std::string why = ErrorMessage(body);
  if (status == 401) {
    return absl::UnauthenticatedError(absl::StrCat(
        "OpenWeather refused the API key (HTTP 401)", why,
        "; check EVC_OPENWEATHER_API_KEY or --openweather_key_file"));
  }
  if (status == 404) {
    return absl::NotFoundError(absl::StrCat("OpenWeather does not know ", city.label(), why));
  }
  if (status == 429) {
    return absl::ResourceExhaustedError(absl::StrCat("OpenWeather rate limit reached (HTTP 429)", why));
  }
  if (status >= 500) {
    return absl::UnavailableError(absl::StrCat("OpenWeather is failing (HTTP ", status, ")", why));
  }
  return absl::UnknownError(absl::StrCat("OpenWeather answered HTTP ", status, why));
}

// A number at `j[key]`, or nullopt.
std::optional<double> Number(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return std::nullopt;
  return j[key].get<double>();
}

size_t Collect(char* data, size_t size, size_t n, void* out) {
  auto* body = static_cast<std::string*>(out);
  if (body->size() + size * n > kMaxBody) return 0;  // aborts the transfer
  body->append(data, size * n);
  return size * n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

}  // namespace

absl::StatusOr<Reading> ParseOpenWeather(long http_status, const std::string& body,
                                         const City& city, absl::Time now) {
  if (http_status != 200) return HttpError(http_status, body, city);
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError("OpenWeather answered something that is not a JSON object");
  }
  const nlohmann::json& main = j.contains("main") ? j["main"] : nlohmann::json();
  std::optional<double> temp = Number(main, "temp");
  if (!temp) return absl::DataLossError("OpenWeather's answer has no main.temp");
  if (*temp < -100 || *temp > 80) {
    return absl::DataLossError(absl::StrCat("OpenWeather's temperature ", *temp,
                                            " °C is not plausible (units=metric expected)"));
  }
  Reading r;
  r.city = city;
  r.at = now;
  // Compared as a number first: a huge "dt" does not fit an integer (UBSan,
  // openweather_fuzz regression huge_dt).
  const double latest = static_cast<double>(absl::ToUnixSeconds(now + absl::Minutes(5)));
  if (std::optional<double> dt = Number(j, "dt"); dt && *dt > 0 && *dt <= latest) {
    r.at = absl::FromUnixSeconds(static_cast<int64_t>(*dt));
  }
  r.temperature_c = *temp;
  r.feels_like_c = Number(main, "feels_like").value_or(*temp);
  r.humidity_pct = Number(main, "humidity").value_or(0);
  r.wind_mps = Number(j.contains("wind") ? j["wind"] : nlohmann::json(), "speed").value_or(0);
  if (j.contains("weather") && j["weather"].is_array() && !j["weather"].empty() &&
      j["weather"][0].is_object() && j["weather"][0].contains("description") &&
      j["weather"][0]["description"].is_string()) {
    r.conditions = j["weather"][0]["description"].get<std::string>();
  }
  r.provider = "openweather";
  return r;
}

OpenWeatherProvider::OpenWeatherProvider(OpenWeatherOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

absl::Status OpenWeatherProvider::TakeCallSlot(absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (now < paused_until_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "OpenWeather asked to slow down; next call in ", absl::FormatDuration(
            absl::Trunc(paused_until_ - now, absl::Seconds(1)))));
  }
  if (now - window_start_ >= absl::Minutes(1)) {
    window_start_ = now;
    calls_in_window_ = 0;
  }
  if (calls_in_window_ >= options_.max_calls_per_minute) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "OpenWeather call budget of ", options_.max_calls_per_minute,
        " per minute spent (--openweather_calls_per_minute); the city is read in the next window"));
  }
  ++calls_in_window_;
  return absl::OkStatus();
}

absl::StatusOr<Reading> OpenWeatherProvider::Current(const City& city) {
  if (absl::Status s = TakeCallSlot(clock_.Now()); !s.ok()) return s;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return absl::InternalError("libcurl could not start a request");
  auto escape = [&](const std::string& s) {
    char* e = curl_easy_escape(curl.get(), s.data(), static_cast<int>(s.size()));
    std::string out = e ? e : "";
    curl_free(e);
    return out;
  };
  const std::string url =
      absl::StrCat(options_.base_url, "/data/2.5/weather?q=", escape(city.name), ",",
                   escape(city.country), "&units=metric&appid=", escape(options_.api_key));
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "evc-weather/1");
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "https,http");
  CURLcode rc = curl_easy_perform(curl.get());
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return absl::DeadlineExceededError(absl::StrCat(
        "OpenWeather did not answer within ", absl::FormatDuration(options_.timeout)));
  }
  if (rc == CURLE_WRITE_ERROR) {
    return absl::DataLossError(absl::StrCat("OpenWeather's answer is larger than ", kMaxBody, " bytes"));
  }
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("cannot reach OpenWeather: ", curl_easy_strerror(rc)));
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status == 429) {
    curl_header* h = nullptr;
    int64_t seconds = 60;
    if (curl_easy_header(curl.get(), "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK) {
      if (!absl::SimpleAtoi(h->value, &seconds) || seconds <= 0 || seconds > 3600) seconds = 60;
    }
    absl::MutexLock lock(&mu_);
    paused_until_ = clock_.Now() + absl::Seconds(seconds);
  }
  return ParseOpenWeather(status, body, city, clock_.Now());
}

}  // namespace evc::weather
