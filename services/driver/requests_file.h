#pragma once
// The file of CP ids a driver replays (one per line, blank lines and # comments
// allowed), and the choice between it and a single CP.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace evc::driver {

// The valid CP ids in order; each invalid line is skipped and said on `warnings`
// as "path:line: skipped: why". NOT_FOUND if the file cannot be read.
absl::StatusOr<std::vector<std::string>> ReadRequests(const std::string& path,
                                                      std::FILE* warnings = stderr);

// The CPs a driver asks for, or the flag to fix (as the binary reports it) and why.
struct CpChoice {
  std::vector<std::string> cp_ids;
  std::string bad_flag;
  absl::Status error;
};

// One charge at `cp` when given, else one at each CP in the `requests` file
// (read as ReadRequests does); neither, or a file without a valid id, is an error.
CpChoice ChooseCps(const std::string& cp, const std::string& requests, std::FILE* warnings = stderr);

}  // namespace evc::driver
