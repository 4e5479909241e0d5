#pragma once
// The state machine's timings as evc-central's command-line flags.

#include "services/central/network.h"

namespace evc::central {

NetworkConfig NetworkConfigFromFlags();

}  // namespace evc::central
