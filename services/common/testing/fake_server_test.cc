// The test gRPC server: its services answer over the in-process channel and
// at its address, and the address stops answering once the server is gone.

#include "services/common/testing/fake_server.h"

#include <gtest/gtest.h>

#include "absl/status/statusor.h"

#include "evc/weather/v1/weather.grpc.pb.h"
#include "services/common/grpc_server.h"

namespace evc {
namespace {

class FixedConfig : public weather::v1::WeatherService::Service {
 public:
  grpc::Status GetConfig(grpc::ServerContext*, const weather::v1::GetConfigRequest*,
                         weather::v1::WeatherConfig* response) override {
    response->set_max_c(42);
    return grpc::Status::OK;
  }
};

// The config's max_c, or the call's error.
absl::StatusOr<double> MaxC(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  weather::v1::WeatherConfig config;
  grpc::Status status =
      weather::v1::WeatherService::NewStub(channel)->GetConfig(&context, {}, &config);
  if (!status.ok()) return FromGrpcStatus(status);
  return config.max_c();
}

std::shared_ptr<grpc::Channel> Dial(const std::string& address) {
  return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
}

TEST(FakeServerTest, ServesItsServicesInProcessAndAtItsAddress) {
  FixedConfig service;
  FakeServer server({&service});
  EXPECT_EQ(MaxC(server.channel()).value_or(0), 42);
  EXPECT_TRUE(server.address().starts_with("127.0.0.1:")) << server.address();
  EXPECT_NE(server.address(), "127.0.0.1:0") << "a port actually bound";
  EXPECT_EQ(MaxC(Dial(server.address())).value_or(0), 42);
}

TEST(FakeServerTest, TwoServersGetTwoPorts) {
  FixedConfig service;
  FakeServer first({&service});
  FakeServer second({&service});
  EXPECT_NE(first.address(), second.address());
}

TEST(FakeServerTest, ItsAddressStopsAnsweringWhenItGoes) {
  FixedConfig service;
  std::string address;
  {
    FakeServer server({&service});
    address = server.address();
  }
  absl::StatusOr<double> after = MaxC(Dial(address));
  EXPECT_TRUE(absl::IsUnavailable(after.status())) << after.status();
}

}  // namespace
}  // namespace evc
