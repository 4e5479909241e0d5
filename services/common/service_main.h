#pragma once
// What a service's main() needs beyond its own logic: its peers (Postgres with
// migrations applied, Kafka), connected with retry so start-up order does not
// matter, and a server run until SIGTERM. Flags: --postgres_url, --kafka,
// --startup_timeout (each also EVC_<NAME> in the environment).

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "services/common/kafka.h"
#include "services/common/postgres.h"
#include "services/common/process.h"  // ExitIfError, which most mains use with these

namespace evc {

struct DepsWanted {
  bool postgres = false;
  bool kafka_producer = false;
  int postgres_connections = 4;
};

struct ServiceDeps {
  std::unique_ptr<PgPool> postgres;
  std::unique_ptr<KafkaProducer> producer;
};

// Exits the process with a clear message if a dependency cannot be reached
// within --startup_timeout.
ServiceDeps ConnectDeps(const std::string& service, const DepsWanted& wanted);

// The Kafka bootstrap servers from --kafka.
std::string KafkaBrokers();
// How long to keep retrying peers at start-up (--startup_timeout).
absl::Duration StartupTimeout();

// Registers `services`, serves until SIGTERM/SIGINT, returns the exit code.
int Serve(const std::string& name, const std::string& listen,
          const std::vector<grpc::Service*>& services);

}  // namespace evc
