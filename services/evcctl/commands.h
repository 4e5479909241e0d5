#pragma once
// evcctl's commands as data: what `evcctl --help` lists and `evcctl help
// COMMAND` (or `evcctl COMMAND --help`) explains, beside what each one runs.

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace evc::evcctl {

struct Command {
  std::string name;      // "stop"
  std::string synopsis;  // "stop ID | --all"
  std::string summary;   // one line: what it does
  std::string example;   // a whole command line
  // Every flag it reads, in the order worth reading them.
  std::vector<std::string> flags;
  // How many positional arguments it needs after its name.
  size_t arguments = 0;
  // Given the positional arguments, the command's name first; returns the exit code.
  std::function<int(const std::vector<std::string>& args)> run;
};

// For `evcctl --help`: every command with its synopsis, summary and example.
std::string CommandsOverview(const std::vector<Command>& commands);

// For `evcctl help COMMAND`: its synopsis, summary, flags (defaults and EVC_*
// variables) and example.
std::string CommandDetails(const Command& command);

// The command called `name`, or null.
const Command* FindCommand(const std::vector<Command>& commands, absl::string_view name);

// The command a `--help` on this command line is about: the first argument
// naming one (`evcctl --user=x weather --help`); null for none.
const Command* CommandAskedAbout(const std::vector<Command>& commands, int argc, char** argv);

}  // namespace evc::evcctl
