#pragma once
// `evcctl weather ...`: the weather service's cities, operator temperatures,
// alert history, readings and configuration.

#include <string>
#include <vector>

#include "services/evcctl/context.h"

namespace evc::evcctl {

// args: "weather", then the subcommand (default "cities") and its arguments.
// Returns the exit code (2 for a subcommand it does not know).
int WeatherCommand(Context& context, const std::vector<std::string>& args);

}  // namespace evc::evcctl
