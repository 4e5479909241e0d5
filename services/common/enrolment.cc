#include "services/common/enrolment.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/backoff.h"
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

namespace {

bool IsRefusal(const absl::Status& status) {
  return absl::IsInvalidArgument(status) || absl::IsPermissionDenied(status) || absl::IsUnauthenticated(status) ||
         absl::IsFailedPrecondition(status) || absl::IsAlreadyExists(status) || absl::IsOutOfRange(status);
}

}  // namespace

absl::Status EnrolEach(RegistryService::StubInterface& registry, const std::vector<ChargingPointEnrolment>& plan,
                       absl::Duration patience, const absl::Notification* stop,
                       const std::function<void(const ChargingPointEnrolment&, const std::string&)>& enrolled) {
  for (const ChargingPointEnrolment& planned : plan) {
    if (stop != nullptr && stop->HasBeenNotified()) break;
    absl::StatusOr<std::string> secret;
    absl::Status done = RetryWithBackoff(
        "enrol " + planned.cp_id,
        [&] {
          secret = EnrolChargingPoint(registry, planned, IfEnrolled::kResetCredentials, absl::Seconds(10));
          // A refusal ends the retries: it does not get better with them.
          return IsRefusal(secret.status()) ? absl::OkStatus() : secret.status();
        },
        absl::Now() + patience, stop);
    if (!done.ok()) return done;
    if (!secret.ok()) {
      return absl::Status(secret.status().code(), absl::StrCat("enrol ", planned.cp_id, ": ", secret.status().message()));
    }
    enrolled(planned, *secret);
  }
  return absl::OkStatus();
}

}  // namespace evc
