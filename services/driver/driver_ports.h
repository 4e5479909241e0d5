#pragma once
// What the driver's command line talks to, as interfaces: gRPC and Kafka in
// production (grpc_ports.h, TopicTailFeed), fakes in tests.

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "evc/auth/v1/auth.pb.h"
#include "services/common/kafka.h"

namespace evc::driver {

// Auth, for the logged-in driver.
class DriverAuth {
 public:
  virtual ~DriverAuth() = default;
  // A single-use charge assertion for this CP and request, with the key
  // central's answers are sealed with.
  virtual absl::StatusOr<auth::v1::IssueChargeAssertionResponse> IssueChargeAssertion(
      const std::string& cp_id, const std::string& request_id) = 0;
  // The driver's current notification key (auth rotated its signing key).
  virtual absl::StatusOr<auth::v1::NotificationKey> GetNotificationKey(
      const std::string& driver_id) = 0;
};

// Central's StopCharge on the driver's behalf.
class SupplyStopper {
 public:
  virtual ~SupplyStopper() = default;
  virtual absl::Status StopCharge(const std::string& supply_id) = 0;
};

// evc.driver-notifications from now on, every driver's.
class NotificationFeed {
 public:
  virtual ~NotificationFeed() = default;
  // The next message, or nullopt after `wait`.
  virtual std::optional<KafkaMessage> Next(absl::Duration wait) = 0;
};

}  // namespace evc::driver
