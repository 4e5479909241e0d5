#pragma once
// The holds sent to central over gRPC (ApplyWeatherHolds).

#include <map>
#include <string>

#include "evc/central/v1/central.grpc.pb.h"
#include "services/weather/hold_sink.h"

namespace evc::weather {

class CentralHolds : public HoldSink {
 public:
  explicit CentralHolds(central::v1::CentralService::StubInterface& central) : central_(central) {}
  // CP ids central does not know are logged: the registry and central disagree
  // for a moment, and the next full set heals it.
  absl::Status ApplyHolds(const std::map<std::string, std::string>& held) override;

 private:
  central::v1::CentralService::StubInterface& central_;
};

}  // namespace evc::weather
