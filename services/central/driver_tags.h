#pragma once
// Who registered an RFID tag (the registry's ResolveIdTag): a walk-in with a
// tag at a CP is charged to that driver.

#include <string>

#include "absl/status/statusor.h"

namespace evc::central {

class DriverTags {
 public:
  virtual ~DriverTags() = default;
  // The driver's id; NOT_FOUND if nobody registered the tag, another error if
  // it cannot be told now.
  virtual absl::StatusOr<std::string> DriverOf(const std::string& id_tag) = 0;
};

}  // namespace evc::central
