#pragma once
// What a service's main() needs beyond its own logic: its peers (Postgres with
// migrations applied, Kafka), connected with retry so start-up order does not
// matter, and a server run until SIGTERM. Flags: --postgres_url, --kafka,
// --startup_timeout (each also EVC_<NAME> in the environment).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "evc/auth/v1/auth.grpc.pb.h"
#include "services/common/authz.h"
#include "services/common/clock.h"
#include "services/common/grpc_server.h"
#include "services/common/kafka.h"
#include "services/common/message_auth.h"
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

// Creates a consumer and starts it on `handler`; exits the process with `what`
// (e.g. "cannot consume engine commands (--kafka)") if it cannot be created.
std::unique_ptr<KafkaConsumer> StartConsuming(const KafkaConsumer::Options& options,
                                              const std::string& what,
                                              KafkaConsumer::BatchHandler handler);

// Polls `done` every `poll` until it holds (true) or `stop` is notified (false):
// for conditions a peer reaches at its own pace, with no event to wait on.
bool WaitUntil(const std::function<bool()>& done, const absl::Notification& stop,
               absl::Duration poll = absl::Milliseconds(50));

// For binaries that serve no API but are probed (the fleet): gRPC health alone
// on `listen`, plaintext, NOT_SERVING until SetServing(true), and /metrics beside
// it. Empty `listen`: nothing is served (nullptr). Exits if it cannot serve.
std::unique_ptr<ServiceHost> ServeHealth(const std::string& name, const std::string& listen);

// Who calls a service's RPCs, identified by auth's tokens: the verifier fetches
// auth's signing keys and follows auth's events (revoked sessions, rotated keys)
// until the CallerAuth is destroyed.
class CallerAuth {
 public:
  // `service` names this process's own consumer group; `auth` reaches auth.
  static absl::StatusOr<std::unique_ptr<CallerAuth>> Start(const std::string& service,
                                                           std::shared_ptr<grpc::Channel> auth,
                                                           const Clock& clock);
  ~CallerAuth();
  CallAuthorizer& authorizer() { return *authorizer_; }

 private:
  explicit CallerAuth(std::shared_ptr<grpc::Channel> auth, const Clock& clock);

  std::unique_ptr<auth::v1::AuthService::Stub> auth_;
  std::unique_ptr<TokenVerifier> verifier_;
  std::unique_ptr<VerifyingKeys> event_keys_;
  std::unique_ptr<KafkaConsumer> follower_;
  std::unique_ptr<CallAuthorizer> authorizer_;
};

}  // namespace evc
