#pragma once
// What auth does with the registry's events: an unregistered CP or reset
// credentials revoke every token and key of the CP at once; new credentials
// (re-enrolment or reset) lift a revocation's block.

#include <span>

#include "services/auth/auth.h"
#include "services/common/audit.h"
#include "services/common/clock.h"
#include "services/common/kafka.h"
#include "services/common/message_auth.h"

namespace evc::auth {

// Only events the registry signed count: a forged one could lift a revocation.
// Refused events are logged and audited; an event whose cp_id is not its key is
// dead-lettered.
void RevokeOnRegistryEvents(Auth& auth, std::span<const KafkaMessage> batch,
                            KafkaProducer& producer, VerifyingKeys& registry_keys, AuditSink& audit,
                            const Clock& clock);

}  // namespace evc::auth
