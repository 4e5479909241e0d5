// evc-central: the control plane of the charging network.

#include "absl/flags/flag.h"
#include "evc/auth/v1/auth.grpc.pb.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "services/central/central_grpc.h"
#include "services/central/pg_supply_store.h"
#include "services/central/replay_marks.h"
#include "services/common/auth_client.h"
#include "services/common/backoff.h"
#include "services/common/proto_time.h"
#include "services/common/grpc_util.h"
#include "services/common/log.h"
#include "services/common/process.h"
#include "services/common/service_main.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50053", "gRPC listen address (host:port)");
ABSL_FLAG(std::string, registry, "127.0.0.1:50051", "registry gRPC address");
ABSL_FLAG(std::string, auth, "127.0.0.1:50052", "auth gRPC address");
ABSL_FLAG(absl::Duration, link_timeout, absl::Seconds(5),
          "a CP without a health report for this long is DISCONNECTED");
ABSL_FLAG(absl::Duration, restart_grace, absl::Seconds(15),
          "after a restart, how long monitors have to reconnect before their supplies close");
ABSL_FLAG(absl::Duration, plug_timeout, absl::Seconds(120),
          "an authorised supply whose vehicle is never plugged in is cancelled after this");
ABSL_FLAG(absl::Duration, stop_timeout, absl::Seconds(15),
          "a supply whose engine does not confirm a stop is closed after this");
ABSL_FLAG(absl::Duration, reconcile_grace, absl::Seconds(10),
          "how long a CP's report of the supply it runs may disagree with central before central "
          "closes its own record (CP_LOST_SUPPLY) or stops the CP's (UNKNOWN_SUPPLY)");
ABSL_FLAG(absl::Duration, telemetry_timeout, absl::Seconds(15),
          "a running supply with no telemetry for this long is asked for a report, and closed "
          "(ENGINE_SILENT) after twice this");
ABSL_FLAG(absl::Duration, command_resend_interval, absl::Seconds(3),
          "an engine command not yet acted on (authorise, stop) is sent again this often, and a "
          "ticket whose delivery failed too");

namespace {

using evc::registry::v1::RegistryService;

// A CP's keys come from auth, over mutual TLS when it is on.
class AuthKeySource : public evc::central::CpKeySource {
 public:
  explicit AuthKeySource(evc::auth::v1::AuthService::Stub& auth) : auth_(auth) {}
  absl::StatusOr<std::vector<evc::CpKey>> Keys(const std::string& cp_id) override {
    evc::auth::v1::GetChargingPointKeysRequest request;
    request.set_cp_id(cp_id);
    auto response = evc::CallUnary(&evc::auth::v1::AuthService::Stub::GetChargingPointKeys, auth_,
                                   request, absl::Seconds(3));
    if (!response.ok()) return response.status();
    std::vector<evc::CpKey> keys;
    for (const auto& k : response->keys()) {
      keys.push_back({k.key_id(), k.key(),
                      k.has_not_after() ? evc::FromProto(k.not_after()) : absl::InfiniteFuture()});
    }
    return keys;
  }

 private:
  evc::auth::v1::AuthService::Stub& auth_;
};

// Drivers' notification keys come from auth (an internal RPC).
class AuthNotificationKeys : public evc::central::NotificationKeySource {
 public:
  explicit AuthNotificationKeys(evc::auth::v1::AuthService::Stub& auth) : auth_(auth) {}
  absl::StatusOr<evc::NotificationKey> Key(const std::string& driver_id) override {
    evc::auth::v1::GetNotificationKeyRequest request;
    request.set_driver_id(driver_id);
    auto response = evc::CallUnary(&evc::auth::v1::AuthService::Stub::GetNotificationKey, auth_, request,
                                   absl::Seconds(3));
    if (!response.ok()) return response.status();
    return evc::NotificationKey{response->key_id(), response->key()};
  }

 private:
  evc::auth::v1::AuthService::Stub& auth_;
};

std::vector<evc::common::v1::ChargingPoint> LoadCatalogue(RegistryService::Stub& registry) {
  std::vector<evc::common::v1::ChargingPoint> catalogue;
  absl::Status s = evc::RetryWithBackoff(
      "list charging points at the registry",
      [&]() -> absl::Status {
        auto list = evc::CallUnary(&RegistryService::Stub::ListChargingPoints, registry,
                                   evc::registry::v1::ListChargingPointsRequest(), absl::Seconds(5));
        if (!list.ok()) return list.status();
        catalogue.assign(list->charging_points().begin(), list->charging_points().end());
        return absl::OkStatus();
      },
      absl::Now() + evc::StartupTimeout(), &evc::ShutdownRequested());
  evc::ExitIfError("cannot load the charging-point catalogue (--registry)", s);
  return catalogue;
}

}  // namespace

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
  evc::InitProcess(argc, argv, "central", kAbout);
  evc::ServiceDeps deps = evc::ConnectDeps("central", {.postgres = true, .kafka_producer = true, .postgres_connections = 6});
  auto registry = RegistryService::NewStub(evc::MakeChannel(absl::GetFlag(FLAGS_registry)));
  auto auth = evc::auth::v1::AuthService::NewStub(evc::MakeChannel(absl::GetFlag(FLAGS_auth)));

  evc::central::NetworkConfig config{.link_timeout = absl::GetFlag(FLAGS_link_timeout),
                                     .restart_grace = absl::GetFlag(FLAGS_restart_grace),
                                     .plug_timeout = absl::GetFlag(FLAGS_plug_timeout),
                                     .stop_timeout = absl::GetFlag(FLAGS_stop_timeout),
                                     .reconcile_grace = absl::GetFlag(FLAGS_reconcile_grace),
                                     .telemetry_timeout = absl::GetFlag(FLAGS_telemetry_timeout),
                                     .command_resend_interval =
                                         absl::GetFlag(FLAGS_command_resend_interval)};
  evc::central::PgSupplyStore store(*deps.postgres);
  evc::KafkaPublisher publisher(*deps.producer);
  evc::SystemClock clock;
  std::unique_ptr<evc::TokenVerifier> tokens = evc::MakeAuthTokenVerifier(*auth, clock);
  AuthKeySource keys(*auth);
  evc::central::Central central(config, store, publisher, *tokens, keys, clock);
  evc::central::PgReplayMarkStore replay_marks(*deps.postgres);
  central.SetReplayMarkStore(&replay_marks);
  // The broker authenticates nobody: charge assertions and auth events are
  // verified with auth's keys, registry events with the registry's, and
  // notifications are sealed per driver.
  std::unique_ptr<evc::VerifyingKeys> auth_keys = evc::AuthEventKeys(*auth, clock);
  std::unique_ptr<evc::VerifyingKeys> registry_keys = evc::RegistryEventKeys(*registry, clock);
  AuthNotificationKeys notification_keys(*auth);
  central.SetKafkaTrust({auth_keys.get(), registry_keys.get(), &notification_keys});
  evc::ExitIfError("cannot start central", central.Start(LoadCatalogue(*registry)));

  evc::CallAuthorizer authz(*tokens);
  evc::WorkerPool pool(8, 10000);
  evc::central::CentralGrpc service(central, pool, [&](const std::string& token) -> absl::StatusOr<std::string> {
    evc::auth::v1::ValidateChargingPointTokenRequest request;
    request.set_token(token);
    auto r = evc::CallUnary(&evc::auth::v1::AuthService::Stub::ValidateChargingPointToken, *auth,
                            request, absl::Seconds(5));
    if (!r.ok()) return r.status();
    return r->cp_id();
  }, authz, [&](const evc::AuditQuery& query) { return evc::QueryAudit(*deps.postgres, query); });
  central.SetCatalogueLookup([&](const std::string& cp_id) {
    evc::registry::v1::GetChargingPointRequest request;
    request.set_cp_id(cp_id);
    return evc::CallUnary(&RegistryService::Stub::GetChargingPoint, *registry, request, absl::Seconds(5));
  });
  central.SetLinkCloser([&](const std::string& cp_id, const std::string& why) {
    service.CloseLink(cp_id, grpc::Status(grpc::StatusCode::UNAUTHENTICATED, why));
  });

  auto consumer = evc::KafkaConsumer::Create(
      {.brokers = evc::KafkaBrokers(),
       .group_id = "evc-central",
       .client_id = "evc-central",
       .topics = {evc::topics::kEngineEvents, evc::topics::kChargeRequests,
                  evc::topics::kRegistryEvents, evc::topics::kAuthEvents},
       .sole_reader = true});
  evc::ExitIfError("cannot consume from kafka (--kafka)", consumer.status());
  (*consumer)->Start([&](std::span<const evc::KafkaMessage> batch) {
    central.HandleKafkaBatch(batch, deps.producer.get());
  });

  int code = evc::Serve("central", absl::GetFlag(FLAGS_listen), {&service});
  (*consumer)->Stop();
  central.Stop();
  return code;
}
