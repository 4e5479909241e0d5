#pragma once
// Enrolling a charging point at the registry, as evcctl's `register` and the
// simulated fleet both do: one request, and what to do if the CP is enrolled.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
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

}  // namespace evc
