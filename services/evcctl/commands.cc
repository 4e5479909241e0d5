#include "services/evcctl/commands.h"

#include "absl/strings/str_cat.h"
#include "services/common/help.h"

namespace evc::evcctl {

std::string CommandsOverview(const std::vector<Command>& commands) {
  std::string out = "Commands (evcctl help COMMAND, or evcctl COMMAND --help, for one in full):\n";
  for (const Command& c : commands) {
    absl::StrAppend(&out, "  ", c.synopsis, "\n      ", c.summary, "\n      e.g. ", c.example,
                    "\n");
  }
  return out;
}

std::string CommandDetails(const Command& command) {
  return absl::StrCat("usage: evcctl [--flag=value ...] ", command.synopsis, "\n", command.summary,
                      "\n\nexample:\n  ", command.example,
                      "\n\nFlags it reads (each also EVC_<NAME>):\n", FlagEntries(command.flags),
                      "\nevcctl --help lists every command and flag.\n");
}

const Command* FindCommand(const std::vector<Command>& commands, absl::string_view name) {
  for (const Command& c : commands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const Command* CommandAskedAbout(const std::vector<Command>& commands, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (const Command* c = FindCommand(commands, argv[i])) return c;
  }
  return nullptr;
}

}  // namespace evc::evcctl
