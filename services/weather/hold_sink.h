#pragma once
// Where the weather service sends its holds: central's ApplyWeatherHolds in
// production (central_holds.h), a fake in tests.

#include <map>
#include <string>

#include "absl/status/status.h"

namespace evc::weather {

class HoldSink {
 public:
  virtual ~HoldSink() = default;
  // The complete set of held CPs: CP id -> why.
  virtual absl::Status ApplyHolds(const std::map<std::string, std::string>& held) = 0;
};

}  // namespace evc::weather
