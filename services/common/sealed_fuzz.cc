// Sealed envelopes are read off Kafka, where any broker client can write: garbage,
// truncation and forgeries must be refused with a status, never crash or open.

#include <cstdint>
#include <string>

#include "google/protobuf/stubs/logging.h"
#include "services/common/sealed.h"

namespace {

const evc::CpKey& Key() {
  static const evc::CpKey key{"fuzz-key", std::string(32, '\x11')};
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Protobuf logs every string field that is not UTF-8; the refusal is what counts here.
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  static evc::ReplayGuard guard;
  const std::string wire(reinterpret_cast<const char*>(data), size);
  auto keys = [](const std::string& cp_id, const std::string& key_id) -> const evc::CpKey* {
    return key_id == Key().key_id ? &Key() : nullptr;
  };
  for (auto direction : {evc::events::v1::SealedEnvelope::DIRECTION_ENGINE_TO_CENTRAL,
                         evc::events::v1::SealedEnvelope::DIRECTION_CENTRAL_TO_ENGINE}) {
    absl::StatusOr<evc::OpenedEnvelope> opened =
        evc::OpenEnvelope(wire, direction, keys, absl::FromUnixSeconds(1'800'000'000));
    if (opened.ok()) (void)guard.Accept(opened->cp_id, opened->counter);
  }
  return 0;
}
