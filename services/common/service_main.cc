#include "services/common/service_main.h"

#include "services/common/metrics.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/flags/flag.h"
#include "services/common/auth_client.h"
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

std::unique_ptr<KafkaConsumer> StartConsuming(const KafkaConsumer::Options& options,
                                              const std::string& what,
                                              KafkaConsumer::BatchHandler handler) {
  auto consumer = KafkaConsumer::Create(options);
  ExitIfError(what, consumer.status());
  (*consumer)->Start(std::move(handler));
  return *std::move(consumer);
}

bool WaitUntil(const std::function<bool()>& done, const absl::Notification& stop,
               absl::Duration poll) {
  while (!done()) {
    if (stop.WaitForNotificationWithTimeout(poll)) return false;
  }
  return true;
}

std::unique_ptr<ServiceHost> ServeHealth(const std::string& name, const std::string& listen) {
  if (listen.empty()) return nullptr;
  metrics::ServeFor(listen);
  // Health only, for probes: plaintext even when the process's own calls use TLS.
  static const TlsConfig kPlaintext;
  auto health = std::make_unique<ServiceHost>(name, listen, &kPlaintext);
  ExitIfError("cannot serve health (--listen)", health->Start());
  return health;
}

CallerAuth::CallerAuth(std::shared_ptr<grpc::Channel> auth, const Clock& clock)
    : auth_(auth::v1::AuthService::NewStub(std::move(auth))),
      verifier_(MakeAuthTokenVerifier(*auth_, clock)),
      event_keys_(AuthEventKeys(*auth_, clock)),
      authorizer_(std::make_unique<CallAuthorizer>(*verifier_)) {}

absl::StatusOr<std::unique_ptr<CallerAuth>> CallerAuth::Start(const std::string& service,
                                                              std::shared_ptr<grpc::Channel> auth,
                                                              const Clock& clock) {
  std::unique_ptr<CallerAuth> callers(new CallerAuth(std::move(auth), clock));
  auto follower = FollowAuthEvents(service, *callers->verifier_, *callers->event_keys_);
  if (!follower.ok()) return follower.status();
  callers->follower_ = *std::move(follower);
  return callers;
}

CallerAuth::~CallerAuth() {
  if (follower_ != nullptr) follower_->Stop();
}

}  // namespace evc
