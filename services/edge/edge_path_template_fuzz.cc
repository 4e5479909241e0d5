// Path templates (from annotations) and request paths (from anyone): the
// first line is parsed as a template, every further line is matched against
// it and against the edge's real route table.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "services/edge/fuzz_routes.h"
#include "services/edge/path_template.h"
#include "services/edge/routes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<absl::string_view> lines = absl::StrSplit(input, '\n');
  absl::StatusOr<evc::edge::PathTemplate> parsed = evc::edge::PathTemplate::Parse(lines[0]);
  for (size_t i = 1; i < lines.size() && i < 64; ++i) {
    const absl::string_view path = lines[i];
    if (parsed.ok()) {
      std::vector<evc::edge::Binding> bindings;
      if (parsed->Match(path, &bindings) && bindings.size() != parsed->variables().size()) __builtin_trap();
    }
    for (const char* method : {"GET", "POST"}) {
      evc::edge::RouteTable::Lookup lookup = evc::edge::FuzzRoutes().Match(method, path);
      if ((lookup.outcome == evc::edge::RouteTable::Outcome::kFound) != (lookup.route != nullptr)) __builtin_trap();
    }
    std::string decoded;
    (void)evc::edge::PercentDecode(path, &decoded);
  }
  return 0;
}
