#pragma once
// Where a change of the monitor links' settings goes (central's gRPC face):
// every linked monitor is told at once, not at its next reconnect.

#include "absl/time/time.h"

namespace evc::central {

class LinkSettings {
 public:
  virtual ~LinkSettings() = default;
  virtual void PushHealthInterval(absl::Duration interval) = 0;
};

}  // namespace evc::central
