#pragma once
// Central: owns the charging network state machine and applies its effects —
// state is journaled to Postgres, then commands, notices and tickets go to
// Kafka; live views go to watchers at once. Thread-safe; one mutex guards the
// state machine, and nothing under it blocks on I/O.

#include <functional>
#include <span>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "evc/central/v1/central.pb.h"
#include "evc/events/v1/events.pb.h"
#include "services/central/broadcaster.h"
#include "services/central/central_metrics.h"
#include "services/central/journal.h"
#include "services/central/network.h"
#include "services/central/replay_marks.h"
#include "services/common/clock.h"
#include "services/common/kafka.h"
#include "services/common/message_auth.h"
#include "services/common/publisher.h"
#include "services/common/sealed.h"
#include "services/common/tokens.h"

namespace evc::central {

// Where central gets the keys of a CP (auth's GetChargingPointKeys).
class CpKeySource {
 public:
  virtual ~CpKeySource() = default;
  virtual absl::StatusOr<std::vector<CpKey>> Keys(const std::string& cp_id) = 0;
};

// Where central gets a driver's notification key (auth's GetNotificationKey).
class NotificationKeySource {
 public:
  virtual ~NotificationKeySource() = default;
  virtual absl::StatusOr<NotificationKey> Key(const std::string& driver_id) = 0;
};

// What central checks Kafka traffic with; the broker authenticates nobody.
// Unset parts fail closed: charge requests and auth/registry events are
// refused, driver notifications are not sent.
struct KafkaTrust {
  // Auth's public keys: charge assertions and auth events.
  VerifyingKeys* auth_keys = nullptr;
  // The registry's event keys.
  VerifyingKeys* registry_keys = nullptr;
  NotificationKeySource* notification_keys = nullptr;
};

class Central {
 public:
  // Drivers are who their access token says (`tokens`); engine messages open
  // with the keys from `keys`.
  Central(NetworkConfig config, SupplyStore& store, Publisher& publisher, TokenVerifier& tokens,
          CpKeySource& keys, const Clock& clock);
  ~Central();

  // Loads the catalogue, restores open supplies, re-sends unsent tickets and
  // starts the timer.
  absl::Status Start(const std::vector<common::v1::ChargingPoint>& catalogue);
  void Stop();

  // Called with the CP id and why when its monitor link must be cut (CP
  // removed or revoked, key rotated).
  void SetLinkCloser(std::function<void(const std::string&, const std::string&)> closer);
  // Where a CP unknown to central is looked up before its monitor is refused.
  // Registry events reach central late after a restart (its consumer group
  // rejoins first), and a CP enrolled meanwhile must not be turned away.
  using CatalogueLookup = std::function<absl::StatusOr<common::v1::ChargingPoint>(const std::string&)>;
  void SetCatalogueLookup(CatalogueLookup lookup);
  // Before Start.
  void SetKafkaTrust(KafkaTrust trust) { trust_ = trust; }
  // Where the replay marks of sealed engine envelopes persist; set before
  // Start, which loads them. Without it a captured envelope is accepted once
  // after a restart.
  void SetReplayMarkStore(ReplayMarkStore* marks);
  // Fetches the CP's keys (when its monitor links): blocking, off-lock.
  absl::Status LoadKeys(const std::string& cp_id);

  // Monitor link.
  absl::Status MonitorRegistered(const std::string& cp_id, const central::v1::Health& health);
  absl::Status MonitorHealth(const std::string& cp_id, const central::v1::Health& health);

  // Blocking (waits until durable): call off gRPC threads. The driver is the
  // subject of `access_token`; `driver_id`, when given, must be the same.
  absl::StatusOr<common::v1::Supply> RequestCharge(const std::string& cp_id,
                                                   const std::string& driver_id,
                                                   const std::string& request_id,
                                                   const std::string& access_token);
  // Only the driver's own supply.
  absl::StatusOr<common::v1::Supply> StopCharge(const std::string& supply_id,
                                                const std::string& driver_id,
                                                const std::string& access_token);
  // `actor`: the operator, for the audit trail.
  absl::StatusOr<std::vector<std::string>> OperatorStop(const std::string& cp_id, bool all,
                                                        const std::string& actor);
  absl::StatusOr<std::vector<std::string>> OperatorResume(const std::string& cp_id, bool all,
                                                          const std::string& actor);

  // Weather: the complete set of CPs under a weather alert (CP id -> why);
  // returns once the changes are durable. INVALID_ARGUMENT for a malformed
  // CP id or detail.
  absl::StatusOr<WeatherHoldsResult> ApplyWeatherHolds(const std::map<std::string, std::string>& held,
                                                       const Caller& actor);

  // Kafka: a batch from the consumer; returns once its effects are durable.
  void HandleKafkaBatch(std::span<const KafkaMessage> batch, KafkaProducer* dead_letters);

  // Views.
  std::vector<central::v1::ChargingPointStatus> Snapshot() const;
  absl::StatusOr<central::v1::SupplyView> GetSupply(const std::string& supply_id);
  absl::StatusOr<std::vector<common::v1::Ticket>> ListTickets(const std::string& driver_id,
                                                              const std::string& cp_id, int limit);
  NetworkCounters counters() const;
  central::v1::NetworkStats Stats() const;

  // Watching: `w` gets every update, preceded by a snapshot of the whole
  // network when `with_snapshot`.
  void Watch(Watcher* w, bool with_snapshot = true);
  void Unwatch(Watcher* w);

 private:
  // Applies effects; `after_durable` runs once they are committed.
  void Apply(Effects fx, std::function<void()> after_durable = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Not marked published unless delivered: a failed delivery is retried by
  // the timer (RetryTickets) and, failing that, at the next start.
  // `attempt` counts the earlier failed deliveries.
  void PublishTicket(const common::v1::Ticket& ticket, int attempt = 0);
  void RetryTickets();
  void SendCommand(const events::v1::EngineCommand& command);
  // Runs an operator command of the network durably.
  absl::StatusOr<std::vector<std::string>> Operate(
      const std::string& cp_id, bool all, const std::string& actor,
      absl::StatusOr<std::vector<std::string>> (ChargingNetwork::*command)(const std::string&,
                                                                          const Caller&, absl::Time,
                                                                          Effects&));
  // The driver a token names, or why not (UNAUTHENTICATED/PERMISSION_DENIED);
  // a refusal is audited against `cp_id` when known.
  absl::StatusOr<Caller> DriverOf(const std::string& access_token, const std::string& driver_id,
                                  const std::string& action, const std::string& cp_id);
  // Opens a sealed engine event, fetching the CP's keys if need be: off-lock.
  absl::StatusOr<std::string> OpenEngineMessage(const KafkaMessage& m);
  absl::Status RestoreReplayMarks();
  // Persists the marks raised so far once the effects of the envelopes they
  // cover are durable (see central.cc).
  void PersistReplayMarks(bool batch_durable);
  // Follows auth: token revocations, CP keys rotated or revoked. Off-lock.
  void HandleAuthEvent(const KafkaMessage& m);
  void HandleEngineEvent(const KafkaMessage& m, const std::string& plaintext, Effects& fx)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleRegistryEvent(const KafkaMessage& m, const events::v1::RegistryEvent& e, Effects& fx,
                           KafkaProducer* dead_letters) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The driver a charge request's assertion vouches for (once), or why not;
  // a refusal is audited.
  absl::StatusOr<Caller> AssertedDriver(const events::v1::ChargeRequest& r);
  // A refused auth or registry event: audited as SECURITY, skipped.
  void RefuseSignedEvent(const KafkaMessage& m, const absl::Status& why, Effects& fx)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Seals `n` for its driver and publishes it. Without `may_fetch` (under
  // mu_) only a key already known is used.
  absl::Status PublishNotification(const events::v1::DriverNotification& n, bool may_fetch,
                                   Publisher::Delivered on_delivery = nullptr);
  std::optional<NotificationKey> NotificationKeyOf(const std::string& driver_id, bool may_fetch);
  // Charge requests look drivers up without the lock, so they are parsed first.
  void HandleChargeRequests(const std::vector<events::v1::ChargeRequest>& requests);
  void TickLoop();

  SupplyStore& store_;
  Publisher& publisher_;
  TokenVerifier& tokens_;
  CpKeySource& key_source_;
  KafkaTrust trust_;
  AssertionGuard assertion_guard_;
  absl::Mutex notify_mu_;
  absl::flat_hash_map<std::string, NotificationKey> notification_keys_ ABSL_GUARDED_BY(notify_mu_);
  KeyRing keys_;
  SealCounter command_counter_;
  // Only the Kafka consumer thread opens engine messages.
  absl::Mutex open_mu_;
  ReplayGuard replay_guard_ ABSL_GUARDED_BY(open_mu_);
  absl::flat_hash_map<std::string, absl::Time> last_key_fetch_ ABSL_GUARDED_BY(open_mu_);
  ReplayMarkStore* replay_marks_ ABSL_GUARDED_BY(open_mu_) = nullptr;
  // Raised since the last save, and as loaded at start.
  absl::flat_hash_map<std::string, ReplayMark> unsaved_marks_ ABSL_GUARDED_BY(open_mu_);
  absl::flat_hash_map<std::string, ReplayMark> restored_marks_ ABSL_GUARDED_BY(open_mu_);
  bool marks_wait_for_journal_ ABSL_GUARDED_BY(open_mu_) = false;
  const Clock& clock_;
  Journal journal_;
  Broadcaster broadcaster_;

  mutable absl::Mutex mu_;
  ChargingNetwork network_ ABSL_GUARDED_BY(mu_);
  CentralMetrics metrics_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sample_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Reused for every engine event: parsing into a fresh message allocates.
  events::v1::EngineEvent scratch_event_ ABSL_GUARDED_BY(mu_);
  absl::Time last_figures_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::function<void(const std::string&, const std::string&)> link_closer_ ABSL_GUARDED_BY(mu_);
  CatalogueLookup catalogue_lookup_ ABSL_GUARDED_BY(mu_);

  const absl::Duration resend_interval_;
  absl::Mutex retry_mu_;
  struct TicketRetry {
    common::v1::Ticket ticket;
    int attempt = 0;
  };
  std::vector<TicketRetry> tickets_to_retry_ ABSL_GUARDED_BY(retry_mu_);
  absl::Time last_ticket_retry_ = absl::InfinitePast();  // ticker thread only

  absl::Mutex stop_mu_;
  bool stopping_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread ticker_;
};

}  // namespace evc::central
