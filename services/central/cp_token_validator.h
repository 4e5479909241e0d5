#pragma once
// Who checks the token a CP's monitor presents when it links (auth's
// ValidateChargingPointToken).

#include <string>

#include "absl/status/statusor.h"

namespace evc::central {

class CpTokenValidator {
 public:
  virtual ~CpTokenValidator() = default;
  // The CP id the token belongs to, or UNAUTHENTICATED.
  virtual absl::StatusOr<std::string> CpOf(const std::string& token) = 0;
};

}  // namespace evc::central
