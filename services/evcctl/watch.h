#pragma once
// `evcctl watch`: the network live from central's WatchNetwork, as a redrawn
// panel on a terminal or one line per event (--plain, or when stdout is not a
// terminal), until shutdown (or q on the panel).

#include <cstdio>

#include "evc/central/v1/central.pb.h"
#include "services/evcctl/context.h"

namespace evc::evcctl {

int Watch(Context& context);

// One update as `watch --plain` prints it.
void PrintPlain(std::FILE* out, const central::v1::NetworkUpdate& update);

}  // namespace evc::evcctl
