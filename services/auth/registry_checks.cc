#include "services/auth/registry_checks.h"

#include "services/common/grpc_util.h"

namespace evc::auth {

using registry::v1::RegistryService;

absl::StatusOr<common::v1::ChargingPoint> RegistryChecks::CheckCredentials(
    const std::string& cp_id, const std::string& secret) {
  registry::v1::VerifyCredentialsRequest request;
  request.set_cp_id(cp_id);
  request.set_secret(secret);
  auto response = CallUnary(&RegistryService::StubInterface::VerifyCredentials, registry_, request,
                            absl::Seconds(5));
  if (!response.ok()) return response.status();
  return response->charging_point();
}

absl::StatusOr<registry::v1::Account> RegistryChecks::CheckPassword(const std::string& username,
                                                                    const std::string& password) {
  registry::v1::VerifyPasswordRequest request;
  request.set_username(username);
  request.set_password(password);
  return CallUnary(&RegistryService::StubInterface::VerifyPassword, registry_, request,
                   absl::Seconds(5));
}

}  // namespace evc::auth
