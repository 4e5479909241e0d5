// What the gateway sends a simulated OCPP charger (evc-cp-fleet --ocpp), one
// OCPP-J message a line, through the same RpcEndpoint and schema checks as the
// client connection: remote starts and stops, availability, configuration
// (numbers of any size), triggers and unknown actions. Nothing may crash, and
// each message gets at most one answer.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "services/cp/ocpp_fleet.h"
#include "services/ocpp/endpoint.h"
#include "services/ocpp/schemas.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Not connected: what it would send goes nowhere; its state still changes.
  evc::cp::SimulatedOcppCharger charger("CP1", "secret", {.unplug_after_readings = 2}, nullptr);
  int answers = 0;
  evc::ocpp::RpcEndpoint endpoint(evc::ocpp::Schemas::Ocpp16(), charger, [&](std::string) { ++answers; });
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    answers = 0;
    endpoint.OnMessage(std::string_view(line.data(), line.size()), absl::Now());
    if (answers > 1) __builtin_trap();  // one message, at most one answer
  }
  if (charger.meter_wh() < 0) __builtin_trap();
  return 0;
}
