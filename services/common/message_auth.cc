#include "services/common/message_auth.h"

#include "absl/strings/str_cat.h"
#include "services/common/backoff.h"
#include "services/common/charge_rule.h"
#include "services/common/crypto.h"
#include "services/common/log.h"
#include "services/common/proto_time.h"
#include "services/common/process.h"

namespace evc {
namespace {

// The longest-lived assertion accepted, whatever its claims say.
constexpr absl::Duration kMaxAssertionLife = absl::Minutes(5);
constexpr size_t kMaxSignedBytes = 1 << 20;

// Domain-separated: never a JWT signing input (those are base64url text) and
// never another type's or another key's bytes.
std::string SignedBytes(absl::string_view type, absl::string_view key_id, absl::string_view payload) {
  return absl::StrCat("evc-signed-v1", absl::string_view("\0", 1), type, absl::string_view("\0", 1),
                      key_id, absl::string_view("\0", 1), payload);
}

std::string NotificationAad(absl::string_view driver_id, absl::string_view key_id) {
  return absl::StrCat("evc-notification-v1", absl::string_view("\0", 1), driver_id,
                      absl::string_view("\0", 1), key_id);
}

absl::Status Refused(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("signed message refused: ", why));
}

}  // namespace

absl::StatusOr<events::v1::Signed> SignMessage(const SigningKey& key,
                                               const google::protobuf::Message& message) {
  events::v1::Signed out;
  out.set_type(message.GetDescriptor()->full_name());
  out.set_key_id(key.key_id);
  out.set_payload(message.SerializeAsString());
  absl::StatusOr<std::string> signature =
      crypto::Ed25519Sign(key.private_key, SignedBytes(out.type(), out.key_id(), out.payload()));
  if (!signature.ok()) return signature.status();
  out.set_signature(*signature);
  return out;
}

VerifyingKeys::VerifyingKeys(std::string owner, Fetcher fetch, const Clock& clock,
                             absl::Duration refetch_interval)
    : owner_(std::move(owner)), fetch_(std::move(fetch)), clock_(clock),
      refetch_interval_(refetch_interval) {}

absl::StatusOr<VerifyingKey> VerifyingKeys::Find(const std::string& key_id) {
  absl::MutexLock lock(&mu_);
  auto it = keys_.find(key_id);
  if (it != keys_.end()) return it->second;
  const absl::Time now = clock_.Now();
  const bool fetched_now = now >= next_fetch_;
  if (fetched_now) {
    next_fetch_ = now + refetch_interval_;
    absl::StatusOr<std::vector<VerifyingKey>> fetched = fetch_();
    last_fetch_ = fetched.status();
    if (fetched.ok()) {
      // Only what the owner publishes now: a key it dropped verifies nothing more.
      keys_.clear();
      for (VerifyingKey& k : *fetched) keys_[k.key_id] = std::move(k);
    } else {
      log::Warn("cannot fetch message verification keys",
                {{"owner", owner_}, {"error", fetched.status().ToString()}});
    }
    it = keys_.find(key_id);
    if (it != keys_.end()) return it->second;
  }
  if (!last_fetch_.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot fetch ", owner_, "'s keys: ", last_fetch_.message()));
  }
  // Keys fetched just before the owner rotated: asked again once the interval
  // has passed (OpenSignedEvent waits for it), so a genuine event signed with
  // the new key is not refused for good (a logout was lost that way).
  if (!fetched_now) {
    return absl::UnavailableError(absl::StrCat("key '", key_id, "' is not among ", owner_,
                                               "'s keys fetched last; they are fetched again shortly"));
  }
  return absl::NotFoundError(absl::StrCat("key '", key_id, "' is not one of ", owner_, "'s"));
}

absl::Status OpenSigned(absl::string_view bytes, VerifyingKeys& keys, google::protobuf::Message* out) {
  if (bytes.size() > kMaxSignedBytes) return Refused("too large");
  events::v1::Signed signed_message;
  if (!signed_message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      signed_message.signature().empty()) {
    return Refused("not signed");
  }
  const std::string& want = out->GetDescriptor()->full_name();
  if (signed_message.type() != want) {
    return Refused(absl::StrCat("a '", signed_message.type(), "' where a '", want, "' was expected"));
  }
  absl::StatusOr<VerifyingKey> key = keys.Find(signed_message.key_id());
  if (absl::IsUnavailable(key.status())) return key.status();
  if (!key.ok()) return Refused(key.status().message());
  if (!crypto::Ed25519Verify(key->public_key,
                             SignedBytes(signed_message.type(), signed_message.key_id(),
                                         signed_message.payload()),
                             signed_message.signature())) {
    return Refused(absl::StrCat("bad signature for ", keys.owner(), "'s key '", key->key_id, "'"));
  }
  if (!out->ParseFromString(signed_message.payload())) return Refused("signed payload does not parse");
  return absl::OkStatus();
}

absl::Status OpenSignedEvent(absl::string_view bytes, VerifyingKeys& keys, google::protobuf::Message* out,
                             absl::Duration patience) {
  absl::Status result;
  absl::Status waited = RetryWithBackoff(
      absl::StrCat("fetch ", keys.owner(), "'s event keys"),
      [&] {
        result = OpenSigned(bytes, keys, out);
        return absl::IsUnavailable(result) ? result : absl::OkStatus();
      },
      absl::Now() + patience, &ShutdownRequested());
  return waited.ok() ? result : waited;
}

absl::Status SigningPublisher::Publish(const std::string& topic, const std::string& key,
                                       const google::protobuf::Message& message, Delivered on_delivery) {
  absl::StatusOr<events::v1::Signed> signed_message = SignMessage(key_(), message);
  if (!signed_message.ok()) return signed_message.status();
  return inner_.Publish(topic, key, *signed_message, std::move(on_delivery));
}

namespace {
template <typename Response, typename Stub, typename Request>
VerifyingKeys::Fetcher FetchKeys(const std::string& owner, Stub& stub,
                                 grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*)) {
  return [owner, &stub, rpc]() -> absl::StatusOr<std::vector<VerifyingKey>> {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    Response response;
    grpc::Status status = (stub.*rpc)(&context, Request(), &response);
    if (!status.ok()) return absl::UnavailableError(absl::StrCat(owner, ": ", status.error_message()));
    std::vector<VerifyingKey> keys;
    for (const auto& k : response.keys()) {
      if (k.algorithm() == "EdDSA") keys.push_back({k.key_id(), k.public_key()});
    }
    return keys;
  };
}
}  // namespace

std::unique_ptr<VerifyingKeys> RegistryEventKeys(registry::v1::RegistryService::StubInterface& registry,
                                                 const Clock& clock) {
  return std::make_unique<VerifyingKeys>(
      "registry", FetchKeys("registry", registry, &registry::v1::RegistryService::StubInterface::GetEventSigningKeys),
      clock);
}

std::unique_ptr<VerifyingKeys> AuthEventKeys(auth::v1::AuthService::StubInterface& auth, const Clock& clock) {
  return std::make_unique<VerifyingKeys>(
      "auth", FetchKeys("auth", auth, &auth::v1::AuthService::StubInterface::GetSigningKeys), clock);
}

void RefuseEvent(const KafkaMessage& m, const absl::Status& why, const std::string& consumer,
                 AuditSink* audit, const Clock& clock) {
  log::Error("SECURITY: refused an event its owner did not sign; skipped",
             {{"category", "SECURITY"}, {"consumer", consumer}, {"topic", m.topic},
              {"partition", m.partition}, {"offset", m.offset}, {"reason", std::string(why.message())}});
  if (audit == nullptr) return;
  audit->Record({clock.Now(), AuditCategory::kSecurity, "event_refused", consumer, "", "REJECTED",
                 {{"reason", std::string(why.message())}, {"partition", m.partition}, {"offset", m.offset},
                  {"key", m.key}},
                 m.topic});
}

absl::StatusOr<NotificationKey> DeriveNotificationKey(const SigningKey& signing,
                                                      const std::string& driver_id) {
  if (driver_id.empty()) return absl::InvalidArgumentError("a notification key needs a driver");
  absl::StatusOr<std::string> key =
      crypto::HkdfSha256(signing.private_key, "evc-driver-notification-key-v1", driver_id, 32);
  if (!key.ok()) return key.status();
  return NotificationKey{signing.key_id, *std::move(key)};
}

absl::StatusOr<events::v1::SealedNotification> SealNotification(
    const NotificationKey& key, const events::v1::DriverNotification& notification) {
  absl::StatusOr<crypto::Sealed> sealed = crypto::AesGcmSeal(
      key.key, NotificationAad(notification.driver_id(), key.key_id), notification.SerializeAsString());
  if (!sealed.ok()) return sealed.status();
  events::v1::SealedNotification out;
  out.set_driver_id(notification.driver_id());
  out.set_key_id(key.key_id);
  out.set_nonce(std::move(sealed->nonce));
  out.set_ciphertext(std::move(sealed->ciphertext));
  out.set_tag(std::move(sealed->tag));
  return out;
}

absl::StatusOr<events::v1::DriverNotification> OpenNotification(
    const NotificationKey& key, const std::string& driver_id,
    const events::v1::SealedNotification& sealed) {
  if (sealed.driver_id() != driver_id || sealed.key_id() != key.key_id) {
    return absl::UnauthenticatedError("notification for another driver or key");
  }
  absl::StatusOr<std::string> plain = crypto::AesGcmOpen(
      key.key, NotificationAad(driver_id, key.key_id), {sealed.nonce(), sealed.ciphertext(), sealed.tag()});
  if (!plain.ok()) return plain.status();
  events::v1::DriverNotification n;
  if (!n.ParseFromString(*plain) || n.driver_id() != driver_id) {
    return absl::UnauthenticatedError("sealed notification content is not this driver's");
  }
  return n;
}

absl::StatusOr<events::v1::ChargeAssertion> VerifyChargeAssertion(
    absl::string_view signed_assertion, VerifyingKeys& auth_keys, const std::string& cp_id,
    const std::string& request_id, const std::string& driver_id, absl::Time now) {
  if (signed_assertion.empty()) {
    return absl::UnauthenticatedError(
        "charge request without a charge assertion (access tokens are not accepted on Kafka): "
        "ask auth for one (IssueChargeAssertion)");
  }
  events::v1::ChargeAssertion a;
  if (absl::Status s = OpenSigned(signed_assertion, auth_keys, &a); !s.ok()) return s;
  const absl::Time expires = FromProto(a.expires_at());
  if (a.assertion_id().empty() || a.subject().empty()) {
    return absl::UnauthenticatedError("charge assertion without an id or subject");
  }
  if (expires <= now) return absl::UnauthenticatedError("charge assertion expired: ask for a new one");
  if (expires - FromProto(a.issued_at()) > kMaxAssertionLife) {
    return absl::UnauthenticatedError("charge assertion lives too long");
  }
  if (a.cp_id() != cp_id || a.request_id() != request_id) {
    return absl::PermissionDeniedError(absl::StrCat("the charge assertion is for request '", a.request_id(),
                                                    "' at '", a.cp_id(), "', not for this request"));
  }
  absl::StatusOr<Caller> asserted = CallerFromClaims(
      {a.subject(), a.role(), a.session_id(), a.assertion_id(), FromProto(a.issued_at()), expires},
      "kafka");
  if (!asserted.ok()) return asserted.status();
  if (absl::Status s = MayChargeAs(*asserted, driver_id, "charge assertion"); !s.ok()) return s;
  return a;
}

absl::Status AssertionGuard::Accept(const std::string& assertion_id, absl::Time expires_at, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (seen_.size() >= capacity_) {
    absl::erase_if(seen_, [now](const auto& entry) { return entry.second <= now; });
  }
  if (seen_.contains(assertion_id)) {
    return absl::AlreadyExistsError("charge assertion already used (a replay)");
  }
  if (seen_.size() >= capacity_) {
    return absl::ResourceExhaustedError("too many charge assertions in flight; try again shortly");
  }
  seen_[assertion_id] = expires_at;
  return absl::OkStatus();
}

}  // namespace evc
