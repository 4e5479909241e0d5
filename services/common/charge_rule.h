#pragma once
// Who may ask to charge, or to stop a charge: drivers, for themselves. One
// rule, applied by central's state machine (services/central/network.cc) to
// every charge and stop request, at the Kafka entry to a charge assertion, and
// by auth before it signs one.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/common/caller.h"

namespace evc {

// `named_driver`, when the request names one, must be the caller.
// `credential` names what the caller presented ("token", "charge assertion"),
// for the refusal's message.
absl::Status MayChargeAs(const Caller& caller, absl::string_view named_driver,
                         absl::string_view credential = "token");

}  // namespace evc
