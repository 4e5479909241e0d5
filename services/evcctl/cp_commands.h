#pragma once
// evcctl's commands on charging points and the network: enrolment at the registry,
// state and operator stops at central, tickets, the audit trail, health checks.
// Each returns the process's exit code.

#include <string>
#include <vector>

#include "services/evcctl/context.h"

namespace evc::evcctl {

int Register(Context& context, const std::string& cp_id);
// Changes only what the flags give (address, city, country, price, max power,
// coordinates) and prints the CP as the registry now holds it.
int Update(Context& context, const std::string& cp_id);
int Unregister(Context& context, const std::string& cp_id);
int List(Context& context);
int Status(Context& context);
// `verb` is "stop" or "resume"; args[1] the CP unless Options::all.
int StopOrResume(Context& context, const std::string& verb, const std::vector<std::string>& args);
int Tickets(Context& context);
int Audit(Context& context);
// Everyone queued at busy places (issue 20), with position and estimated wait.
int Queues(Context& context);
int WaitActive(Context& context);
int Health(Context& context, const std::string& address);

}  // namespace evc::evcctl
