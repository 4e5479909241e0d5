#include "services/common/grpc_server.h"

#include "services/common/metrics.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <fstream>
#include <sstream>
#include <tuple>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "grpc/health/v1/health.pb.h"
#include "services/common/log.h"
#include "services/common/process.h"

ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate of this process: servers speak TLS, clients present it (mTLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA: clients verify servers with it; servers verify client certificates with it");
ABSL_FLAG(std::string, health_listen, "",
          "also serve the gRPC health service alone, in plaintext, here (e.g. 0.0.0.0:52051): for "
          "Kubernetes' native gRPC probes, which cannot speak TLS; empty: none");

namespace evc {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* what) {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || text.str().find("-----BEGIN") == std::string::npos) {
    return absl::NotFoundError(absl::StrCat("cannot read the TLS ", what, " '", path,
                                            "' (missing, unreadable or not PEM)"));
  }
  return text.str();
}

// Adds "authorization: Bearer <token>" to every call of a channel.
class BearerInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(const BearerSource& source) : source_(source) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      std::string token = source_();
      if (!token.empty()) methods->GetSendInitialMetadata()->emplace("authorization", "Bearer " + token);
    }
    methods->Proceed();
  }

 private:
  const BearerSource& source_;
};

class BearerInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerInterceptorFactory(BearerSource source) : source_(std::move(source)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor(source_);
  }

 private:
  BearerSource source_;
};

// Adds this service's credential, made for the called service, to every call
// of a channel (see service_credentials.h).
class ServiceCredentialInterceptor : public grpc::experimental::Interceptor {
 public:
  ServiceCredentialInterceptor(const ServiceCredential& credential, std::string audience)
      : credential_(credential), audience_(std::move(audience)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      absl::StatusOr<std::string> token = credential_.TokenFor(audience_, absl::Now());
      if (token.ok()) {
        methods->GetSendInitialMetadata()->emplace(std::string(kServiceCredentialHeader), *token);
      }
    }
    methods->Proceed();
  }

 private:
  const ServiceCredential& credential_;
  const std::string audience_;
};

class ServiceCredentialInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit ServiceCredentialInterceptorFactory(const ServiceCredential& credential) : credential_(credential) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo* info) override {
    std::string audience = AudienceOfMethod(info->method() == nullptr ? "" : info->method());
    if (audience.empty()) return nullptr;  // health, reflection: nothing to prove
    return new ServiceCredentialInterceptor(credential_, std::move(audience));
  }

 private:
  const ServiceCredential& credential_;
};

}  // namespace

absl::StatusOr<TlsConfig> LoadTls(const std::string& cert_path, const std::string& key_path,
                                  const std::string& ca_path) {
  if (cert_path.empty() != key_path.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  TlsConfig tls;
  for (auto [path, what, out] : {std::tuple{&cert_path, "certificate", &tls.cert_pem},
                                 std::tuple{&key_path, "key", &tls.key_pem},
                                 std::tuple{&ca_path, "CA", &tls.ca_pem}}) {
    absl::StatusOr<std::string> pem = ReadPem(*path, what);
    if (!pem.ok()) return pem.status();
    *out = std::move(*pem);
  }
  return tls;
}

const TlsConfig& ProcessTls() {
  static const TlsConfig* tls = [] {
    absl::StatusOr<TlsConfig> loaded = LoadTls(absl::GetFlag(FLAGS_tls_cert),
                                               absl::GetFlag(FLAGS_tls_key), absl::GetFlag(FLAGS_tls_ca));
    if (!loaded.ok()) {
      log::Error("bad TLS configuration", {{"error", loaded.status().ToString()}});
      std::exit(2);
    }
    return new TlsConfig(std::move(*loaded));
  }();
  return *tls;
}

ServiceHost::ServiceHost(std::string name, std::string listen_address, const TlsConfig* tls)
    : name_(std::move(name)), listen_address_(std::move(listen_address)),
      tls_(tls != nullptr ? *tls : ProcessTls()) {}

ServiceHost::~ServiceHost() {
  if (server_) Shutdown(absl::ZeroDuration());
}

void ServiceHost::AddService(grpc::Service* service) { services_.push_back(service); }

void ServiceHost::AddInterceptor(
    std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> f) {
  interceptors_.push_back(std::move(f));
}

namespace {

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const TlsConfig& tls) {
  if (!tls.server_enabled()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      tls.ca_pem.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                         : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = tls.ca_pem;
  options.pem_key_cert_pairs.push_back({tls.key_pem, tls.cert_pem});
  return grpc::SslServerCredentials(options);
}

}  // namespace

absl::Status ServiceHost::Start() {
  // Links the health proto's descriptor in, so reflection can describe the
  // built-in health service that gRPC registers without protobuf.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second process on a taken port would
  // share it silently instead of failing with "address in use".
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(listen_address_, ServerCredentials(tls_), &port_);
  for (grpc::Service* s : services_) builder.RegisterService(s);
  if (generic_service_ != nullptr) builder.RegisterCallbackGenericService(generic_service_);
  interceptors_.push_back(metrics::ServerInterceptor());
  builder.experimental().SetInterceptorCreators(std::move(interceptors_));
  builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    server_.reset();
    return absl::UnavailableError(absl::StrCat(name_, ": cannot listen on ", listen_address_,
                                               " (address in use or invalid?)"));
  }
  if (absl::Status health = StartHealthOnly(); !health.ok()) {
    Shutdown(absl::ZeroDuration());
    return health;
  }
  SetServing(false);
  log::Info("listening", {{"service", name_}, {"address", listen_address_}, {"port", port_},
                         {"tls", std::string(!tls_.server_enabled() ? "off"
                                             : tls_.ca_pem.empty()    ? "server"
                                                                      : "mutual")},
                         // Without one (and without mutual TLS) internal RPCs are refused.
                         {"service_credential", ProcessServiceCredential() == nullptr
                                                    ? std::string("none")
                                                    : ProcessServiceCredential()->name()}});
  return absl::OkStatus();
}

absl::Status ServiceHost::StartHealthOnly() {
  const std::string address = absl::GetFlag(FLAGS_health_listen);
  if (address.empty()) return absl::OkStatus();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &health_port_);
  health_server_ = builder.BuildAndStart();
  if (health_server_ == nullptr || health_port_ == 0) {
    health_server_.reset();
    return absl::UnavailableError(
        absl::StrCat(name_, ": cannot serve health on ", address, " (--health_listen: address in use or invalid?)"));
  }
  log::Info("serving health", {{"service", name_}, {"address", address}, {"port", health_port_}});
  return absl::OkStatus();
}

void ServiceHost::SetServing(bool serving) {
  if (server_) server_->GetHealthCheckService()->SetServingStatus(serving);
  if (health_server_) health_server_->GetHealthCheckService()->SetServingStatus(serving);
}

void ServiceHost::SetServing(const std::string& service, bool serving) {
  if (server_) server_->GetHealthCheckService()->SetServingStatus(service, serving);
  if (health_server_) health_server_->GetHealthCheckService()->SetServingStatus(service, serving);
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
  if (health_server_) health_server_->Shutdown(std::chrono::system_clock::now());
  health_server_.reset();
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

namespace {

grpc::ChannelArguments PeerChannelArguments() {
  grpc::ChannelArguments args;
  // Reconnect quickly after a peer restarts: start-up order does not matter.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  // A channel whose peer went away reconnects only after re-resolving its
  // target, by default at most every 30 s: clients of a restarted central
  // took ~7 s to reach it although it served after 0.2 s (fault run).
  args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, 200);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  // A loaded peer's ping answer waits behind its queued work. At 5 s the
  // 50,000-CP run cut the fleet's connections (25,000 links each) every
  // minute, and every cut sent 25,000 registrations to the same busy central.
  // A peer that is gone is still found within 30 s; one that dies closes its
  // sockets and is seen at once.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  return args;
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& target, const grpc::ChannelArguments& args,
                                          BearerSource bearer, const TlsConfig* tls,
                                          const ServiceCredential* service) {
  const TlsConfig& t = tls != nullptr ? *tls : ProcessTls();
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (t.client_enabled()) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = t.ca_pem;
    options.pem_private_key = t.key_pem;
    options.pem_cert_chain = t.cert_pem;
    credentials = grpc::SslCredentials(options);
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(metrics::ClientInterceptor());
  if (bearer) interceptors.push_back(std::make_unique<BearerInterceptorFactory>(std::move(bearer)));
  // The credential must outlive the channel: the process's lives forever,
  // a caller's own (tests) must outlive its channels.
  if (service == nullptr) service = ProcessServiceCredential();
  if (service != nullptr) interceptors.push_back(std::make_unique<ServiceCredentialInterceptorFactory>(*service));
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, credentials, args,
                                                                 std::move(interceptors));
}

}  // namespace

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, BearerSource bearer,
                                           const TlsConfig* tls, const ServiceCredential* service) {
  return NewChannel(target, PeerChannelArguments(), std::move(bearer), tls, service);
}

std::shared_ptr<grpc::Channel> MakeLeaderChannel(const std::string& target, const std::string& healthy_service,
                                                 BearerSource bearer, const TlsConfig* tls) {
  grpc::ChannelArguments args = PeerChannelArguments();
  // pick_first ignores health; round_robin over one healthy address is the leader.
  args.SetServiceConfigJSON(nlohmann::json{{"loadBalancingConfig", {{{"round_robin", nlohmann::json::object()}}}},
                                           {"healthCheckConfig", {{"serviceName", healthy_service}}}}
                                .dump());
  return NewChannel(target, args, std::move(bearer), tls, nullptr);
}

}  // namespace evc
