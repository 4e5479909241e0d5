#pragma once
// Whether a CP's id + secret are valid: the registry's VerifyCredentials in
// production (registry_checks.h), a fake in tests.

#include <string>

#include "absl/status/statusor.h"
#include "evc/common/v1/types.pb.h"

namespace evc::auth {

class CredentialChecker {
 public:
  virtual ~CredentialChecker() = default;
  // The CP, or UNAUTHENTICATED if id + secret are not valid.
  virtual absl::StatusOr<common::v1::ChargingPoint> CheckCredentials(const std::string& cp_id,
                                                                     const std::string& secret) = 0;
};

}  // namespace evc::auth
