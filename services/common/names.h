#pragma once
// Human-readable names of the shared enums, for messages, metrics and CLIs
// ("ACTIVE", "engine fault", ...): one wording everywhere they are shown.

#include <string>

#include "evc/common/v1/types.pb.h"

namespace evc {

std::string StateName(common::v1::CpState state);
std::string EndReasonText(common::v1::EndReason reason);
std::string RejectReasonText(common::v1::RejectReason reason);
std::string HoldReasonText(common::v1::HoldReason reason);

}  // namespace evc
