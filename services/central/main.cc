// evc-central: the control plane of the charging network.

#include "absl/flags/flag.h"
#include "services/central/central_grpc.h"
#include "services/central/kafka_routes.h"
#include "services/central/network_flags.h"
#include "services/central/pg_supply_store.h"
#include "services/central/replay_marks.h"
#include "services/central/remote_sources.h"
#include "services/common/auth_client.h"
#include "services/common/grpc_util.h"
#include "services/common/process.h"
#include "services/common/service_main.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50053", "gRPC listen address (host:port)");
ABSL_FLAG(std::string, registry, "127.0.0.1:50051", "registry gRPC address");
ABSL_FLAG(std::string, auth, "127.0.0.1:50052", "auth gRPC address");

// What --help says before the flags.
constexpr char kAbout[] =
    "evc-central: the control plane of the charging network (gRPC service).\n"
    "Keeps every CP's live state (from its monitor link, health and holds), authorises charges,\n"
    "ingests telemetry, closes supplies with tickets, runs operator commands and weather holds,\n"
    "and streams the whole network to dashboards (WatchNetwork).\n"
    "\n"
    "usage: evc-central [--flag=value ...]\n"
    "example:\n"
    "  evc-central --listen=127.0.0.1:50053 --registry=127.0.0.1:50051 --auth=127.0.0.1:50052 \\\n"
    "    --postgres_url=postgresql://evc@127.0.0.1:55432/evc --kafka=127.0.0.1:9092\n";

int main(int argc, char** argv) {
  using namespace evc::central;  // NOLINT: the binary of this namespace
  evc::InitProcess(argc, argv, "central", kAbout);
  evc::ServiceDeps deps = evc::ConnectDeps("central", {.postgres = true, .kafka_producer = true, .postgres_connections = 6});
  auto registry = evc::registry::v1::RegistryService::NewStub(evc::MakeChannel(absl::GetFlag(FLAGS_registry)));
  auto auth = evc::auth::v1::AuthService::NewStub(evc::MakeChannel(absl::GetFlag(FLAGS_auth)));
  PgSupplyStore store(*deps.postgres);
  evc::KafkaPublisher publisher(*deps.producer);
  evc::SystemClock clock;
  std::unique_ptr<evc::TokenVerifier> tokens = evc::MakeAuthTokenVerifier(*auth, clock);
  AuthCpKeys keys(*auth);
  PgReplayMarkStore replay_marks(*deps.postgres);
  EngineChannel channel(keys, &replay_marks, publisher, clock);
  AuthNotificationKeys notification_keys(*auth);
  RegistryCatalogue catalogue(*registry);
  Central central(NetworkConfigFromFlags(), store, publisher, channel, clock, &notification_keys, &catalogue);
  absl::StatusOr<std::vector<evc::common::v1::ChargingPoint>> entries = LoadCatalogue(*registry);
  evc::ExitIfError("cannot load the charging-point catalogue (--registry)", entries.status());
  evc::ExitIfError("cannot start central", central.Start(*entries));

  evc::CallAuthorizer authz(*tokens);
  evc::WorkerPool pool(8, 10000);
  AuthCpTokens cp_tokens(*auth);
  PgAuditReader audit(*deps.postgres);
  CentralGrpc service(central, pool, cp_tokens, authz, audit);
  // The broker authenticates nobody: charge assertions and auth events are
  // verified with auth's keys, registry events with the registry's.
  std::unique_ptr<evc::VerifyingKeys> auth_keys = evc::AuthEventKeys(*auth, clock);
  std::unique_ptr<evc::VerifyingKeys> registry_keys = evc::RegistryEventKeys(*registry, clock);
  KafkaRoutes routes(central, channel, *tokens, {auth_keys.get(), registry_keys.get()}, service, clock);
  auto consumer = evc::StartConsuming(
      {.brokers = evc::KafkaBrokers(), .group_id = "evc-central", .client_id = "evc-central",
       .topics = {evc::topics::kEngineEvents, evc::topics::kChargeRequests,
                  evc::topics::kRegistryEvents, evc::topics::kAuthEvents},
       .sole_reader = true},
      "cannot consume from kafka (--kafka)",
      [&](std::span<const evc::KafkaMessage> batch) { routes.HandleBatch(batch, deps.producer.get()); });

  int code = evc::Serve("central", absl::GetFlag(FLAGS_listen), {&service});
  consumer->Stop();
  central.Stop();
  return code;
}
