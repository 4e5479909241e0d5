#include "services/weather/registry_events.h"

#include "services/common/service_main.h"

namespace evc::weather {

void FollowRegistryEvents(std::span<const KafkaMessage> batch, VerifyingKeys& registry_keys,
                          WeatherWatcher& watcher, AuditSink& audit, const Clock& clock) {
  for (const KafkaMessage& m : batch) {
    events::v1::RegistryEvent event;
    if (absl::Status s = OpenSignedEvent(m.payload, registry_keys, &event); !s.ok()) {
      RefuseEvent(m, s, "weather", &audit, clock);
      continue;
    }
    watcher.OnRegistryEvent(event);
  }
}

std::unique_ptr<KafkaConsumer> ConsumeRegistryEvents(const std::string& brokers,
                                                     VerifyingKeys& registry_keys,
                                                     WeatherWatcher& watcher, AuditSink& audit,
                                                     const Clock& clock) {
  return StartConsuming({.brokers = brokers,
                         .group_id = "evc-weather",
                         .client_id = "evc-weather",
                         .topics = {topics::kRegistryEvents},
                         .auto_offset_reset = "earliest"},
                        "cannot consume registry events (--kafka)",
                        [&](std::span<const KafkaMessage> batch) {
                          FollowRegistryEvents(batch, registry_keys, watcher, audit, clock);
                        });
}

}  // namespace evc::weather
