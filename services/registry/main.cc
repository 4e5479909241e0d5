// evc-registry: charging-point enrolment and driver/operator accounts.

#include "absl/flags/flag.h"
#include "evc/auth/v1/auth.grpc.pb.h"
#include "services/common/auth_client.h"
#include "services/common/grpc_server.h"
#include "services/common/crypto.h"
#include "services/common/log.h"
#include "services/common/message_auth.h"
#include "services/common/process.h"
#include "services/common/secret_file.h"
#include "services/common/service_main.h"
#include "services/registry/pg_registry_store.h"
#include "services/registry/registry_grpc.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC listen address (host:port)");
ABSL_FLAG(std::string, auth, "127.0.0.1:50052", "auth gRPC address (token-signing keys)");
ABSL_FLAG(int, secret_hash_cost, 14,
          "scrypt cost of stored CP secrets and passwords, as log2(N): 14 in production; "
          "benchmarks that enrol thousands of CPs or drivers lower it (10..20)");
ABSL_FLAG(std::string, bootstrap_operator, "",
          "create (or reset) this operator account at start-up, with the password in "
          "--bootstrap_operator_password_file: how the first operator gets in");
ABSL_FLAG(std::string, bootstrap_operator_password_file, "", "file holding the bootstrap operator's password");

namespace {

void BootstrapOperator(evc::registry::Accounts& accounts) {
  const std::string username = absl::GetFlag(FLAGS_bootstrap_operator);
  if (username.empty()) return;
  auto password = evc::ReadSecretFile(absl::GetFlag(FLAGS_bootstrap_operator_password_file),
                                      "bootstrap operator's password");
  evc::ExitIfError("--bootstrap_operator_password_file", password.status());
  evc::ExitIfError("cannot create the bootstrap operator", accounts.EnsureOperator(username, *password));
}

}  // namespace

// What --help says before the flags.
constexpr char kAbout[] =
    "evc-registry: charging-point enrolment and accounts (gRPC service).\n"
    "Enrols CPs (id, address, city, price, max power) and issues each its secret once; holds\n"
    "driver and operator accounts. Announces every CP change on evc.registry-events.\n"
    "\n"
    "usage: evc-registry [--flag=value ...]\n"
    "example:\n"
    "  evc-registry --listen=127.0.0.1:50051 --postgres_url=postgresql://evc@127.0.0.1:55432/evc \\\n"
    "    --kafka=127.0.0.1:9092 --bootstrap_operator=admin --bootstrap_operator_password_file=admin.pw\n";

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "registry", kAbout);
  evc::ServiceDeps deps = evc::ConnectDeps("registry", {.postgres = true, .kafka_producer = true});
  evc::registry::PgRegistryStore store(*deps.postgres);
  evc::KafkaPublisher kafka(*deps.producer);
  // Every registry event is signed: consumers refuse anything else.
  absl::StatusOr<evc::SigningKey> event_key = store.EventSigningKey("registry");
  evc::ExitIfError("cannot load the event-signing key", event_key.status());
  absl::StatusOr<std::string> event_public = evc::crypto::Ed25519PublicKey(event_key->private_key);
  evc::ExitIfError("cannot load the event-signing key", event_public.status());
  evc::SigningPublisher events(kafka, [key = *event_key] { return key; });
  evc::PgAuditSink audit(*deps.postgres, 10000, "registry");
  evc::SystemClock clock;
  const int cost = absl::GetFlag(FLAGS_secret_hash_cost);
  if (cost < 10 || cost > 20) {
    evc::ExitIfError("--secret_hash_cost", absl::InvalidArgumentError("must be between 10 and 20"));
  }
  const evc::crypto::ScryptParams hashing{1ull << cost, 8, 1};
  evc::registry::Registry registry(store, events, audit, clock, hashing);
  evc::registry::Accounts accounts(store, audit, clock, hashing);
  BootstrapOperator(accounts);

  auto auth = evc::auth::v1::AuthService::NewStub(evc::MakeChannel(absl::GetFlag(FLAGS_auth)));
  std::unique_ptr<evc::TokenVerifier> verifier = evc::MakeAuthTokenVerifier(*auth, clock);
  std::unique_ptr<evc::VerifyingKeys> auth_keys = evc::AuthEventKeys(*auth, clock);
  auto follower = evc::FollowAuthEvents("registry", *verifier, *auth_keys);
  evc::ExitIfError("cannot follow auth events (--kafka)", follower.status());
  evc::CallAuthorizer authz(*verifier);

  evc::WorkerPool pool(4, 1000);
  evc::registry::RegistryGrpc service(registry, accounts, authz, pool, {{event_key->key_id, *event_public}});
  int code = evc::Serve("registry", absl::GetFlag(FLAGS_listen), {&service});
  (*follower)->Stop();
  audit.Flush();
  return code;
}
