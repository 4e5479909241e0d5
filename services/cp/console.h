#pragma once
// An engine's console: one key per line (p plug, u unplug, f fault (KO),
// r repair (OK), w walk-in charge, s status, q quit), for a person at the
// charging point.

#include <iostream>
#include <string>

#include "services/cp/engine.h"

namespace evc::cp {

// The keys read from `in` until q or its end; status and help on `out`.
void RunConsole(Engine& engine, std::istream& in, std::ostream& out);

// The engine's Kafka consumer group, named after its gRPC address: a restarted
// engine resumes where it left off; a new one reads from the start, and stale
// commands are dropped by age.
std::string EngineGroupId(const std::string& listen);

}  // namespace evc::cp
