// evc-registry: charging-point enrolment and driver accounts.

#include "absl/flags/flag.h"
#include "services/common/grpc_server.h"
#include "services/common/log.h"
#include "services/common/process.h"
#include "services/common/service_main.h"
#include "services/registry/pg_registry_store.h"
#include "services/registry/registry_grpc.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC listen address (host:port)");
ABSL_FLAG(int, secret_hash_cost, 14,
          "scrypt cost of stored CP secrets, as log2(N): 14 in production; benchmarks that "
          "enrol thousands of CPs lower it (10..20)");

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "registry", "evc-registry: charging-point enrolment and drivers");
  evc::ServiceDeps deps = evc::ConnectDeps("registry", {.postgres = true, .kafka_producer = true});
  evc::registry::PgRegistryStore store(*deps.postgres);
  evc::KafkaPublisher events(*deps.producer);
  evc::SystemClock clock;
  const int cost = absl::GetFlag(FLAGS_secret_hash_cost);
  if (cost < 10 || cost > 20) {
    evc::ExitIfError("--secret_hash_cost", absl::InvalidArgumentError("must be between 10 and 20"));
  }
  evc::registry::Registry registry(store, events, clock, evc::crypto::ScryptParams{1ull << cost, 8, 1});
  evc::WorkerPool pool(4, 1000);
  evc::registry::RegistryGrpc service(registry, pool);
  return evc::Serve("registry", absl::GetFlag(FLAGS_listen), {&service});
}
