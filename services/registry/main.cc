// evc-registry: charging-point enrolment and driver/operator accounts.

#include "absl/flags/flag.h"
#include "services/common/crypto.h"
#include "services/common/service_main.h"
#include "services/registry/pg_registry_store.h"
#include "services/registry/registry_grpc.h"
#include "services/registry/startup.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC listen address (host:port)");
ABSL_FLAG(std::string, auth, "127.0.0.1:50052", "auth gRPC address (token-signing keys)");
ABSL_FLAG(int, secret_hash_cost, 14,
          "scrypt cost of stored CP secrets and passwords, as log2(N): 14 in production; "
          "benchmarks that enrol thousands of CPs or drivers lower it (10..20)");
ABSL_FLAG(std::string, bootstrap_operator, "",
          "create (or reset) this operator account at start-up, with the password in "
          "--bootstrap_operator_password_file: how the first operator gets in");
ABSL_FLAG(std::string, bootstrap_operator_password_file, "", "file holding the bootstrap operator's password");

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
  absl::StatusOr<evc::crypto::ScryptParams> hashing =
      evc::registry::SecretHashing(absl::GetFlag(FLAGS_secret_hash_cost));
  evc::ExitIfError("--secret_hash_cost", hashing.status());
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
  audit.StreamTo(&kafka);
  evc::SystemClock clock;
  evc::registry::Registry registry(store, events, audit, clock, *hashing);
  evc::registry::Accounts accounts(store, audit, clock, *hashing);
  evc::ExitIfError("--bootstrap_operator", evc::registry::BootstrapOperator(
                                               accounts, absl::GetFlag(FLAGS_bootstrap_operator),
                                               absl::GetFlag(FLAGS_bootstrap_operator_password_file)));
  auto callers = evc::CallerAuth::Start("registry", evc::MakeChannel(absl::GetFlag(FLAGS_auth)), clock);
  evc::ExitIfError("cannot follow auth events (--kafka)", callers.status());

  evc::WorkerPool pool(4, 1000);
  evc::registry::RegistryGrpc service(registry, accounts, (*callers)->authorizer(), pool,
                                      {{event_key->key_id, *event_public}});
  int code = evc::Serve("registry", absl::GetFlag(FLAGS_listen), {&service});
  callers->reset();
  audit.Flush();
  return code;
}
