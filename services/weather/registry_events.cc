#include "services/weather/registry_events.h"

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

}  // namespace evc::weather
