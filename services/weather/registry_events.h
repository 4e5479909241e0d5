#pragma once
// The registry's events as the watcher follows them from Kafka.

#include <memory>
#include <span>
#include <string>

#include "services/common/audit.h"
#include "services/common/clock.h"
#include "services/common/kafka.h"
#include "services/common/message_auth.h"
#include "services/weather/watcher.h"

namespace evc::weather {

// Only events the registry signed reach the watcher: a forged one would move or
// drop CPs. The others are refused (logged and audited).
void FollowRegistryEvents(std::span<const KafkaMessage> batch, VerifyingKeys& registry_keys,
                          WeatherWatcher& watcher, AuditSink& audit, const Clock& clock);

// Consumes evc.registry-events at `brokers` as group evc-weather with
// FollowRegistryEvents. A new group replays every event in order (the last one
// per CP is its state): from the latest offset, CPs registered before the first
// partition assignment were missed until the next full sync. Exits the process
// if no consumer can be created.
std::unique_ptr<KafkaConsumer> ConsumeRegistryEvents(const std::string& brokers,
                                                     VerifyingKeys& registry_keys,
                                                     WeatherWatcher& watcher, AuditSink& audit,
                                                     const Clock& clock);

}  // namespace evc::weather
