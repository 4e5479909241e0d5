// The fleet operator's login against a fake auth.

#include "services/cp/fleet.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "services/common/testing/fake_server.h"

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
