// Enrolling fleet CPs against an in-process fake registry.

#include "services/cp/fleet.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <set>

namespace evc::cp {
namespace {

class FakeRegistry : public registry::v1::RegistryService::Service {
 public:
  grpc::Status RegisterChargingPoint(
      grpc::ServerContext*, const registry::v1::RegisterChargingPointRequest* request,
      registry::v1::RegisterChargingPointResponse* response) override {
    if (down) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "registry is down");
    registered.push_back(*request);
    if (!known.insert(request->cp_id()).second) {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "taken");
    }
    response->mutable_credentials()->set_secret("first-secret");
    return grpc::Status::OK;
  }
  grpc::Status ResetCredentials(grpc::ServerContext*,
                                const registry::v1::ResetCredentialsRequest* request,
                                registry::v1::Credentials* response) override {
    reset.push_back(request->cp_id());
    response->set_secret("new-secret");
    return grpc::Status::OK;
  }
  bool down = false;
  std::set<std::string> known;
  std::vector<registry::v1::RegisterChargingPointRequest> registered;
  std::vector<std::string> reset;
};

class FleetTest : public ::testing::Test {
 protected:
  FleetTest() {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    registry_ =
        registry::v1::RegistryService::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  ~FleetTest() override { server_->Shutdown(); }

  FakeRegistry service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<registry::v1::RegistryService::Stub> registry_;
  const FleetCp cp_{.cp_id = "FLEET-00001",
                    .city = "Madrid",
                    .price_millieuros_per_kwh = 350,
                    .max_power_w = 22000};
};

TEST_F(FleetTest, ANewCpIsRegisteredWhereAndAsTold) {
  auto secret = Enrol(*registry_, cp_);
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(*secret, "first-secret");
  ASSERT_EQ(service_.registered.size(), 1u);
  const auto& r = service_.registered[0];
  EXPECT_EQ(r.cp_id(), "FLEET-00001");
  EXPECT_EQ(r.location().address(), "Fleet bay FLEET-00001");
  EXPECT_EQ(r.location().city(), "Madrid");
  EXPECT_EQ(r.location().country(), "ES");
  EXPECT_EQ(r.price_millieuros_per_kwh(), 350);
  EXPECT_EQ(r.max_power_w(), 22000);
  EXPECT_TRUE(service_.reset.empty());
}

TEST_F(FleetTest, AKnownCpGetsNewCredentials) {
  service_.known.insert("FLEET-00001");
  auto secret = Enrol(*registry_, cp_);
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(*secret, "new-secret");
  EXPECT_EQ(service_.reset, std::vector<std::string>{"FLEET-00001"});
}

TEST_F(FleetTest, OtherErrorsAreTheCallersToRetry) {
  service_.down = true;
  EXPECT_TRUE(absl::IsUnavailable(Enrol(*registry_, cp_).status()));
  EXPECT_TRUE(service_.reset.empty());
}

}  // namespace
}  // namespace evc::cp
