// evc-auth: CP authentication (credentials -> token + AES-256 key, rotation,
// revocation) and driver/operator sessions (login -> signed access token +
// refresh token, logout), token validation and public signing keys.

#include "absl/flags/flag.h"
#include "evc/events/v1/events.pb.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "services/auth/auth_grpc.h"
#include "services/auth/pg_auth_store.h"
#include "services/common/grpc_util.h"
#include "services/common/log.h"
#include "services/common/message_auth.h"
#include "services/common/process.h"
#include "services/common/service_main.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50052", "gRPC listen address (host:port)");
ABSL_FLAG(std::string, registry, "127.0.0.1:50051", "registry gRPC address");
ABSL_FLAG(absl::Duration, token_ttl, absl::Hours(24), "lifetime of a CP token");
ABSL_FLAG(absl::Duration, access_token_ttl, absl::Minutes(15),
          "lifetime of a driver/operator access token");
ABSL_FLAG(absl::Duration, refresh_token_ttl, absl::Hours(12),
          "lifetime of a session (its refresh token)");
ABSL_FLAG(int, lock_after_failures, 5,
          "consecutive failed logins after which an account is locked (30 s, doubling)");

namespace {

using evc::registry::v1::RegistryService;

// Unregistered CPs and reset credentials revoke every token and key at once.
// Only events the registry signed: a forged one could lift a revocation.
void RevokeOnRegistryEvents(evc::auth::Auth& auth, std::span<const evc::KafkaMessage> batch,
                            evc::KafkaProducer& producer, evc::VerifyingKeys& registry_keys,
                            evc::AuditSink& audit, const evc::Clock& clock) {
  for (const evc::KafkaMessage& m : batch) {
    evc::events::v1::RegistryEvent event;
    if (absl::Status s = evc::OpenSignedEvent(m.payload, registry_keys, &event); !s.ok()) {
      evc::RefuseEvent(m, s, "auth", &audit, clock);
      continue;
    }
    if (event.cp_id().empty() || event.cp_id() != m.key) {
      evc::DeadLetter(producer, m, "RegistryEvent without a cp_id matching its key");
      continue;
    }
    if (event.has_unregistered() || event.has_credentials_reset()) {
      auto revoked = auth.Revoke(event.cp_id(), evc::Caller::Service("registry", evc::topics::kRegistryEvents),
                                 event.has_unregistered() ? "unregistered" : "credentials reset",
                                 /*block=*/false);
      if (!revoked.ok()) {
        evc::log::Error("revocation failed", {{"cp_id", event.cp_id()}, {"error", revoked.status().ToString()}});
      }
    }
    // New credentials (re-enrolment or reset) lift a revocation's block.
    if (event.has_registered() || event.has_credentials_reset()) {
      if (absl::Status s = auth.Unblock(event.cp_id()); !s.ok()) {
        evc::log::Error("unblock failed", {{"cp_id", event.cp_id()}, {"error", s.ToString()}});
      }
    }
  }
}

}  // namespace

// What --help says before the flags.
constexpr char kAbout[] =
    "evc-auth: authentication of charging points, drivers and operators (gRPC service).\n"
    "Turns a CP's id + secret into a CP token and its AES-256 key (rotation, revocation); logs\n"
    "drivers and operators in (signed access tokens + refresh tokens) and publishes its public\n"
    "signing keys.\n"
    "\n"
    "usage: evc-auth [--flag=value ...]\n"
    "example:\n"
    "  evc-auth --listen=127.0.0.1:50052 --registry=127.0.0.1:50051 \\\n"
    "    --postgres_url=postgresql://evc@127.0.0.1:55432/evc --kafka=127.0.0.1:9092\n";

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "auth", kAbout);
  evc::ServiceDeps deps = evc::ConnectDeps("auth", {.postgres = true, .kafka_producer = true});
  auto registry = RegistryService::NewStub(evc::MakeChannel(absl::GetFlag(FLAGS_registry)));
  evc::auth::CredentialChecker check_cp = [&](const std::string& cp_id, const std::string& secret)
      -> absl::StatusOr<evc::common::v1::ChargingPoint> {
    evc::registry::v1::VerifyCredentialsRequest request;
    request.set_cp_id(cp_id);
    request.set_secret(secret);
    auto response = evc::CallUnary(&RegistryService::Stub::VerifyCredentials, *registry, request,
                                   absl::Seconds(5));
    if (!response.ok()) return response.status();
    return response->charging_point();
  };
  evc::auth::PasswordChecker check_password = [&](const std::string& username, const std::string& password) {
    evc::registry::v1::VerifyPasswordRequest request;
    request.set_username(username);
    request.set_password(password);
    return evc::CallUnary(&RegistryService::Stub::VerifyPassword, *registry, request, absl::Seconds(5));
  };
  evc::auth::PgAuthStore store(*deps.postgres);
  evc::KafkaPublisher kafka(*deps.producer);
  // Every auth event is signed with the token-signing key (consumers verify
  // with GetSigningKeys); `sessions` holds it, and loads it before serving.
  evc::auth::Sessions* signer = nullptr;
  evc::SigningPublisher events(kafka, [&signer] { return signer->CurrentSigningKey(); });
  evc::PgAuditSink audit(*deps.postgres, 10000, "auth");
  evc::SystemClock clock;
  evc::auth::Auth auth(store, check_cp, events, audit, clock, absl::GetFlag(FLAGS_token_ttl));
  evc::auth::Sessions sessions(store, check_password, events, audit, clock,
                               {.access_ttl = absl::GetFlag(FLAGS_access_token_ttl),
                                .refresh_ttl = absl::GetFlag(FLAGS_refresh_token_ttl),
                                .lock_after_failures = absl::GetFlag(FLAGS_lock_after_failures)});
  evc::ExitIfError("cannot load the token-signing keys", sessions.Start());
  signer = &sessions;
  std::unique_ptr<evc::VerifyingKeys> registry_keys = evc::RegistryEventKeys(*registry, clock);

  auto consumer = evc::KafkaConsumer::Create({.brokers = evc::KafkaBrokers(),
                                              .group_id = "evc-auth",
                                              .client_id = "evc-auth",
                                              .topics = {evc::topics::kRegistryEvents}});
  evc::ExitIfError("cannot consume registry events (--kafka)", consumer.status());
  (*consumer)->Start([&](std::span<const evc::KafkaMessage> batch) {
    RevokeOnRegistryEvents(auth, batch, *deps.producer, *registry_keys, audit, clock);
  });

  evc::WorkerPool pool(4, 1000);
  evc::auth::AuthGrpc service(auth, sessions, pool);
  int code = evc::Serve("auth", absl::GetFlag(FLAGS_listen), {&service});
  (*consumer)->Stop();
  audit.Flush();
  return code;
}
