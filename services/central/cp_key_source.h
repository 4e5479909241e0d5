#pragma once
// Where central gets the keys of a CP (auth's GetChargingPointKeys).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/sealed.h"

namespace evc::central {

class CpKeySource {
 public:
  virtual ~CpKeySource() = default;
  virtual absl::StatusOr<std::vector<CpKey>> Keys(const std::string& cp_id) = 0;
};

}  // namespace evc::central
