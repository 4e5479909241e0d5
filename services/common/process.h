#pragma once
// Start-up shared by every binary: flags (each with an EVC_<NAME> environment
// fallback), JSON logging, and SIGTERM/SIGINT turned into a notification that
// long-running loops wait on, so shutdown is graceful everywhere.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"

namespace evc {

// Must run first in main(), before any thread exists: it blocks SIGTERM and
// SIGINT in every thread and has one thread wait for them. Returns the
// positional arguments. Exits with a clear message on a bad flag. `usage` says
// what the binary does (for a CLI, its commands and examples): --help prints
// it, then every flag with its default and EVC_* variable, and exits 0.
std::vector<std::string> InitProcess(int argc, char** argv, absl::string_view component,
                                     absl::string_view usage);

// Logs `status` and exits(1) when it is an error. Here rather than in
// service_main so that a binary needing only this does not link (and list in
// --help) the service runtime's --postgres_url, --kafka and --startup_timeout.
void ExitIfError(const std::string& what, const absl::Status& status);

// Notified on SIGTERM/SIGINT (or RequestShutdown()).
const absl::Notification& ShutdownRequested();
void RequestShutdown();

// The environment variable that backs a flag: "postgres_url" -> "EVC_POSTGRES_URL".
std::string EnvNameForFlag(absl::string_view flag_name);

}  // namespace evc
