// The fleet operator's login against a fake auth.

#include "services/cp/fleet.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>

#include "absl/strings/str_cat.h"

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
  FleetLoginTest() {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&auth_);
    server_ = builder.BuildAndStart();
    login_ = {
        .auth_target = absl::StrCat("127.0.0.1:", port), .user = "admin", .password = "right"};
  }
  ~FleetLoginTest() override { server_->Shutdown(); }

  FakeAuth auth_;
  std::unique_ptr<grpc::Server> server_;
  OperatorLogin login_;
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
