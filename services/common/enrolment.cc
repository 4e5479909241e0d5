#include "services/common/enrolment.h"

#include "services/common/grpc_util.h"

namespace evc {

using registry::v1::RegistryService;

absl::StatusOr<std::string> EnrolChargingPoint(RegistryService::StubInterface& registry,
                                               const ChargingPointEnrolment& cp,
                                               IfEnrolled if_enrolled, absl::Duration timeout) {
  registry::v1::RegisterChargingPointRequest request;
  request.set_cp_id(cp.cp_id);
  request.mutable_location()->set_address(cp.address);
  request.mutable_location()->set_city(cp.city);
  request.mutable_location()->set_country(cp.country);
  if (cp.coordinates) *request.mutable_location()->mutable_coordinates() = *cp.coordinates;
  request.set_price_millieuros_per_kwh(cp.price_millieuros_per_kwh);
  request.set_max_power_w(cp.max_power_w);
  auto registered = CallUnary(&RegistryService::StubInterface::RegisterChargingPoint, registry,
                              request, timeout);
  if (registered.ok()) return registered->credentials().secret();
  if (!absl::IsAlreadyExists(registered.status()) || if_enrolled == IfEnrolled::kFail) {
    return registered.status();
  }
  registry::v1::ResetCredentialsRequest reset;
  reset.set_cp_id(cp.cp_id);
  auto credentials =
      CallUnary(&RegistryService::StubInterface::ResetCredentials, registry, reset, timeout);
  if (!credentials.ok()) return credentials.status();
  return credentials->secret();
}

}  // namespace evc
