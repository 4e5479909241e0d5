#pragma once
// Where a CP unknown to central is looked up before its monitor is refused
// (the registry's GetChargingPoint). Registry events reach central late after
// a restart (its consumer group rejoins first), and a CP enrolled meanwhile
// must not be turned away.

#include <string>

#include "absl/status/statusor.h"
#include "evc/common/v1/types.pb.h"

namespace evc::central {

class CatalogueLookup {
 public:
  virtual ~CatalogueLookup() = default;
  // NOT_FOUND for a CP the registry does not know.
  virtual absl::StatusOr<common::v1::ChargingPoint> Lookup(const std::string& cp_id) = 0;
};

}  // namespace evc::central
