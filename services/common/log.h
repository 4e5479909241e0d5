#pragma once
// Structured logging: one JSON object per line on stderr, so that log
// collectors can parse every line without a format per service.

#include "absl/strings/string_view.h"

#include <nlohmann/json.hpp>

namespace evc::log {

enum class Level { kDebug, kInfo, kWarning, kError };

// Names the component in every line ("central", "cp-engine", ...).
void SetComponent(absl::string_view component);
void SetMinimumLevel(Level level);

void Write(Level level, absl::string_view message, const nlohmann::json& fields = {});

inline void Debug(absl::string_view m, const nlohmann::json& f = {}) { Write(Level::kDebug, m, f); }
inline void Info(absl::string_view m, const nlohmann::json& f = {}) { Write(Level::kInfo, m, f); }
inline void Warn(absl::string_view m, const nlohmann::json& f = {}) { Write(Level::kWarning, m, f); }
inline void Error(absl::string_view m, const nlohmann::json& f = {}) { Write(Level::kError, m, f); }

}  // namespace evc::log
