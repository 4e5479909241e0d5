#include "services/weather/registry_charging_points.h"

#include "services/common/grpc_util.h"

namespace evc::weather {

using registry::v1::RegistryService;

absl::StatusOr<std::vector<common::v1::ChargingPoint>> RegistryChargingPoints::List() {
  auto list = CallUnary(&RegistryService::StubInterface::ListChargingPoints, registry_,
                        registry::v1::ListChargingPointsRequest(), absl::Seconds(5));
  if (!list.ok()) return list.status();
  return std::vector<common::v1::ChargingPoint>(list->charging_points().begin(),
                                                list->charging_points().end());
}

}  // namespace evc::weather
