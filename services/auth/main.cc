// evc-auth: CP authentication (credentials -> token + AES-256 key), token
// validation for central, revocation (also on the registry's events).

#include "absl/flags/flag.h"
#include "evc/events/v1/events.pb.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "services/auth/auth_grpc.h"
#include "services/auth/pg_auth_store.h"
#include "services/common/grpc_util.h"
#include "services/common/log.h"
#include "services/common/process.h"
#include "services/common/service_main.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50052", "gRPC listen address (host:port)");
ABSL_FLAG(std::string, registry, "127.0.0.1:50051", "registry gRPC address");
ABSL_FLAG(absl::Duration, token_ttl, absl::Hours(24), "lifetime of a CP token");

namespace {

// Unregistered CPs and reset credentials revoke every token and key at once.
void RevokeOnRegistryEvents(evc::auth::Auth& auth, std::span<const evc::KafkaMessage> batch,
                            evc::KafkaProducer& producer) {
  for (const evc::KafkaMessage& m : batch) {
    evc::events::v1::RegistryEvent event;
    if (!event.ParseFromString(m.payload) || event.cp_id().empty()) {
      evc::DeadLetter(producer, m, "not a RegistryEvent");
      continue;
    }
    if (event.has_unregistered() || event.has_credentials_reset()) {
      auto revoked = auth.Revoke(event.cp_id());
      if (!revoked.ok()) {
        evc::log::Error("revocation failed", {{"cp_id", event.cp_id()}, {"error", revoked.status().ToString()}});
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "auth", "evc-auth: charging-point authentication");
  evc::ServiceDeps deps = evc::ConnectDeps("auth", {.postgres = true, .kafka_producer = true});
  auto registry = evc::registry::v1::RegistryService::NewStub(evc::MakeChannel(absl::GetFlag(FLAGS_registry)));
  evc::auth::CredentialChecker check = [&](const std::string& cp_id, const std::string& secret)
      -> absl::StatusOr<evc::common::v1::ChargingPoint> {
    evc::registry::v1::VerifyCredentialsRequest request;
    request.set_cp_id(cp_id);
    request.set_secret(secret);
    auto response = evc::CallUnary(&evc::registry::v1::RegistryService::Stub::VerifyCredentials,
                                   *registry, request, absl::Seconds(5));
    if (!response.ok()) return response.status();
    return response->charging_point();
  };
  evc::auth::PgAuthStore store(*deps.postgres);
  evc::SystemClock clock;
  evc::auth::Auth auth(store, check, clock, absl::GetFlag(FLAGS_token_ttl));

  auto consumer = evc::KafkaConsumer::Create({.brokers = evc::KafkaBrokers(),
                                              .group_id = "evc-auth",
                                              .client_id = "evc-auth",
                                              .topics = {evc::topics::kRegistryEvents}});
  evc::ExitIfError("cannot consume registry events (--kafka)", consumer.status());
  (*consumer)->Start([&](std::span<const evc::KafkaMessage> batch) {
    RevokeOnRegistryEvents(auth, batch, *deps.producer);
  });

  evc::WorkerPool pool(4, 1000);
  evc::auth::AuthGrpc service(auth, pool);
  int code = evc::Serve("auth", absl::GetFlag(FLAGS_listen), {&service});
  (*consumer)->Stop();
  return code;
}
