// Enrolling fleet CPs against an in-process fake registry, and the operator's
// login against a fake auth.

#include "services/cp/fleet.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "absl/strings/str_cat.h"
#include "services/common/testing/fake_server.h"

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
  FakeRegistry service_;
  FakeServer server_{{&service_}};
  std::unique_ptr<registry::v1::RegistryService::Stub> registry_ =
      registry::v1::RegistryService::NewStub(server_.channel());
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

namespace evc::cp {
namespace {

// Auth on a local port (ClientSession dials an address): answers logins as told.
class FakeAuth : public auth::v1::AuthService::Service {
 public:
  grpc::Status Login(grpc::ServerContext*, const auth::v1::LoginRequest* request,
                     auth::v1::TokenPair* response) override {
    ++logins;
    if (starting) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "auth is starting");
    if (request->password() != "right") {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "wrong password");
    }
    response->set_username(request->username());
    response->set_role("operator");
    return grpc::Status::OK;
  }
  std::atomic<bool> starting = false;
  std::atomic<int> logins = 0;
};

class FleetLoginTest : public ::testing::Test {
 protected:
  FakeAuth auth_;
  FakeServer server_{{&auth_}};
  OperatorLogin login_{.auth_target = server_.address(), .user = "admin", .password = "right"};
};

TEST_F(FleetLoginTest, TheOperatorLogsIn) {
  auto session = LogInOperator(login_, absl::Now() + absl::Seconds(5), nullptr);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ((*session)->username(), "admin");
  EXPECT_EQ(auth_.logins, 1);
}

TEST_F(FleetLoginTest, AWrongPasswordIsNotRetriedAndPointsAtThePassword) {
  login_.password = "wrong";
  auto session = LogInOperator(login_, absl::Now() + absl::Seconds(5), nullptr);
  EXPECT_TRUE(absl::IsUnauthenticated(session.status())) << session.status();
  EXPECT_EQ(auth_.logins, 1);
  EXPECT_EQ(LoginFailureWhat(session.status()), "operator login (--user, --password_file)");
}

TEST_F(FleetLoginTest, AnAuthThatIsNotReadyIsRetriedUntilTheDeadline) {
  auth_.starting = true;
  auto session = LogInOperator(login_, absl::Now() + absl::Seconds(1), nullptr);
  EXPECT_TRUE(absl::IsUnavailable(session.status())) << session.status();
  EXPECT_THAT(std::string(session.status().message()),
              ::testing::HasSubstr("log in: gave up after"));
  EXPECT_GT(auth_.logins, 1);
  EXPECT_EQ(LoginFailureWhat(session.status()), "operator login (--user, --auth)");
}

TEST_F(FleetLoginTest, ShutdownEndsTheRetries) {
  auth_.starting = true;
  absl::Notification stop;
  stop.Notify();
  auto session = LogInOperator(login_, absl::Now() + absl::Seconds(30), &stop);
  EXPECT_TRUE(absl::IsCancelled(session.status())) << session.status();
}

}  // namespace
}  // namespace evc::cp
