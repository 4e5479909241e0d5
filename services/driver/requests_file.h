#pragma once
// The file of CP ids a driver replays: one per line, blank lines and # comments
// allowed.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace evc::driver {

// The valid CP ids in order; each invalid line is skipped and said on `warnings`
// as "path:line: skipped: why". NOT_FOUND if the file cannot be read.
absl::StatusOr<std::vector<std::string>> ReadRequests(const std::string& path,
                                                      std::FILE* warnings = stderr);

}  // namespace evc::driver
