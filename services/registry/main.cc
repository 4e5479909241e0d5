// evc-registry: charging-point enrolment and driver accounts.

#include "absl/flags/flag.h"
#include "services/common/grpc_server.h"
#include "services/common/log.h"
#include "services/common/process.h"
#include "services/common/service_main.h"
#include "services/registry/pg_registry_store.h"
#include "services/registry/registry_grpc.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC listen address (host:port)");

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "registry", "evc-registry: charging-point enrolment and drivers");
  evc::ServiceDeps deps = evc::ConnectDeps("registry", {.postgres = true, .kafka_producer = true});
  evc::registry::PgRegistryStore store(*deps.postgres);
  evc::KafkaPublisher events(*deps.producer);
  evc::SystemClock clock;
  evc::registry::Registry registry(store, events, clock);
  evc::WorkerPool pool(4, 1000);
  evc::registry::RegistryGrpc service(registry, pool);
  return evc::Serve("registry", absl::GetFlag(FLAGS_listen), {&service});
}
