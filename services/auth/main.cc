// evc-auth: CP authentication (credentials -> token + AES-256 key, rotation,
// revocation) and driver/operator sessions (login -> signed access token +
// refresh token, logout), token validation and public signing keys.

#include "absl/flags/flag.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "services/auth/auth_grpc.h"
#include "services/auth/pg_auth_store.h"
#include "services/auth/registry_checks.h"
#include "services/auth/registry_events.h"
#include "services/common/grpc_server.h"
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
  auto registry = evc::registry::v1::RegistryService::NewStub(evc::MakeChannel(absl::GetFlag(FLAGS_registry)));
  evc::auth::PgAuthStore store(*deps.postgres);
  evc::KafkaPublisher kafka(*deps.producer);
  // Every auth event is signed with the token-signing key (consumers verify
  // with GetSigningKeys); `sessions` holds it, and loads it before serving.
  evc::auth::Sessions* signer = nullptr;
  evc::SigningPublisher events(kafka, [&signer] { return signer->CurrentSigningKey(); });
  evc::PgAuditSink audit(*deps.postgres, 10000, "auth");
  audit.StreamTo(&kafka);
  evc::SystemClock clock;
  evc::auth::RegistryChecks checks(*registry);
  evc::auth::Auth auth(store, checks, events, audit, clock, absl::GetFlag(FLAGS_token_ttl));
  evc::auth::Sessions sessions(store, checks, events, audit, clock,
                               {.access_ttl = absl::GetFlag(FLAGS_access_token_ttl),
                                .refresh_ttl = absl::GetFlag(FLAGS_refresh_token_ttl),
                                .lock_after_failures = absl::GetFlag(FLAGS_lock_after_failures)});
  evc::ExitIfError("cannot load the token-signing keys", sessions.Start());
  signer = &sessions;
  std::unique_ptr<evc::VerifyingKeys> registry_keys = evc::RegistryEventKeys(*registry, clock);

  auto consumer = evc::StartConsuming(
      {.brokers = evc::KafkaBrokers(), .group_id = "evc-auth", .client_id = "evc-auth",
       .topics = {evc::topics::kRegistryEvents}},
      "cannot consume registry events (--kafka)", [&](std::span<const evc::KafkaMessage> batch) {
        evc::auth::RevokeOnRegistryEvents(auth, batch, *deps.producer, *registry_keys, audit, clock);
      });

  evc::WorkerPool pool(4, 1000);
  evc::auth::AuthGrpc service(auth, sessions, pool);
  int code = evc::Serve("auth", absl::GetFlag(FLAGS_listen), {&service});
  consumer->Stop();
  audit.Flush();
  return code;
}
