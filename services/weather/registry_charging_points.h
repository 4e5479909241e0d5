#pragma once
// The charging points read from the registry over gRPC (ListChargingPoints).

#include <vector>

#include "evc/registry/v1/registry.grpc.pb.h"
#include "services/weather/charging_point_source.h"

namespace evc::weather {

class RegistryChargingPoints : public ChargingPointSource {
 public:
  explicit RegistryChargingPoints(registry::v1::RegistryService::StubInterface& registry)
      : registry_(registry) {}
  absl::StatusOr<std::vector<common::v1::ChargingPoint>> List() override;

 private:
  registry::v1::RegistryService::StubInterface& registry_;
};

}  // namespace evc::weather
