#pragma once
// evcctl's command table (the commands bound to what they run) and the
// dispatch of a parsed command line to one of them.

#include <string>
#include <vector>

#include "services/evcctl/commands.h"
#include "services/evcctl/context.h"

namespace evc::evcctl {

// Every command, running with `context` (which must outlive the table).
std::vector<Command> Commands(Context& context);

// What `evcctl --help` says before the flags.
std::string About(const std::vector<Command>& commands);

// Runs the command `args` name (after flags were parsed; `help [COMMAND]`
// included) and returns the exit code: 2 for a usage error.
int RunCommandLine(const std::vector<Command>& commands, const std::vector<std::string>& args,
                   const std::string& about, Context& context);

}  // namespace evc::evcctl
