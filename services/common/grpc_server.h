#pragma once
// The gRPC server bootstrap every service uses: health checking with real
// serving status, server reflection (health included), interceptor hook (for
// metrics), bind errors reported clearly, graceful shutdown on SIGTERM/SIGINT.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/support/server_interceptor.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/service_credentials.h"

namespace evc {

// TLS material (PEM text). With cert+key a server speaks TLS; with a CA too it
// asks clients for certificates and verifies those presented (mutual TLS
// between services; CLIs may come with only the CA). A client with a CA
// verifies the server, and presents its cert+key if it has them.
struct TlsConfig {
  std::string cert_pem;
  std::string key_pem;
  std::string ca_pem;
  bool server_enabled() const { return !cert_pem.empty(); }
  bool client_enabled() const { return !ca_pem.empty(); }
};
// Reads the three files (any may be empty); NOT_FOUND names an unreadable one.
absl::StatusOr<TlsConfig> LoadTls(const std::string& cert_path, const std::string& key_path,
                                  const std::string& ca_path);
// The process's TLS from --tls_cert, --tls_key, --tls_ca (EVC_TLS_*), read
// once; an unreadable file ends the process with a clear message.
const TlsConfig& ProcessTls();

class ServiceHost {
 public:
  // TLS as configured for the process unless `tls` is given.
  ServiceHost(std::string name, std::string listen_address, const TlsConfig* tls = nullptr);
  ~ServiceHost();

  // Services must outlive the host.
  void AddService(grpc::Service* service);
  // Answers every method no registered service has (a standby refusing calls).
  void SetGenericService(grpc::CallbackGenericService* service) { generic_service_ = service; }
  // Hook for cross-cutting concerns (metrics, auth) applied to every call.
  void AddInterceptor(std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> f);

  // Binds and starts; the health status is NOT_SERVING until SetServing(true).
  absl::Status Start();
  void SetServing(bool serving);
  // The health of one service ("evc.central.v1.CentralService"), apart from the rest.
  void SetServing(const std::string& service, bool serving);
  // The port actually bound (useful with ":0").
  int port() const { return port_; }
  // The port of --health_listen's plaintext health server (0: none).
  int health_port() const { return health_port_; }

  // Blocks until shutdown is requested, then drains calls for up to `grace`.
  void RunUntilShutdown(absl::Duration grace = absl::Seconds(5));
  void Shutdown(absl::Duration grace);

 private:
  std::string name_;
  std::string listen_address_;
  TlsConfig tls_;
  std::vector<grpc::Service*> services_;
  grpc::CallbackGenericService* generic_service_ = nullptr;
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors_;
  // Serves the health service alone (--health_listen), if asked to.
  absl::Status StartHealthOnly();

  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::Server> health_server_;
  int port_ = 0;
  int health_port_ = 0;
};

// absl::Status and grpc::Status share their code numbers.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);


// Returns the current access token for outgoing calls ("" sends none).
using BearerSource = std::function<std::string()>;

// A channel to a peer ("host:port"), TLS as configured for the process (or
// `tls` when given), with "authorization: Bearer" on every call if `bearer`,
// and the service credential of the process (or `service` when given) on
// every call to an evc service, if it has one (services do; CLIs never).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, BearerSource bearer = nullptr,
                                           const TlsConfig* tls = nullptr,
                                           const ServiceCredential* service = nullptr);

// As MakeChannel, but calls go only to the addresses of `target` whose health
// service reports `healthy_service` SERVING (gRPC client-side health checking,
// round robin over those), and follow as that changes: with several central
// replicas, the leader. `target` lists addresses
// ("ipv4:127.0.0.1:50053,127.0.0.1:50063") or is a name with several records
// (a headless Service). While none serves, calls fail fast with UNAVAILABLE.
std::shared_ptr<grpc::Channel> MakeLeaderChannel(const std::string& target, const std::string& healthy_service,
                                                 BearerSource bearer = nullptr, const TlsConfig* tls = nullptr);

// Every central replica serves it; only the leader reports it SERVING.
inline constexpr char kCentralServiceName[] = "evc.central.v1.CentralService";
// The channel every client of central uses: to its leader, whichever replica
// that is ("host:port", a list "ipv4:a:p,b:p", or a name with several records).
inline std::shared_ptr<grpc::Channel> MakeCentralChannel(const std::string& target, BearerSource bearer = nullptr,
                                                        const TlsConfig* tls = nullptr) {
  return MakeLeaderChannel(target, kCentralServiceName, std::move(bearer), tls);
}

}  // namespace evc
