// The weather service's gRPC collaborators (central's holds, the registry's
// charging points) against in-process fakes of those services.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "services/common/testing/fake_server.h"
#include "services/weather/central_holds.h"
#include "services/weather/registry_charging_points.h"

namespace evc::weather {
namespace {

class FakeCentral : public central::v1::CentralService::Service {
 public:
  grpc::Status ApplyWeatherHolds(grpc::ServerContext*,
                                 const central::v1::ApplyWeatherHoldsRequest* request,
                                 central::v1::ApplyWeatherHoldsResponse* response) override {
    absl::MutexLock lock(&mu);
    if (down) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "central is down");
    received = *request;
    for (const auto& unknown : unknown_cp_ids) response->add_unknown_cp_ids(unknown);
    return grpc::Status::OK;
  }
  absl::Mutex mu;
  bool down = false;
  std::vector<std::string> unknown_cp_ids;
  central::v1::ApplyWeatherHoldsRequest received;
};

class FakeRegistry : public registry::v1::RegistryService::Service {
 public:
  grpc::Status ListChargingPoints(grpc::ServerContext*,
                                  const registry::v1::ListChargingPointsRequest*,
                                  registry::v1::ListChargingPointsResponse* response) override {
    for (const char* id : {"ALC-1", "MAD-1"}) response->add_charging_points()->set_cp_id(id);
    return grpc::Status::OK;
  }
};

class GrpcAdaptersTest : public ::testing::Test {
 protected:
  FakeCentral central_service;
  FakeRegistry registry_service;
  FakeServer server{{&central_service, &registry_service}};
  std::unique_ptr<central::v1::CentralService::Stub> central =
      central::v1::CentralService::NewStub(server.channel());
  std::unique_ptr<registry::v1::RegistryService::Stub> registry =
      registry::v1::RegistryService::NewStub(server.channel());
};

TEST_F(GrpcAdaptersTest, CentralGetsTheCompleteSetOfHolds) {
  CentralHolds holds(*central);
  central_service.unknown_cp_ids = {"GONE-1"};
  ASSERT_TRUE(holds.ApplyHolds({{"ALC-1", "too hot"}, {"GONE-1", "too hot"}}).ok());
  absl::MutexLock lock(&central_service.mu);
  ASSERT_EQ(central_service.received.holds_size(), 2);
  EXPECT_EQ(central_service.received.holds(0).cp_id(), "ALC-1");
  EXPECT_EQ(central_service.received.holds(0).detail(), "too hot");
  EXPECT_EQ(central_service.received.holds(1).cp_id(), "GONE-1");
}

TEST_F(GrpcAdaptersTest, AnEmptySetLiftsEveryHold) {
  CentralHolds holds(*central);
  ASSERT_TRUE(holds.ApplyHolds({}).ok());
  absl::MutexLock lock(&central_service.mu);
  EXPECT_EQ(central_service.received.holds_size(), 0);
}

TEST_F(GrpcAdaptersTest, CentralDownIsAnErrorForTheWatcherToRetry) {
  CentralHolds holds(*central);
  {
    absl::MutexLock lock(&central_service.mu);
    central_service.down = true;
  }
  EXPECT_TRUE(absl::IsUnavailable(holds.ApplyHolds({{"ALC-1", "too hot"}})));
}

TEST_F(GrpcAdaptersTest, RegistryListsEveryChargingPoint) {
  RegistryChargingPoints cps(*registry);
  auto list = cps.List();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].cp_id(), "ALC-1");
  EXPECT_EQ((*list)[1].cp_id(), "MAD-1");
}

}  // namespace
}  // namespace evc::weather
