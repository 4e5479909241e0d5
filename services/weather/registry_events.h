#pragma once
// The registry's events as the watcher follows them from Kafka.

#include <span>

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

}  // namespace evc::weather
