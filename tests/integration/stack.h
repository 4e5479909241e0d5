#pragma once
// A private EVCharging network for integration tests: its own Postgres cluster
// (through `evc _pg`), the dev Kafka broker and the real service binaries on
// free loopback ports, each logging into the stack's directory. Everything is
// stopped when the stack is destroyed.

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "evc/auth/v1/auth.grpc.pb.h"
#include "evc/central/v1/central.grpc.pb.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "evc/weather/v1/weather.grpc.pb.h"
#include "grpc/health/v1/health.pb.h"
#include "services/common/client_session.h"
#include "services/common/grpc_server.h"
#include "services/common/kafka.h"

namespace evc::testing {

class Process {
 public:
  Process(std::string name, std::vector<std::string> argv, std::map<std::string, std::string> env,
          std::string log_path);
  ~Process();
  void Signal(int signo);
  // SIGTERM, then SIGKILL after `grace`.
  void Stop(absl::Duration grace = absl::Seconds(5));
  void Kill() { Signal(9); Wait(); }
  bool Running();
  pid_t pid() const { return pid_; }
  // How it ended, once it has (a signal: 128 + its number).
  std::optional<int> exit_code() const { return exit_code_; }
  const std::string& log_path() const { return log_path_; }

 private:
  void Wait();
  void Ended(int wait_status);
  std::string name_;
  std::optional<int> exit_code_;
  std::string log_path_;
  pid_t pid_ = -1;
};

class Stack {
 public:
  struct Options {
    absl::Duration link_timeout = absl::Seconds(2);
    absl::Duration restart_grace = absl::Seconds(10);
    // Extra flags per service (benchmarks tune them).
    std::vector<std::string> registry_flags;
    std::vector<std::string> central_flags;
    // Where the stack lives; a fresh /tmp directory when empty.
    std::string dir;
    // Every gRPC channel on TLS, mutual between services (certificates from
    // `evc _certs`); the stack's own calls come with the CA only, like the CLIs.
    bool tls = false;
  };
  // Starts Postgres, Kafka, registry, auth and central.
  static absl::StatusOr<std::unique_ptr<Stack>> Start(Options options);
  static absl::StatusOr<std::unique_ptr<Stack>> Start() { return Start(Options()); }
  ~Stack();

  const std::string& dir() const { return dir_; }
  const std::string& kafka() const { return kafka_; }
  std::string postgres_url() const;
  std::string central_address() const { return "127.0.0.1:" + std::to_string(central_port_); }
  // Where clients reach central: its address, or after FollowCentralLeader
  // the list of every replica, of which the leader is called.
  const std::string& central_target() const { return central_target_; }
  // From now on central() and CentralAs() call the leader of the stack's
  // central and the replicas on `replica_ports` (MakeCentralChannel).
  void FollowCentralLeader(const std::vector<int>& replica_ports);

  // Stubs that call as the bootstrap operator ("admin").
  registry::v1::RegistryService::Stub& registry() { return *registry_; }
  auth::v1::AuthService::Stub& auth() { return *auth_; }
  central::v1::CentralService::Stub& central() { return *central_; }
  ClientSession& operator_session() { return *operator_; }
  // The TLS the stack's clients use (empty without --tls).
  const TlsConfig& client_tls() const { return client_tls_; }

  // Registers a CP (in `city`, Spain, 0.35 €/kWh, `power_w`) and returns its secret.
  absl::StatusOr<std::string> RegisterCp(const std::string& cp_id, int64_t power_w = 36000,
                                         const std::string& city = "Alicante");
  // Signs a driver up (password in <dir>/<driver>.password) and logs in.
  absl::Status AddDriver(const std::string& driver_id);
  static constexpr char kDriverPassword[] = "charge-me-2026";
  ClientSession& driver(const std::string& driver_id) ABSL_LOCKS_EXCLUDED(drivers_mu_);
  bool has_driver(const std::string& driver_id) const ABSL_LOCKS_EXCLUDED(drivers_mu_);
  // Central as that driver (its access token on every call).
  std::unique_ptr<central::v1::CentralService::Stub> CentralAs(ClientSession& session);
  // The same for a driver added here, one channel per driver kept as long as the
  // stack (its credentials refer to the driver's session). Thread-safe.
  central::v1::CentralService::Stub& CentralAsDriver(const std::string& driver_id);
  std::string PasswordFile(const std::string& user) const { return dir_ + "/" + user + ".password"; }
  // Starts the engine (auto-plug) and the monitor of a registered CP.
  void StartEngine(const std::string& cp_id, std::vector<std::string> extra_flags = {});
  // The monitor links to `central` (default: the stack's central).
  void StartMonitor(const std::string& cp_id, const std::string& central = "");
  Process& engine(const std::string& cp_id) { return *engines_.at(cp_id); }
  Process& monitor(const std::string& cp_id) { return *monitors_.at(cp_id); }
  Process& central_process() { return *central_process_; }
  // The dev broker: SIGSTOP/SIGCONT freeze and thaw it (Kafka unreachable).
  Process& kafka_process() { return *kafka_process_; }
  // Another central replica (issue 17) with the stack's central flags, on
  // `port`, logging to <dir>/<name>.log.
  std::unique_ptr<Process> StartCentralReplica(const std::string& name, int port,
                                               std::vector<std::string> extra_flags);
  // The health `service` has at 127.0.0.1:`port` ("" for the server's), if it answers.
  std::optional<grpc::health::v1::HealthCheckResponse::ServingStatus> Health(
      int port, const std::string& service);
  // Kills central (SIGKILL) and starts it again on the same port.
  absl::Status RestartCentral();
  // Kill auth or the registry (SIGKILL) and start it again on the same port.
  absl::Status RestartAuth();
  absl::Status RestartRegistry();
  // Starts any binary from the build with the stack's environment.
  std::unique_ptr<Process> Spawn(const std::string& name, const std::string& binary,
                                 std::vector<std::string> args);
  // Starts evc-edge in front of the stack; its HTTP port once it answers.
  absl::StatusOr<int> StartEdge(std::vector<std::string> extra_flags = {});
  Process& edge_process() { return *edge_process_; }
  // Starts evc-weather (again, after a kill) on its port, once healthy; the
  // stub calls as the operator.
  absl::Status StartWeather(std::vector<std::string> extra_flags = {});
  Process& weather_process() { return *weather_process_; }
  weather::v1::WeatherService::Stub& weather() { return *weather_; }
  std::string weather_address() const { return "127.0.0.1:" + std::to_string(weather_port_); }
  std::string registry_address() const { return "127.0.0.1:" + std::to_string(registry_port_); }
  std::string auth_address() const { return "127.0.0.1:" + std::to_string(auth_port_); }
  // The /metrics port of a service ("central", "edge", ...), 0 if not started.
  int metrics_port(const std::string& name) const {
    auto it = metrics_ports_.find(name);
    return it == metrics_ports_.end() ? 0 : it->second;
  }
  // The service credential file of a service ("auth", "edge"...), which the
  // stack gives each service it starts (TLS on or off).
  std::string ServiceCredentialFile(const std::string& service) const {
    return dir_ + "/service-credentials/" + service;
  }
  // Keep the directory (logs) when the stack is destroyed.
  void KeepDirectory() { keep_dir_ = true; }
  // Runs a binary from build/bin to completion; returns its exit code and output.
  int RunTool(const std::string& binary, const std::vector<std::string>& args, std::string* output);

  // Polls central until `cp_id` is in `state`; false after `timeout`.
  bool WaitForState(const std::string& cp_id, common::v1::CpState state,
                    absl::Duration timeout = absl::Seconds(20));
  std::optional<central::v1::ChargingPointStatus> Status(const std::string& cp_id);
  // Polls until `ready()` or `timeout`.
  static bool WaitFor(const std::function<bool()>& ready, absl::Duration timeout = absl::Seconds(20));
  // SQL scalar through psql.
  std::string Sql(const std::string& query);

 private:
  Stack() = default;
  void StartRegistry();
  void StartAuth();
  void StartCentral();
  absl::Status WaitHealthy(const std::string& name, int port);
  bool keep_dir_ = false;

  Options options_;
  std::string dir_;
  std::string source_dir_;
  std::string bin_dir_;
  int pg_port_ = 0;
  int registry_port_ = 0;
  int auth_port_ = 0;
  int central_port_ = 0;
  int weather_port_ = 0;
  std::string kafka_;
  std::unique_ptr<Process> kafka_process_;
  std::unique_ptr<Process> registry_process_;
  std::unique_ptr<Process> auth_process_;
  std::unique_ptr<Process> central_process_;
  std::unique_ptr<Process> edge_process_;
  std::unique_ptr<Process> weather_process_;
  std::unique_ptr<weather::v1::WeatherService::Stub> weather_;
  std::map<std::string, std::unique_ptr<Process>> engines_;
  std::map<std::string, std::unique_ptr<Process>> monitors_;
  std::map<std::string, int> engine_ports_;
  std::map<std::string, int> metrics_ports_;
  std::unique_ptr<registry::v1::RegistryService::Stub> registry_;
  std::unique_ptr<auth::v1::AuthService::Stub> auth_;
  std::unique_ptr<central::v1::CentralService::Stub> central_;
  std::unique_ptr<ClientSession> operator_;
  // Benchmarks sign drivers up and act as them from several threads at once.
  mutable absl::Mutex drivers_mu_;
  std::map<std::string, std::unique_ptr<ClientSession>> drivers_ ABSL_GUARDED_BY(drivers_mu_);
  std::map<std::string, std::unique_ptr<central::v1::CentralService::Stub>> driver_stubs_
      ABSL_GUARDED_BY(drivers_mu_);
  TlsConfig client_tls_;
  std::string central_target_;
};

// A free TCP port on 127.0.0.1 (bound and released).
int FreePort();

// The sum of every sample of `name` in a Prometheus text scrape whose labels
// include all of `labels` (each as `key="value"`).
double MetricSum(const std::string& scrape, const std::string& name, const std::vector<std::string>& labels = {});

}  // namespace evc::testing
