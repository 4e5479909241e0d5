#pragma once
// What `--help` prints. Abseil's own usage output shows only flags defined in a
// file named like the binary (none here: flags live in main.cc and in
// services/common), and says nothing of the EVC_<NAME> variables; this prints,
// for whatever binary links it, every project flag it takes with its default
// and its variable.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace evc {

// True for a flag defined in the project's sources: it can also be set as
// EVC_<NAME>. Abseil's own flags (--flagfile, --fromenv, ...) are CLI-only.
bool IsProjectFlagFile(absl::string_view filename);

// True when the command line asks for help (--help, -help, -h, --helpshort)
// before any "--".
bool AsksForHelp(int argc, char** argv);

// `about` (what the binary does; for a CLI, its commands), then the binary's
// own flags, then the common ones (those defined in services/common/).
std::string HelpText(absl::string_view about);

// One entry per named flag, as HelpText lists them: "--name=default  EVC_NAME"
// and the flag's description. Unknown names are skipped.
std::string FlagEntries(const std::vector<std::string>& names);

}  // namespace evc
