// A CP monitor's link messages reach central's state machine: bytes parsed as
// MonitorMessage go to the monitor entry points (MonitorRegistered,
// MonitorHealth) with in-process fakes. Nothing may crash, hang or throw.
//
// Input: byte 0 picks the handler (0 register under the message's CP id,
// 1 health of linked CP1, 2 register then health of the message's CP id,
// 3 health of CP1 then a charge at CP1, so health arrives during a supply),
// the rest is the serialized MonitorMessage.

#include <cstdint>
#include <string>

#include "services/central/central_fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evc;
  if (size < 1) return 0;
  central::v1::MonitorMessage message;
  if (!message.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
  central::fuzz::FuzzCentral f;
  const central::v1::Health& health =
      message.has_health() ? message.health() : message.register_().health();
  const std::string& cp_id = message.register_().cp_id();
  switch (data[0] % 4) {
    case 0:
      (void)f.central.MonitorRegistered(cp_id, health);
      break;
    case 1:
      (void)f.central.MonitorHealth("CP1", health);
      break;
    case 2:
      if (f.central.MonitorRegistered(cp_id, health).ok())
        (void)f.central.MonitorHealth(cp_id, health);
      break;
    default: {
      auto supply =
          f.central.RequestCharge(f.CallerOf(central::fuzz::DriverToken("ana")), "CP1", "ana", "fuzz-1");
      (void)f.central.MonitorHealth("CP1", health);
      if (supply.ok())
        (void)f.central.StopCharge(f.CallerOf(central::fuzz::DriverToken("ana")), supply->supply_id(), "ana");
      break;
    }
  }
  (void)f.central.Snapshot();
  return 0;
}
