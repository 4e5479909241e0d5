#include "services/common/log.h"

#include <cstdio>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace evc::log {
namespace {

struct Settings {
  absl::Mutex mu;
  std::string component ABSL_GUARDED_BY(mu) = "evc";
  Level minimum ABSL_GUARDED_BY(mu) = Level::kInfo;
};

Settings& settings() {
  static Settings* s = new Settings();
  return *s;
}

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarning: return "warning";
    case Level::kError: return "error";
  }
  return "info";
}

}  // namespace

void SetComponent(absl::string_view component) {
  absl::MutexLock lock(&settings().mu);
  settings().component = std::string(component);
}

void SetMinimumLevel(Level level) {
  absl::MutexLock lock(&settings().mu);
  settings().minimum = level;
}

void Write(Level level, absl::string_view message, const nlohmann::json& fields) {
  nlohmann::json line;
  line["ts"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  line["level"] = LevelName(level);
  {
    absl::MutexLock lock(&settings().mu);
    if (level < settings().minimum) return;
    line["component"] = settings().component;
  }
  line["msg"] = std::string(message);
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  }
  // One fwrite per line keeps lines whole when several threads log at once.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace evc::log
