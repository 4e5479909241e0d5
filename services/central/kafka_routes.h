#pragma once
// Central's Kafka consumer: routes each topic's records to their handler.
// The broker authenticates nobody, so what a record carries is verified here,
// off the network's lock, before it changes anything: engine events open
// through the engine channel, auth and registry events by their signatures,
// charge requests by auth's single-use assertion. Changes are made through
// Central (durably where they must be). Called from the consumer thread only
// (RFID tags are looked up on threads of its own).

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "evc/events/v1/events.pb.h"
#include "services/central/central.h"
#include "services/central/driver_tags.h"
#include "services/central/engine_channel.h"
#include "services/central/link_closer.h"
#include "services/common/kafka.h"
#include "services/common/message_auth.h"
#include "services/common/tokens.h"
#include "services/common/worker_pool.h"

namespace evc::central {

// What central checks Kafka traffic with. Unset keys fail closed: charge
// requests and auth/registry events are refused.
struct KafkaTrust {
  // Auth's public keys: charge assertions and auth events.
  VerifyingKeys* auth_keys = nullptr;
  // The registry's event keys.
  VerifyingKeys* registry_keys = nullptr;
  // Who registered the RFID tag of a walk-in; unset: such walk-ins are refused.
  DriverTags* driver_tags = nullptr;
};

class KafkaRoutes {
 public:
  // Token revocations from auth reach `tokens`; links of CPs removed,
  // revoked or rotated are cut through `links`.
  KafkaRoutes(Central& central, EngineChannel& channel, TokenVerifier& tokens, KafkaTrust trust,
              LinkCloser& links, const Clock& clock);

  // A batch from the consumer; returns once its effects are durable (or
  // after a bounded wait, leaving them queued). Malformed records go to
  // `dead_letters` when given.
  void HandleBatch(std::span<const KafkaMessage> batch, KafkaProducer* dead_letters);

 private:
  // What a batch holds once verified, in the batch's order.
  struct Verified {
    // Engine events: their content, or why not.
    std::vector<absl::StatusOr<std::string>> opened;
    std::vector<std::optional<events::v1::RegistryEvent>> registry_events;
    std::vector<std::pair<size_t, absl::Status>> refused;
    std::vector<events::v1::ChargeRequest> requests;
  };
  Verified Verify(std::span<const KafkaMessage> batch, KafkaProducer* dead_letters);
  // Applies the engine and registry events of a batch; false when their
  // effects were not durable in time.
  bool ApplyBatch(std::span<const KafkaMessage> batch, const Verified& verified,
                  KafkaProducer* dead_letters);
  // Saves the replay marks of the envelopes opened (see EngineChannel).
  void PersistReplayMarks(bool batch_durable);
  // Follows auth: token revocations, CP keys rotated or revoked.
  void HandleAuthEvent(const KafkaMessage& m);
  void HandleEngineEvent(const KafkaMessage& m, const std::string& plaintext,
                         ChargingNetwork& network, absl::Time now, Effects& fx);
  // The ages of an engine event about to be applied at `now` (LatencyStages).
  void ObserveLatency(const KafkaMessage& m, const events::v1::EngineEvent& e,
                      const ChargingNetwork& network, absl::Time now);
  // Returns the CP whose link must be cut, and why, if any.
  std::optional<std::pair<std::string, std::string>> HandleRegistryEvent(
      const KafkaMessage& m, const events::v1::RegistryEvent& e, ChargingNetwork& network,
      absl::Time now, Effects& fx, KafkaProducer* dead_letters);
  // The driver a charge request's assertion vouches for (once), or why not;
  // a refusal is audited.
  absl::StatusOr<Caller> AssertedDriver(const events::v1::ChargeRequest& r);
  // A refused auth or registry event: audited as SECURITY, skipped.
  void RefuseSignedEvent(const KafkaMessage& m, const absl::Status& why, absl::Time now,
                         Effects& fx);
  void HandleChargeRequests(const std::vector<events::v1::ChargeRequest>& requests);
  // Walk-ins with an RFID tag, set aside by HandleEngineEvent: their tags are
  // looked up at the registry on tag_lookups_ (off the network's lock and the
  // consumer thread), then they are charged.
  void HandleTagWalkIns();
  // On a tag_lookups_ thread.
  void ChargeTagWalkIn(const std::string& cp_id, const events::v1::WalkInRequest& walk_in,
                       const absl::StatusOr<std::string>& owner);

  Central& central_;
  EngineChannel& channel_;
  TokenVerifier& tokens_;
  const KafkaTrust trust_;
  LinkCloser& links_;
  const Clock& clock_;
  AssertionGuard assertion_guard_;
  // Reused for every engine event: parsing into a fresh message allocates.
  events::v1::EngineEvent scratch_event_;
  // When the consumer handed over the batch being handled.
  absl::Time batch_received_at_;
  LatencyStages::EventTally event_ages_;
  // (cp_id, request) of the batch being applied.
  std::vector<std::pair<std::string, events::v1::WalkInRequest>> tag_walk_ins_;
  // When each CP's walk-in last had its tag looked up (HandleTagWalkIns).
  static constexpr absl::Duration kTagLookupInterval = absl::Seconds(1);
  absl::flat_hash_map<std::string, absl::Time> last_tag_lookup_;
  // Last: joined first when the routes go, while what its tasks use lives.
  WorkerPool tag_lookups_{2, 256};
};

}  // namespace evc::central
