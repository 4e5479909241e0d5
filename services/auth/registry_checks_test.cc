// Auth's checks of CP credentials and passwords against an in-process fake registry.

#include "services/auth/registry_checks.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "services/common/testing/fake_server.h"

namespace evc::auth {
namespace {

class FakeRegistry : public registry::v1::RegistryService::Service {
 public:
  grpc::Status VerifyCredentials(grpc::ServerContext*,
                                 const registry::v1::VerifyCredentialsRequest* request,
                                 registry::v1::VerifyCredentialsResponse* response) override {
    if (request->cp_id() != "CP1" || request->secret() != "right") {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "wrong credentials");
    }
    response->mutable_charging_point()->set_cp_id(request->cp_id());
    return grpc::Status::OK;
  }
  grpc::Status VerifyPassword(grpc::ServerContext*,
                              const registry::v1::VerifyPasswordRequest* request,
                              registry::v1::Account* response) override {
    if (request->username() != "ana" || request->password() != "secret-123") {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "wrong password");
    }
    response->set_username(request->username());
    return grpc::Status::OK;
  }
};

class RegistryChecksTest : public ::testing::Test {
 protected:
  FakeRegistry service_;
  FakeServer server_{{&service_}};
  std::unique_ptr<registry::v1::RegistryService::Stub> registry_ =
      registry::v1::RegistryService::NewStub(server_.channel());
};

TEST_F(RegistryChecksTest, CredentialsTheRegistryAcceptsGiveTheChargingPoint) {
  RegistryChecks checks(*registry_);
  auto cp = checks.CheckCredentials("CP1", "right");
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->cp_id(), "CP1");
  EXPECT_TRUE(absl::IsUnauthenticated(checks.CheckCredentials("CP1", "wrong").status()));
}

TEST_F(RegistryChecksTest, PasswordsTheRegistryAcceptsGiveTheAccount) {
  RegistryChecks checks(*registry_);
  auto account = checks.CheckPassword("ana", "secret-123");
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->username(), "ana");
  EXPECT_TRUE(absl::IsUnauthenticated(checks.CheckPassword("ana", "guess").status()));
}

}  // namespace
}  // namespace evc::auth
