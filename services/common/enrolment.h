#pragma once
// Enrolling a charging point at the registry, as evcctl's `register` and the
// simulated fleet both do: one request, and what to do if the CP is enrolled.

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "evc/registry/v1/registry.grpc.pb.h"

namespace evc {

struct ChargingPointEnrolment {
  std::string cp_id;
  std::string address;
  std::string city;
  std::string country;
  int64_t price_millieuros_per_kwh = 0;
  int64_t max_power_w = 0;
  // Where it stands, when known (WGS 84 degrees).
  std::optional<common::v1::GeoPoint> coordinates;
};

// What to do when the registry already knows the CP.
enum class IfEnrolled {
  kFail,              // ALREADY_EXISTS, as the registry said
  kResetCredentials,  // issue it new credentials: its old secret stops working
};

// Enrols `cp` (the caller's channel carries an operator's token) and returns its
// secret, which the registry shows only this once. Each call has `timeout`;
// other errors are returned as they came, for the caller to retry or report.
absl::StatusOr<std::string> EnrolChargingPoint(
    registry::v1::RegistryService::StubInterface& registry, const ChargingPointEnrolment& cp,
    IfEnrolled if_enrolled, absl::Duration timeout);

// Enrols each of `plan` in turn (new credentials if it is enrolled already) and
// hands its secret to `enrolled`. The registry may still be starting: each CP
// is retried with Backoff for up to `patience`; the first that cannot be
// enrolled ends it with that error, at once if the registry refused it
// (invalid, not allowed). Once `stop` is notified no further CP is
// enrolled.
absl::Status EnrolEach(registry::v1::RegistryService::StubInterface& registry,
                       const std::vector<ChargingPointEnrolment>& plan, absl::Duration patience,
                       const absl::Notification* stop,
                       const std::function<void(const ChargingPointEnrolment&, const std::string& secret)>& enrolled);

}  // namespace evc
