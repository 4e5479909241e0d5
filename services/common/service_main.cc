#include "services/common/service_main.h"

#include "services/common/metrics.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/flags/flag.h"
#include "services/common/grpc_server.h"
#include "services/common/log.h"
#include "services/common/process.h"

ABSL_FLAG(std::string, postgres_url, "postgresql://evc@127.0.0.1:55432/evc",
          "Postgres connection URL");
ABSL_FLAG(std::string, kafka, "127.0.0.1:9092", "Kafka bootstrap servers (host:port,...)");
ABSL_FLAG(absl::Duration, kafka_delivery_timeout, absl::Seconds(30),
          "a message the broker has not acknowledged by then is given up as undelivered (what "
          "the service owes is sent again: engine commands, tickets)");
ABSL_FLAG(absl::Duration, startup_timeout, absl::Seconds(120),
          "how long to retry unreachable peers at start-up before giving up");

namespace evc {

std::string KafkaBrokers() { return absl::GetFlag(FLAGS_kafka); }
absl::Duration StartupTimeout() { return absl::GetFlag(FLAGS_startup_timeout); }

ServiceDeps ConnectDeps(const std::string& service, const DepsWanted& wanted) {
  // First, before any peer is tried: a start that fails later is bracketed.
  log::Info("starting", {{"service", service}, {"pid", static_cast<int64_t>(getpid())}});
  ServiceDeps deps;
  if (wanted.postgres) {
    auto pool = PgPool::Connect(absl::GetFlag(FLAGS_postgres_url), wanted.postgres_connections,
                                StartupTimeout(), &ShutdownRequested());
    ExitIfError("cannot connect to postgres (--postgres_url)", pool.status());
    deps.postgres = std::move(*pool);
    ExitIfError("cannot apply sql/ migrations", ApplyMigrations(*deps.postgres));
  }
  if (wanted.kafka_producer) {
    auto producer = KafkaProducer::Create(KafkaBrokers(), "evc-" + service,
                                          absl::GetFlag(FLAGS_kafka_delivery_timeout));
    ExitIfError("cannot create kafka producer (--kafka)", producer.status());
    deps.producer = std::move(*producer);
    ExitIfError("kafka topics (--kafka)", deps.producer->WaitForTopics(ProjectTopics(), absl::Now() + StartupTimeout(),
                                                                       &ShutdownRequested()));
  }
  return deps;
}

int Serve(const std::string& name, const std::string& listen,
          const std::vector<grpc::Service*>& services) {
  metrics::ServeFor(listen);
  ServiceHost host(name, listen);
  for (grpc::Service* s : services) host.AddService(s);
  ExitIfError("cannot start gRPC server (--listen)", host.Start());
  host.SetServing(true);
  host.RunUntilShutdown();
  return 0;
}

}  // namespace evc
