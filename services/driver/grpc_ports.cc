#include "services/driver/grpc_ports.h"

#include "services/common/grpc_util.h"

namespace evc::driver {

using auth::v1::AuthService;
using central::v1::CentralService;

absl::StatusOr<auth::v1::IssueChargeAssertionResponse> GrpcDriverAuth::IssueChargeAssertion(
    const std::string& cp_id, const std::string& request_id) {
  auth::v1::IssueChargeAssertionRequest request;
  request.set_cp_id(cp_id);
  request.set_request_id(request_id);
  return CallUnary(&AuthService::StubInterface::IssueChargeAssertion, auth_, request,
                   absl::Seconds(10));
}

absl::StatusOr<auth::v1::NotificationKey> GrpcDriverAuth::GetNotificationKey(
    const std::string& driver_id) {
  auth::v1::GetNotificationKeyRequest request;
  request.set_driver_id(driver_id);
  return CallUnary(&AuthService::StubInterface::GetNotificationKey, auth_, request,
                   absl::Seconds(5));
}

absl::Status GrpcSupplyStopper::StopCharge(const std::string& supply_id) {
  central::v1::StopChargeRequest request;
  request.set_supply_id(supply_id);
  return CallUnary(&CentralService::StubInterface::StopCharge, central_, request, absl::Seconds(10))
      .status();
}

absl::StatusOr<common::v1::QueueStatus> GrpcQueueDesk::Join(const central::v1::JoinQueueRequest& r) {
  return CallUnary(&CentralService::StubInterface::JoinQueue, central_, r, absl::Seconds(10));
}

absl::StatusOr<common::v1::QueueStatus> GrpcQueueDesk::Position() {
  return CallUnary(&CentralService::StubInterface::GetQueuePosition, central_,
                   central::v1::QueueDriverRequest(), absl::Seconds(10));
}

absl::StatusOr<common::v1::QueueStatus> GrpcQueueDesk::Leave() {
  return CallUnary(&CentralService::StubInterface::LeaveQueue, central_,
                   central::v1::QueueDriverRequest(), absl::Seconds(10));
}

}  // namespace evc::driver
