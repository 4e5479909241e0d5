// The account and key commands against fake registry and auth services in this
// process: who logs in, what they print and exit with.

#include "services/evcctl/account_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "evc/auth/v1/auth.grpc.pb.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "services/evcctl/test_network.h"

namespace evc::evcctl {
namespace {

using ::testing::HasSubstr;

class FakeRegistry : public registry::v1::RegistryService::Service {
 public:
  grpc::Status SignUp(grpc::ServerContext*, const registry::v1::SignUpRequest* request,
                      registry::v1::Account* response) override {
    if (request->username() == "taken") {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "taken exists");
    }
    if (request->password() != request->password_confirmation()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "passwords differ");
    }
    response->set_username(request->username());
    response->set_role(request->role());
    return grpc::Status::OK;
  }
};

class FakeAuth : public auth::v1::AuthService::Service {
 public:
  grpc::Status RevokeChargingPoint(grpc::ServerContext*,
                                   const auth::v1::RevokeChargingPointRequest*,
                                   auth::v1::RevokeChargingPointResponse* response) override {
    response->set_revoked_tokens(2);
    response->set_revoked_keys(1);
    return grpc::Status::OK;
  }
  grpc::Status RotateChargingPointKey(grpc::ServerContext*,
                                      const auth::v1::RotateChargingPointKeyRequest* request,
                                      auth::v1::RotateChargingPointKeyResponse* response) override {
    grace_seconds = request->grace().seconds();
    response->set_new_key_id("k-2");
    return grpc::Status::OK;
  }
  grpc::Status RotateSigningKey(grpc::ServerContext*, const auth::v1::RotateSigningKeyRequest*,
                                auth::v1::RotateSigningKeyResponse* response) override {
    response->set_key_id("sig-7");
    return grpc::Status::OK;
  }
  std::atomic<int64_t> grace_seconds = 0;
};

class AccountCommandsTest : public ::testing::Test {
 protected:
  AccountCommandsTest() {
    options.new_password_file = ::testing::TempDir() + "/account_commands_test.password";
    std::ofstream(options.new_password_file) << "secret-123\n";
  }

  FakeRegistry registry;
  FakeAuth auth;
  TestNetwork network{&registry, &auth};
  Options& options = network.options;
  Context& context = network.context();
};

TEST_F(AccountCommandsTest, ADriverSignsUpWithoutAnOperator) {
  options.role = "driver";
  EXPECT_EQ(SignUp(context, "maria"), 0);
  EXPECT_EQ(network.Out(), "driver account maria created\n");
  EXPECT_FALSE(network.connections().opened[0].login);
}

TEST_F(AccountCommandsTest, AnOperatorAccountNeedsAnOperator) {
  options.role = "operator";
  EXPECT_EQ(SignUp(context, "olga"), 0);
  EXPECT_EQ(network.Out(), "operator account olga created\n");
  EXPECT_TRUE(network.connections().opened[0].login);
}

TEST_F(AccountCommandsTest, AnExistingAccountIsFineOnlyWithIfMissing) {
  EXPECT_EQ(SignUp(context, "taken"), 1);
  EXPECT_EQ(network.Err(), "evcctl: ALREADY_EXISTS: taken exists\n");
  options.if_missing = true;
  EXPECT_EQ(SignUp(context, "taken"), 0);
  EXPECT_EQ(network.Out(), "");
}

TEST_F(AccountCommandsTest, AnUnreadablePasswordFileCallsNobody) {
  options.new_password_file = ::testing::TempDir() + "/no-such-password-file";
  EXPECT_EQ(SignUp(context, "maria"), 1);
  EXPECT_THAT(network.Err(), HasSubstr("evcctl: "));
  EXPECT_TRUE(network.connections().opened.empty());
}

TEST_F(AccountCommandsTest, RevokeCpCountsWhatDied) {
  EXPECT_EQ(RevokeCp(context, "ALC-2"), 0);
  EXPECT_EQ(network.Out(), "revoked ALC-2: 2 tokens and 1 keys dead; its link is cut\n");
  EXPECT_TRUE(network.connections().opened[0].login);
}

TEST_F(AccountCommandsTest, RotateKeySendsTheGrace) {
  options.grace = absl::Seconds(30);
  EXPECT_EQ(RotateKey(context, "ALC-1"), 0);
  EXPECT_EQ(auth.grace_seconds, 30);
  EXPECT_THAT(network.Out(), HasSubstr("ALC-1: new key k-2; the old one works until "));
}

TEST_F(AccountCommandsTest, RotateSigningKeyNamesTheNewKey) {
  EXPECT_EQ(RotateSigningKey(context), 0);
  EXPECT_EQ(network.Out(), "new token-signing key sig-7\n");
}

TEST_F(AccountCommandsTest, OperatorCommandsStopAtAFailedLogin) {
  network.connections().login_error =
      absl::UnauthenticatedError("this command needs an operator: give --user (or EVC_USER)");
  EXPECT_EQ(RotateSigningKey(context), 1);
  EXPECT_EQ(network.Err(),
            "evcctl: UNAUTHENTICATED: this command needs an operator: give --user (or EVC_USER)\n");
}

}  // namespace
}  // namespace evc::evcctl
