#include "services/common/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "evc/weather/v1/weather.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

ABSL_DECLARE_FLAG(std::string, health_listen);

namespace evc {
namespace {

using grpc::health::v1::HealthCheckResponse;

HealthCheckResponse::ServingStatus Check(int port) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckRequest request;
  HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.status();
}

class ConfigOnly : public evc::weather::v1::WeatherService::Service {
  grpc::Status GetConfig(grpc::ServerContext*, const evc::weather::v1::GetConfigRequest*,
                         evc::weather::v1::WeatherConfig*) override {
    return grpc::Status::OK;
  }
};

grpc::Status GetConfig(int port) {
  auto stub = evc::weather::v1::WeatherService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  evc::weather::v1::GetConfigRequest request;
  evc::weather::v1::WeatherConfig response;
  return stub->GetConfig(&context, request, &response);
}

// The probe port answers health the same as the service port, and nothing else.
TEST(ServiceHost, HealthListenServesHealthAloneWithTheSameStatus) {
  absl::SetFlag(&FLAGS_health_listen, "127.0.0.1:0");
  ConfigOnly weather;
  const TlsConfig plaintext;
  ServiceHost host("test", "127.0.0.1:0", &plaintext);
  host.AddService(&weather);
  ASSERT_TRUE(host.Start().ok());
  ASSERT_GT(host.health_port(), 0);
  EXPECT_EQ(Check(host.health_port()), HealthCheckResponse::NOT_SERVING);
  host.SetServing(true);
  EXPECT_EQ(Check(host.health_port()), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(host.port()), HealthCheckResponse::SERVING);

  EXPECT_TRUE(GetConfig(host.port()).ok());
  EXPECT_EQ(GetConfig(host.health_port()).error_code(), grpc::StatusCode::UNIMPLEMENTED)
      << "the probe port must not serve the API";
  host.Shutdown(absl::ZeroDuration());
  absl::SetFlag(&FLAGS_health_listen, "");
}

}  // namespace
}  // namespace evc
