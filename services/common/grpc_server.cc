#include "services/common/grpc_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.pb.h"
#include "services/common/log.h"
#include "services/common/process.h"

namespace evc {

ServiceHost::ServiceHost(std::string name, std::string listen_address)
    : name_(std::move(name)), listen_address_(std::move(listen_address)) {}

ServiceHost::~ServiceHost() {
  if (server_) Shutdown(absl::ZeroDuration());
}

void ServiceHost::AddService(grpc::Service* service) { services_.push_back(service); }

void ServiceHost::AddInterceptor(
    std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> f) {
  interceptors_.push_back(std::move(f));
}

absl::Status ServiceHost::Start() {
  // Links the health proto's descriptor in, so reflection can describe the
  // built-in health service that gRPC registers without protobuf.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen_address_, grpc::InsecureServerCredentials(), &port_);
  for (grpc::Service* s : services_) builder.RegisterService(s);
  if (!interceptors_.empty()) builder.experimental().SetInterceptorCreators(std::move(interceptors_));
  builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    server_.reset();
    return absl::UnavailableError(absl::StrCat(name_, ": cannot listen on ", listen_address_,
                                               " (address in use or invalid?)"));
  }
  SetServing(false);
  log::Info("listening", {{"service", name_}, {"address", listen_address_}, {"port", port_}});
  return absl::OkStatus();
}

void ServiceHost::SetServing(bool serving) {
  if (!server_) return;
  server_->GetHealthCheckService()->SetServingStatus(serving);
}

void ServiceHost::RunUntilShutdown(absl::Duration grace) {
  ShutdownRequested().WaitForNotification();
  Shutdown(grace);
}

void ServiceHost::Shutdown(absl::Duration grace) {
  if (!server_) return;
  SetServing(false);
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoSeconds(grace));
  server_->Wait();
  server_.reset();
  log::Info("stopped", {{"service", name_}});
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target) {
  grpc::ChannelArguments args;
  // Reconnect quickly after a peer restarts: start-up order does not matter.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

}  // namespace evc
