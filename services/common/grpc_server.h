#pragma once
// The gRPC server bootstrap every service uses: health checking with real
// serving status, server reflection (health included), interceptor hook (for
// metrics), bind errors reported clearly, graceful shutdown on SIGTERM/SIGINT.

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace evc {

class ServiceHost {
 public:
  ServiceHost(std::string name, std::string listen_address);
  ~ServiceHost();

  // Services must outlive the host.
  void AddService(grpc::Service* service);
  // Hook for cross-cutting concerns (metrics, auth) applied to every call.
  void AddInterceptor(std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> f);

  // Binds and starts; the health status is NOT_SERVING until SetServing(true).
  absl::Status Start();
  void SetServing(bool serving);
  // The port actually bound (useful with ":0").
  int port() const { return port_; }

  // Blocks until shutdown is requested, then drains calls for up to `grace`.
  void RunUntilShutdown(absl::Duration grace = absl::Seconds(5));
  void Shutdown(absl::Duration grace);

 private:
  std::string name_;
  std::string listen_address_;
  std::vector<grpc::Service*> services_;
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// absl::Status and grpc::Status share their code numbers.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// A channel to a peer service ("host:port").
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target);

}  // namespace evc
