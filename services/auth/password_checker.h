#pragma once
// Whether an account's password is right: the registry's VerifyPassword in
// production (registry_checks.h), a fake in tests.

#include <string>

#include "absl/status/statusor.h"
#include "evc/registry/v1/registry.pb.h"

namespace evc::auth {

class PasswordChecker {
 public:
  virtual ~PasswordChecker() = default;
  // The account, or UNAUTHENTICATED if the username is unknown or the password wrong.
  virtual absl::StatusOr<registry::v1::Account> CheckPassword(const std::string& username,
                                                              const std::string& password) = 0;
};

}  // namespace evc::auth
