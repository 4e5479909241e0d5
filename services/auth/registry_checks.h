#pragma once
// The registry as auth's checker of CP credentials and account passwords, over gRPC.

#include "evc/registry/v1/registry.grpc.pb.h"
#include "services/auth/credential_checker.h"
#include "services/auth/password_checker.h"

namespace evc::auth {

class RegistryChecks : public CredentialChecker, public PasswordChecker {
 public:
  explicit RegistryChecks(registry::v1::RegistryService::StubInterface& registry)
      : registry_(registry) {}
  // The registry's VerifyCredentials.
  absl::StatusOr<common::v1::ChargingPoint> CheckCredentials(const std::string& cp_id,
                                                             const std::string& secret) override;
  // The registry's VerifyPassword.
  absl::StatusOr<registry::v1::Account> CheckPassword(const std::string& username,
                                                      const std::string& password) override;

 private:
  registry::v1::RegistryService::StubInterface& registry_;
};

}  // namespace evc::auth
