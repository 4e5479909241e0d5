#include "services/auth/registry_events.h"

#include "services/common/log.h"

namespace evc::auth {

void RevokeOnRegistryEvents(Auth& auth, std::span<const KafkaMessage> batch,
                            KafkaProducer& producer, VerifyingKeys& registry_keys, AuditSink& audit,
                            const Clock& clock) {
  for (const KafkaMessage& m : batch) {
    events::v1::RegistryEvent event;
    if (absl::Status s = OpenSignedEvent(m.payload, registry_keys, &event); !s.ok()) {
      RefuseEvent(m, s, "auth", &audit, clock);
      continue;
    }
    if (event.cp_id().empty() || event.cp_id() != m.key) {
      DeadLetter(producer, m, "RegistryEvent without a cp_id matching its key");
      continue;
    }
    if (event.has_unregistered() || event.has_credentials_reset()) {
      auto revoked = auth.Revoke(event.cp_id(), Caller::Service("registry", topics::kRegistryEvents),
                                 event.has_unregistered() ? "unregistered" : "credentials reset",
                                 /*block=*/false);
      if (!revoked.ok()) {
        log::Error("revocation failed",
                   {{"cp_id", event.cp_id()}, {"error", revoked.status().ToString()}});
      }
    }
    // New credentials (re-enrolment or reset) lift a revocation's block.
    if (event.has_registered() || event.has_credentials_reset()) {
      if (absl::Status s = auth.Unblock(event.cp_id()); !s.ok()) {
        log::Error("unblock failed", {{"cp_id", event.cp_id()}, {"error", s.ToString()}});
      }
    }
  }
}

}  // namespace evc::auth
