// evc-central: the control plane of the charging network.

#include "absl/flags/flag.h"
#include "services/central/central_replica.h"
#include "services/common/process.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50053", "gRPC listen address (host:port)");
ABSL_FLAG(std::string, registry, "127.0.0.1:50051", "registry gRPC address");
ABSL_FLAG(std::string, auth, "127.0.0.1:50052", "auth gRPC address");

// What --help says before the flags.
constexpr char kAbout[] =
    "evc-central: the control plane of the charging network (gRPC service).\n"
    "Keeps every CP's live state (from its monitor link, health and holds), authorises charges,\n"
    "ingests telemetry, closes supplies with tickets, runs operator commands and weather holds,\n"
    "and streams the whole network to dashboards (WatchNetwork). Several replicas may run on\n"
    "one Postgres: one leads (a lease with fencing), the others refuse calls naming it.\n"
    "\n"
    "usage: evc-central [--flag=value ...]\n"
    "example:\n"
    "  evc-central --listen=127.0.0.1:50053 --registry=127.0.0.1:50051 --auth=127.0.0.1:50052 \\\n"
    "    --postgres_url=postgresql://evc@127.0.0.1:55432/evc --kafka=127.0.0.1:9092\n";

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "central", kAbout);
  return evc::central::RunCentralReplica({.listen = absl::GetFlag(FLAGS_listen),
                                          .registry = absl::GetFlag(FLAGS_registry),
                                          .auth = absl::GetFlag(FLAGS_auth)});
}
