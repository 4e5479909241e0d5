// Every Kafka record central consumes comes from a broker any client can
// write to: raw bytes as key and value of each topic's records go through
// central's real handlers (KafkaRoutes::HandleBatch), with in-process fakes. Nothing
// may crash, hang or throw, whatever the bytes.
//
// Input: byte 0 picks the topic (0 charge requests, 1 engine events as raw
// bytes, 2 engine events sealed under CP1's key so the EngineEvent decoder
// is reached, 3 registry events, 4 auth events), byte 1 the key length
// (mod 65), then the key, then the value. With byte 0's high bit set the
// record goes twice in one batch, behind a charge request of CP1.

#include <cstdint>
#include <string>

#include "services/central/central_fuzz_support.h"
#include "services/common/sealed.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evc;
  if (size < 2) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const uint8_t selector = data[0];
  const size_t key_size = std::min<size_t>(data[1] % 65, size - 2);
  const std::string key = bytes.substr(2, key_size);
  std::string value = bytes.substr(2 + key_size);

  central::fuzz::FuzzCentral f;
  KafkaMessage m;
  m.key = key;
  m.partition = 0;
  m.offset = 1;
  switch ((selector & 0x7f) % 5) {
    case 0:
      m.topic = topics::kChargeRequests;
      break;
    case 1:
      m.topic = topics::kEngineEvents;
      break;
    case 2: {
      m.topic = topics::kEngineEvents;
      auto sealed = SealEnvelope(events::v1::SealedEnvelope::DIRECTION_ENGINE_TO_CENTRAL, "CP1",
                                 central::fuzz::FixedKeys::Key(), 1, value);
      if (sealed.ok()) value = sealed->SerializeAsString();
      break;
    }
    case 3:
      m.topic = topics::kRegistryEvents;
      break;
    default:
      m.topic = topics::kAuthEvents;
      break;
  }
  m.payload = std::move(value);
  std::vector<KafkaMessage> batch;
  if (selector >= 128) {
    events::v1::ChargeRequest r;
    r.set_request_id("fuzz-1");
    r.set_cp_id("CP1");
    r.set_driver_id("ana");
    r.set_access_token(central::fuzz::DriverToken("ana"));
    KafkaMessage valid;
    valid.topic = topics::kChargeRequests;
    valid.key = "CP1";
    valid.payload = r.SerializeAsString();
    batch.push_back(valid);
    batch.push_back(m);
  }
  batch.push_back(m);
  f.routes.HandleBatch(batch, nullptr);
  (void)f.central.Snapshot();
  return 0;
}
