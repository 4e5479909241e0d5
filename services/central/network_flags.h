#pragma once
// The state machine's timings as evc-central's command-line flags: the
// settings in force until an operator stores live ones (live_config.h).

#include "services/central/network.h"

namespace evc::central {

NetworkConfig NetworkConfigFromFlags();

}  // namespace evc::central
