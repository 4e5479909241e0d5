#pragma once
// Message-level protection of Kafka traffic, which must hold on a broker that
// authenticates nobody (the dev broker):
//  - Signed messages (events::v1::Signed): the registry's and auth's events
//    and the charge assertions auth issues to drivers are signed with their
//    owner's Ed25519 key; consumers verify with the public keys they fetch
//    from the owner over gRPC, and refuse anything unsigned or badly signed.
//  - Sealed driver notifications (events::v1::SealedNotification): central
//    encrypts each DriverNotification with its driver's notification key
//    (AES-256-GCM, header as associated data), which only that driver and
//    central get from auth.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "evc/auth/v1/auth.grpc.pb.h"
#include "evc/events/v1/events.pb.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "services/common/audit.h"
#include "services/common/clock.h"
#include "services/common/publisher.h"
#include "services/common/tokens.h"

namespace evc {

// `message` serialised and signed; its full type name is signed with it, so
// a signature over one kind of message never vouches for another.
absl::StatusOr<events::v1::Signed> SignMessage(const SigningKey& key,
                                               const google::protobuf::Message& message);

// An owner's public keys by id, fetched again when an unknown id shows up
// (at most once per `refetch_interval`). Thread-safe.
class VerifyingKeys {
 public:
  using Fetcher = std::function<absl::StatusOr<std::vector<VerifyingKey>>()>;
  VerifyingKeys(std::string owner, Fetcher fetch, const Clock& clock,
                absl::Duration refetch_interval = absl::Milliseconds(250));
  // NOT_FOUND for a key the owner does not publish (asked of it just now),
  // UNAVAILABLE while its keys cannot be fetched or were fetched less than
  // `refetch_interval` ago: the bound on what a forged key id costs.
  absl::StatusOr<VerifyingKey> Find(const std::string& key_id);
  const std::string& owner() const { return owner_; }

 private:
  const std::string owner_;
  Fetcher fetch_;
  const Clock& clock_;
  const absl::Duration refetch_interval_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, VerifyingKey> keys_ ABSL_GUARDED_BY(mu_);
  absl::Time next_fetch_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Status last_fetch_ ABSL_GUARDED_BY(mu_);
};

// Parses `bytes` as a Signed message of `out`'s type, verifies it under
// `keys` and parses its payload into `out`. UNAUTHENTICATED with the reason
// for anything unsigned, of another type, signed by an unknown key or with a
// bad signature.
absl::Status OpenSigned(absl::string_view bytes, VerifyingKeys& keys, google::protobuf::Message* out);
// The same for a consumer: while the owner's keys cannot be fetched (it is
// starting), retries with backoff up to `patience` instead of refusing an
// event that may be genuine; UNAVAILABLE after that.
absl::Status OpenSignedEvent(absl::string_view bytes, VerifyingKeys& keys, google::protobuf::Message* out,
                             absl::Duration patience = absl::Seconds(30));

// Signs every message before handing it to `inner`: how the registry and auth
// publish their events. `key` gives the current signing key.
class SigningPublisher : public Publisher {
 public:
  SigningPublisher(Publisher& inner, std::function<SigningKey()> key)
      : inner_(inner), key_(std::move(key)) {}
  absl::Status Publish(const std::string& topic, const std::string& key,
                       const google::protobuf::Message& message, Delivered on_delivery) override;

 private:
  Publisher& inner_;
  std::function<SigningKey()> key_;
};

// The registry's event-verifying keys (its GetEventSigningKeys) and auth's
// (its GetSigningKeys: auth signs its events and charge assertions with its
// token-signing key).
std::unique_ptr<VerifyingKeys> RegistryEventKeys(registry::v1::RegistryService::StubInterface& registry,
                                                 const Clock& clock);
std::unique_ptr<VerifyingKeys> AuthEventKeys(auth::v1::AuthService::StubInterface& auth, const Clock& clock);

// A refused signed event: logged, and audited as SECURITY when `audit` is
// given. The consumer skips the event (it is never retried).
void RefuseEvent(const KafkaMessage& m, const absl::Status& why, const std::string& consumer,
                 AuditSink* audit, const Clock& clock);

// A driver's notification key (AES-256) and its id, as auth hands it out.
struct NotificationKey {
  std::string key_id;
  std::string key;
};

// The key of `driver_id` derived from `signing` (auth's current token-signing
// key; its id is the notification key's id) with HKDF-SHA256: auth alone
// holds the input, and each driver's key is independent of the others.
absl::StatusOr<NotificationKey> DeriveNotificationKey(const SigningKey& signing,
                                                      const std::string& driver_id);

absl::StatusOr<events::v1::SealedNotification> SealNotification(
    const NotificationKey& key, const events::v1::DriverNotification& notification);
// UNAUTHENTICATED unless the envelope opens under `key` for `driver_id`.
absl::StatusOr<events::v1::DriverNotification> OpenNotification(
    const NotificationKey& key, const std::string& driver_id,
    const events::v1::SealedNotification& sealed);

// Claims of a charge assertion, checked against the request that carries it.
// UNAUTHENTICATED/PERMISSION_DENIED with the reason.
absl::StatusOr<events::v1::ChargeAssertion> VerifyChargeAssertion(
    absl::string_view signed_assertion, VerifyingKeys& auth_keys, const std::string& cp_id,
    const std::string& request_id, const std::string& driver_id, absl::Time now);

// Remembers assertion ids until they expire, so each is accepted once.
// Bounded: at most `capacity` ids (beyond, new ones are refused until older
// ones expire). Thread-safe.
class AssertionGuard {
 public:
  explicit AssertionGuard(size_t capacity = 200000) : capacity_(capacity) {}
  // ALREADY_EXISTS for an id seen before, RESOURCE_EXHAUSTED when full.
  absl::Status Accept(const std::string& assertion_id, absl::Time expires_at, absl::Time now);

 private:
  const size_t capacity_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, absl::Time> seen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evc
