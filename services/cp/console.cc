#include "services/cp/console.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace evc::cp {

void RunConsole(Engine& engine, std::istream& in, std::ostream& out) {
  std::string line;
  while (std::getline(in, line)) {
    std::string key = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line));
    const absl::Time now = absl::Now();
    if (key == "q") break;
    if (key == "p") {
      engine.Plug(now);
    } else if (key == "u") {
      engine.Unplug(now);
    } else if (key == "f") {
      engine.Fault();
    } else if (key == "r") {
      engine.Repair();
    } else if (key == "w") {
      engine.RequestWalkIn(now);
    } else if (key == "s") {
      auto c = engine.Check();
      out << "activated=" << c.activated() << " ok=" << c.ok()
          << " supply=" << (c.supply_id().empty() ? "-" : c.supply_id()) << std::endl;
    } else if (!key.empty()) {
      out << "keys: p plug, u unplug, f fault, r repair, w walk-in, s status, q quit" << std::endl;
    }
  }
}

std::string EngineGroupId(const std::string& listen) {
  std::string group = absl::StrCat("evc-engine-", listen);
  for (char& c : group) {
    if (!absl::ascii_isalnum(c) && c != '-') c = '-';
  }
  return group;
}

}  // namespace evc::cp
