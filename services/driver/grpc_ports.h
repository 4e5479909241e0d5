#pragma once
// The driver's collaborators over gRPC and Kafka.

#include <memory>

#include "evc/auth/v1/auth.grpc.pb.h"
#include "evc/central/v1/central.grpc.pb.h"
#include "services/driver/driver_ports.h"
#include "services/driver/queuer.h"

namespace evc::driver {

class GrpcDriverAuth : public DriverAuth {
 public:
  explicit GrpcDriverAuth(auth::v1::AuthService::StubInterface& auth) : auth_(auth) {}
  absl::StatusOr<auth::v1::IssueChargeAssertionResponse> IssueChargeAssertion(
      const std::string& cp_id, const std::string& request_id) override;
  absl::StatusOr<auth::v1::NotificationKey> GetNotificationKey(
      const std::string& driver_id) override;

 private:
  auth::v1::AuthService::StubInterface& auth_;
};

class GrpcSupplyStopper : public SupplyStopper {
 public:
  explicit GrpcSupplyStopper(central::v1::CentralService::StubInterface& central)
      : central_(central) {}
  absl::Status StopCharge(const std::string& supply_id) override;

 private:
  central::v1::CentralService::StubInterface& central_;
};

class GrpcQueueDesk : public QueueDesk {
 public:
  explicit GrpcQueueDesk(central::v1::CentralService::StubInterface& central) : central_(central) {}
  absl::StatusOr<common::v1::QueueStatus> Join(const central::v1::JoinQueueRequest& r) override;
  absl::StatusOr<common::v1::QueueStatus> Position() override;
  absl::StatusOr<common::v1::QueueStatus> Leave() override;

 private:
  central::v1::CentralService::StubInterface& central_;
};

class TopicTailFeed : public NotificationFeed {
 public:
  explicit TopicTailFeed(std::unique_ptr<TopicTail> tail) : tail_(std::move(tail)) {}
  std::optional<KafkaMessage> Next(absl::Duration wait) override { return tail_->Next(wait); }

 private:
  std::unique_ptr<TopicTail> tail_;
};

}  // namespace evc::driver
