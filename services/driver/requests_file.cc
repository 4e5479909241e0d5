#include "services/driver/requests_file.h"

#include <fstream>

#include "absl/strings/ascii.h"
#include "services/common/validation.h"

namespace evc::driver {

absl::StatusOr<std::vector<std::string>> ReadRequests(const std::string& path,
                                                      std::FILE* warnings) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read '" + path + "'");
  std::vector<std::string> ids;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string id(absl::StripAsciiWhitespace(line));
    if (id.empty() || id[0] == '#') continue;
    if (absl::Status s = ValidateCpId(id); !s.ok()) {
      std::fprintf(warnings, "%s:%d: skipped: %s\n", path.c_str(), number,
                   std::string(s.message()).c_str());
      continue;
    }
    ids.push_back(id);
  }
  return ids;
}

CpChoice ChooseCps(const std::string& cp, const std::string& requests, std::FILE* warnings) {
  if (!cp.empty()) {
    if (absl::Status valid = ValidateCpId(cp); !valid.ok()) return {{}, "--cp", valid};
    return {{cp}, "", absl::OkStatus()};
  }
  if (requests.empty()) {
    return {{}, "usage", absl::InvalidArgumentError("give --cp=ID or --requests=FILE")};
  }
  auto listed = ReadRequests(requests, warnings);
  if (!listed.ok()) return {{}, "--requests", listed.status()};
  if (listed->empty()) {
    return {{}, "--requests", absl::InvalidArgumentError("no valid CP ids in the file")};
  }
  return {*std::move(listed), "", absl::OkStatus()};
}

}  // namespace evc::driver
