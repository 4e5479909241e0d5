#include "services/common/names.h"

namespace evc {

std::string StateName(common::v1::CpState state) {
  std::string name = common::v1::CpState_Name(state);
  return name.rfind("CP_STATE_", 0) == 0 ? name.substr(9) : name;
}

std::string EndReasonText(common::v1::EndReason reason) {
  switch (reason) {
    case common::v1::END_REASON_UNPLUGGED:
      return "vehicle unplugged";
    case common::v1::END_REASON_DRIVER_STOP:
      return "stopped by the driver";
    case common::v1::END_REASON_OPERATOR_STOP:
      return "stopped by an operator";
    case common::v1::END_REASON_ENGINE_FAULT:
      return "charging point fault";
    case common::v1::END_REASON_MONITOR_LOST:
      return "charging point lost contact with central";
    case common::v1::END_REASON_CP_REMOVED:
      return "charging point removed from the network";
    case common::v1::END_REASON_PLUG_TIMEOUT:
      return "vehicle never plugged in";
    case common::v1::END_REASON_ENGINE_SILENT:
      return "charging point stopped answering";
    case common::v1::END_REASON_CP_LOST_SUPPLY:
      return "charging point no longer runs the supply";
    case common::v1::END_REASON_UNKNOWN_SUPPLY:
      return "supply unknown to central";
    default:
      return "ended";
  }
}

std::string RejectReasonText(common::v1::RejectReason reason) {
  switch (reason) {
    case common::v1::REJECT_REASON_UNKNOWN_CP:
      return "unknown charging point";
    case common::v1::REJECT_REASON_CP_DISCONNECTED:
      return "charging point is disconnected";
    case common::v1::REJECT_REASON_CP_FAULTED:
      return "charging point is faulted";
    case common::v1::REJECT_REASON_CP_OUT_OF_SERVICE:
      return "charging point is out of service";
    case common::v1::REJECT_REASON_CP_BUSY:
      return "charging point is busy";
    case common::v1::REJECT_REASON_UNKNOWN_DRIVER:
      return "unknown driver";
    case common::v1::REJECT_REASON_DRIVER_ALREADY_CHARGING:
      return "driver is already charging";
    case common::v1::REJECT_REASON_INVALID_REQUEST:
      return "invalid request";
    case common::v1::REJECT_REASON_CP_OFFERED:
      return "charging point is offered to the head of its queue";
    default:
      return "rejected";
  }
}

std::string HoldReasonText(common::v1::HoldReason reason) {
  switch (reason) {
    case common::v1::HOLD_REASON_OPERATOR:
      return "operator stop";
    case common::v1::HOLD_REASON_WEATHER:
      return "weather alert";
    default:
      return "hold";
  }
}

}  // namespace evc
