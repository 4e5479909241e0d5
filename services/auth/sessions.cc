#include "services/auth/sessions.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/common/auth_client.h"
#include "services/common/charge_rule.h"
#include "services/common/crypto.h"
#include "services/common/kafka.h"
#include "services/common/log.h"
#include "services/common/message_auth.h"
#include "services/common/proto_time.h"
#include "services/common/validation.h"

namespace evc::auth {
namespace {
constexpr size_t kRefreshTokenBytes = 32;
constexpr size_t kMaxSecretInput = 1024;
}  // namespace

Sessions::Sessions(SessionStore& store, PasswordChecker& check, Publisher& events, AuditSink& audit,
                   const Clock& clock, SessionOptions options)
    : store_(store), check_(check), events_(events), audit_(audit), clock_(clock),
      options_(options),
      verifier_([this]() -> absl::StatusOr<PublishedTrust> {
        absl::StatusOr<v1::GetSigningKeysResponse> keys = PublicKeys();
        if (!keys.ok()) return keys.status();
        absl::StatusOr<v1::ListRevokedSessionsResponse> revoked = RevokedSessions();
        if (!revoked.ok()) return revoked.status();
        return TrustFromAuth(*keys, *revoked);
      }, clock) {}

absl::Status Sessions::Start() {
  absl::StatusOr<std::vector<StoredSigningKey>> keys = store_.SigningKeys(clock_.Now());
  if (!keys.ok()) return keys.status();
  if (keys->empty()) {
    crypto::Ed25519KeyPair pair = crypto::NewEd25519KeyPair();
    StoredSigningKey fresh{crypto::RandomId(), pair.private_key, pair.public_key};
    if (absl::Status s = store_.AddSigningKey(fresh, clock_.Now()); !s.ok()) return s;
    keys->push_back(fresh);
    log::Info("created the first token-signing key", {{"key_id", fresh.key_id}});
  }
  // The newest unretired key signs.
  auto newest = std::find_if(keys->rbegin(), keys->rend(), [](const StoredSigningKey& k) {
    return k.retired_at == absl::InfiniteFuture();
  });
  const StoredSigningKey& chosen = newest != keys->rend() ? *newest : keys->back();
  absl::MutexLock lock(&mu_);
  signing_ = {chosen.key_id, chosen.private_key};
  return absl::OkStatus();
}

void Sessions::Audit(AuditCategory category, const std::string& action, const std::string& actor,
                     const std::string& source, const std::string& outcome, nlohmann::json details) {
  audit_.Record({clock_.Now(), category, action, actor, "", outcome, std::move(details), source});
}

absl::Status Sessions::CheckNotLocked(const std::string& username, const std::string& source) {
  absl::StatusOr<LoginThrottle> throttle = store_.GetThrottle(username);
  if (!throttle.ok()) return throttle.status();
  const absl::Time now = clock_.Now();
  if (throttle->locked_until <= now) return absl::OkStatus();
  const int64_t wait = std::max<int64_t>(1, absl::ToInt64Seconds(throttle->locked_until - now));
  Audit(AuditCategory::kSecurity, "login_locked_out", username, source, "REJECTED",
        {{"failures", throttle->failures}, {"retry_after_s", wait}});
  return absl::ResourceExhaustedError(absl::StrCat(
      "too many failed logins for '", username, "': locked; try again in ", wait, " s"));
}

void Sessions::LoginFailed(const std::string& username, const std::string& source,
                           const std::string& why) {
  absl::StatusOr<int> failures = store_.RecordFailure(username);
  nlohmann::json details = {{"reason", why}};
  if (failures.ok()) {
    details["consecutive_failures"] = *failures;
    if (*failures >= options_.lock_after_failures) {
      const int doublings = std::min(*failures - options_.lock_after_failures, 20);
      const absl::Duration lock = std::min(options_.first_lock * (1 << doublings), options_.max_lock);
      if (store_.LockUntil(username, clock_.Now() + lock).ok()) {
        details["locked_for_s"] = absl::ToInt64Seconds(lock);
      }
    }
  }
  Audit(AuditCategory::kSecurity, "login_failed", username, source, "FAILED", std::move(details));
}

absl::StatusOr<v1::TokenPair> Sessions::Login(const v1::LoginRequest& request,
                                              const std::string& source) {
  if (!ValidateDriverId(request.username()).ok()) {
    return absl::InvalidArgumentError("username is missing or malformed");
  }
  if (request.password().empty() || request.password().size() > kMaxSecretInput) {
    return absl::InvalidArgumentError("password is required");
  }
  if (absl::Status s = CheckNotLocked(request.username(), source); !s.ok()) return s;
  absl::StatusOr<registry::v1::Account> account =
      check_.CheckPassword(request.username(), request.password());
  if (absl::IsUnauthenticated(account.status())) {
    LoginFailed(request.username(), source, std::string(account.status().message()));
    return absl::UnauthenticatedError("unknown username or wrong password");
  }
  if (!account.ok()) return account.status();
  (void)store_.ClearFailures(request.username());
  const std::string refresh_token = crypto::Base64Url(crypto::RandomBytes(kRefreshTokenBytes));
  Session session{crypto::RandomId(), account->username(), account->role(),
                  clock_.Now() + options_.refresh_ttl};
  if (absl::Status s = store_.InsertSession(session, crypto::Sha256(refresh_token)); !s.ok()) return s;
  Audit(AuditCategory::kAuth, "login", session.username, source, "OK",
        {{"role", session.role}, {"session_id", session.session_id}});
  return Issue(session, refresh_token);
}

absl::StatusOr<v1::TokenPair> Sessions::Refresh(const v1::RefreshRequest& request,
                                                const std::string& source) {
  const absl::Status refused = absl::UnauthenticatedError("refresh token unknown, spent, revoked or expired; log in again");
  if (request.refresh_token().empty() || request.refresh_token().size() > kMaxSecretInput) return refused;
  const std::string next = crypto::Base64Url(crypto::RandomBytes(kRefreshTokenBytes));
  const absl::Time now = clock_.Now();
  absl::StatusOr<Session> session = store_.RotateRefresh(
      crypto::Sha256(request.refresh_token()), crypto::Sha256(next), now + options_.refresh_ttl, now);
  if (absl::IsNotFound(session.status())) {
    Audit(AuditCategory::kSecurity, "refresh_refused", "anonymous", source, "REJECTED");
    return refused;
  }
  if (!session.ok()) return session.status();
  Audit(AuditCategory::kAuth, "token_refreshed", session->username, source, "OK",
        {{"session_id", session->session_id}});
  return Issue(*session, next);
}

absl::StatusOr<v1::TokenPair> Sessions::Issue(const Session& session, const std::string& refresh_token) {
  const absl::Time now = clock_.Now();
  Claims claims{session.username, session.role, session.session_id, crypto::RandomId(), now,
                std::min(now + options_.access_ttl, session.expires_at)};
  SigningKey key;
  {
    absl::MutexLock lock(&mu_);
    key = signing_;
  }
  absl::StatusOr<std::string> access = SignToken(key, claims);
  if (!access.ok()) return access.status();
  v1::TokenPair pair;
  pair.set_access_token(*access);
  *pair.mutable_access_expires_at() = ToProto(claims.expires_at);
  pair.set_refresh_token(refresh_token);
  *pair.mutable_refresh_expires_at() = ToProto(session.expires_at);
  pair.set_username(session.username);
  pair.set_role(session.role);
  return pair;
}

absl::Status Sessions::Logout(const Caller& caller) {
  absl::StatusOr<Session> session = store_.RevokeSession(caller.session_id);
  if (absl::IsNotFound(session.status())) return absl::OkStatus();  // already over
  if (!session.ok()) return session.status();
  verifier_.RevokeSession(session->session_id, session->expires_at);
  events::v1::AuthEvent event;
  *event.mutable_at() = ToProto(clock_.Now());
  auto* revoked = event.mutable_session_revoked();
  revoked->set_session_id(session->session_id);
  revoked->set_subject(session->username);
  *revoked->mutable_expires_at() = ToProto(caller.expires_at);
  if (absl::Status s = events_.Publish(topics::kAuthEvents, session->username, event); !s.ok()) {
    log::Error("session revocation not announced", {{"error", s.ToString()}});
  }
  Audit(AuditCategory::kAuth, "logout", caller.AuditName(), caller.source, "OK",
        {{"session_id", session->session_id}});
  return absl::OkStatus();
}

absl::StatusOr<v1::GetSigningKeysResponse> Sessions::PublicKeys() {
  absl::StatusOr<std::vector<StoredSigningKey>> keys = store_.SigningKeys(clock_.Now());
  if (!keys.ok()) return keys.status();
  v1::GetSigningKeysResponse response;
  for (const StoredSigningKey& k : *keys) {
    auto* out = response.add_keys();
    out->set_key_id(k.key_id);
    out->set_algorithm("EdDSA");
    out->set_public_key(k.public_key);
  }
  return response;
}

absl::StatusOr<v1::ListRevokedSessionsResponse> Sessions::RevokedSessions() {
  absl::StatusOr<std::vector<RevokedSession>> revoked =
      store_.RevokedSessions(clock_.Now(), options_.access_ttl);
  if (!revoked.ok()) return revoked.status();
  v1::ListRevokedSessionsResponse response;
  for (const RevokedSession& r : *revoked) {
    auto* out = response.add_sessions();
    out->set_session_id(r.session_id);
    *out->mutable_until() = ToProto(r.until);
  }
  return response;
}

absl::StatusOr<v1::RotateSigningKeyResponse> Sessions::RotateSigningKey(const Caller& caller) {
  crypto::Ed25519KeyPair pair = crypto::NewEd25519KeyPair();
  StoredSigningKey fresh{crypto::RandomId(), pair.private_key, pair.public_key};
  // Tokens signed by the old keys stay valid for as long as they live.
  if (absl::Status s = store_.AddSigningKey(fresh, clock_.Now() + options_.access_ttl); !s.ok()) return s;
  {
    absl::MutexLock lock(&mu_);
    signing_ = {fresh.key_id, fresh.private_key};
  }
  verifier_.KeysChanged();
  events::v1::AuthEvent event;
  *event.mutable_at() = ToProto(clock_.Now());
  event.mutable_signing_key_rotated()->set_key_id(fresh.key_id);
  (void)events_.Publish(topics::kAuthEvents, "signing-keys", event);
  Audit(AuditCategory::kSecurity, "signing_key_rotated", caller.AuditName(), caller.source, "OK",
        {{"key_id", fresh.key_id}});
  v1::RotateSigningKeyResponse response;
  response.set_key_id(fresh.key_id);
  return response;
}

SigningKey Sessions::CurrentSigningKey() {
  absl::MutexLock lock(&mu_);
  return signing_;
}

absl::StatusOr<v1::NotificationKey> Sessions::NotificationKeyFor(const std::string& driver_id) {
  if (!ValidateDriverId(driver_id).ok()) return absl::InvalidArgumentError("driver_id is missing or malformed");
  absl::StatusOr<NotificationKey> key = DeriveNotificationKey(CurrentSigningKey(), driver_id);
  if (!key.ok()) return key.status();
  v1::NotificationKey out;
  out.set_driver_id(driver_id);
  out.set_key_id(key->key_id);
  out.set_key(key->key);
  return out;
}

absl::StatusOr<v1::IssueChargeAssertionResponse> Sessions::IssueChargeAssertion(
    const Caller& caller, const v1::IssueChargeAssertionRequest& request) {
  if (absl::Status s = MayChargeAs(caller, ""); !s.ok()) return s;
  if (absl::Status s = ValidateCpId(request.cp_id()); !s.ok()) return s;
  if (request.request_id().empty() || request.request_id().size() > 128) {
    return absl::InvalidArgumentError("request_id is required (at most 128 characters)");
  }
  const absl::Time now = clock_.Now();
  events::v1::ChargeAssertion assertion;
  assertion.set_assertion_id(crypto::RandomId());
  assertion.set_subject(caller.name);
  assertion.set_role(caller.role());
  assertion.set_session_id(caller.session_id);
  assertion.set_cp_id(request.cp_id());
  assertion.set_request_id(request.request_id());
  *assertion.mutable_issued_at() = ToProto(now);
  // Never beyond the access token it was asked with.
  const absl::Time expires = std::min(now + options_.assertion_ttl, caller.expires_at);
  *assertion.mutable_expires_at() = ToProto(expires);
  absl::StatusOr<events::v1::Signed> signed_assertion = SignMessage(CurrentSigningKey(), assertion);
  if (!signed_assertion.ok()) return signed_assertion.status();
  absl::StatusOr<v1::NotificationKey> key = NotificationKeyFor(caller.name);
  if (!key.ok()) return key.status();
  Audit(AuditCategory::kAuth, "charge_assertion_issued", caller.AuditName(), caller.source, "OK",
        {{"cp_id", request.cp_id()}, {"request_id", request.request_id()},
         {"assertion_id", assertion.assertion_id()}});
  v1::IssueChargeAssertionResponse response;
  response.set_assertion(signed_assertion->SerializeAsString());
  *response.mutable_expires_at() = ToProto(expires);
  *response.mutable_notification_key() = *std::move(key);
  return response;
}

}  // namespace evc::auth
