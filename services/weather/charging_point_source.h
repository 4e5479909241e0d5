#pragma once
// Where the weather service learns which cities to watch: the registry's list of
// charging points in production (registry_charging_points.h), a fake in tests.

#include <vector>

#include "absl/status/statusor.h"
#include "evc/common/v1/types.pb.h"

namespace evc::weather {

class ChargingPointSource {
 public:
  virtual ~ChargingPointSource() = default;
  virtual absl::StatusOr<std::vector<common::v1::ChargingPoint>> List() = 0;
};

}  // namespace evc::weather
