#include "services/auth/auth.h"

#include "services/common/crypto.h"
#include "services/common/kafka.h"
#include "services/common/log.h"
#include "services/common/proto_time.h"
#include "services/common/validation.h"

namespace evc::auth {
namespace {
constexpr size_t kKeyBytes = 32;
constexpr size_t kTokenBytes = 32;
constexpr absl::Duration kDefaultGrace = absl::Seconds(60);
constexpr absl::Duration kMaxGrace = absl::Hours(24);
}  // namespace

void Auth::Audit(AuditCategory category, const std::string& action, const Caller& who,
                 const std::string& cp_id, const std::string& outcome, nlohmann::json details) {
  audit_.Record({clock_.Now(), category, action, who.AuditName(), cp_id, outcome, std::move(details), who.source});
}

void Auth::Announce(const std::string& cp_id, events::v1::AuthEvent event) {
  *event.mutable_at() = ToProto(clock_.Now());
  if (absl::Status s = events_.Publish(topics::kAuthEvents, cp_id, event); !s.ok()) {
    log::Error("auth event not published", {{"cp_id", cp_id}, {"error", s.ToString()}});
  }
}

absl::StatusOr<v1::AuthenticateChargingPointResponse> Auth::Authenticate(
    const v1::AuthenticateChargingPointRequest& request, const std::string& source) {
  if (absl::Status s = ValidateCpId(request.cp_id()); !s.ok()) return s;
  if (request.secret().empty()) return absl::InvalidArgumentError("secret is required");
  const Caller who = Caller::ChargingPoint(request.cp_id(), source);
  absl::StatusOr<bool> blocked = store_.IsBlocked(request.cp_id());
  if (!blocked.ok()) return blocked.status();
  if (*blocked) {
    Audit(AuditCategory::kSecurity, "cp_auth_failed", who, request.cp_id(), "REJECTED",
          {{"reason", "revoked"}});
    return absl::PermissionDeniedError(
        "charging point revoked: an operator must reset its credentials before it can log in");
  }
  absl::StatusOr<common::v1::ChargingPoint> cp = check_(request.cp_id(), request.secret());
  if (!cp.ok()) {
    Audit(absl::IsUnauthenticated(cp.status()) ? AuditCategory::kSecurity : AuditCategory::kError,
          "cp_auth_failed", who, request.cp_id(), "FAILED",
          {{"reason", std::string(cp.status().message())}});
    return cp.status();
  }
  absl::StatusOr<std::optional<CpKey>> key = store_.ActiveKey(request.cp_id());
  if (!key.ok()) return key.status();
  if (!key->has_value()) {
    CpKey fresh{crypto::RandomId(), crypto::RandomBytes(kKeyBytes)};
    if (absl::Status s = store_.InsertKey(request.cp_id(), fresh); !s.ok()) return s;
    *key = fresh;
  }
  const std::string token = crypto::Base64Url(crypto::RandomBytes(kTokenBytes));
  TokenRecord record{request.cp_id(), (*key)->key_id, clock_.Now() + token_ttl_, false};
  if (absl::Status s = store_.InsertToken(crypto::Sha256(token), record); !s.ok()) return s;
  Audit(AuditCategory::kAuth, "cp_authenticated", who, request.cp_id(), "OK",
        {{"key_id", record.key_id}});
  v1::AuthenticateChargingPointResponse response;
  response.set_token(token);
  *response.mutable_expires_at() = ToProto(record.expires_at);
  response.set_key_id((*key)->key_id);
  response.set_key((*key)->key);
  return response;
}

absl::StatusOr<v1::ValidateChargingPointTokenResponse> Auth::Validate(const std::string& token) {
  const absl::Status refused = absl::UnauthenticatedError("invalid, expired or revoked CP token");
  if (token.empty() || token.size() > 512) return refused;
  absl::StatusOr<TokenRecord> record = store_.FindToken(crypto::Sha256(token));
  if (absl::IsNotFound(record.status())) return refused;
  if (!record.ok()) return record.status();
  if (record->revoked || record->expires_at <= clock_.Now()) return refused;
  v1::ValidateChargingPointTokenResponse response;
  response.set_cp_id(record->cp_id);
  response.set_key_id(record->key_id);
  *response.mutable_expires_at() = ToProto(record->expires_at);
  return response;
}

absl::StatusOr<v1::RevokeChargingPointResponse> Auth::Revoke(const std::string& cp_id,
                                                             const Caller& who,
                                                             const std::string& reason, bool block) {
  if (absl::Status s = ValidateCpId(cp_id); !s.ok()) return s;
  if (block) {
    if (absl::Status s = store_.SetBlocked(cp_id, true); !s.ok()) return s;
  }
  absl::StatusOr<std::pair<int, int>> counts = store_.RevokeAll(cp_id);
  if (!counts.ok()) return counts.status();
  events::v1::AuthEvent event;
  event.mutable_cp_revoked()->set_cp_id(cp_id);
  event.mutable_cp_revoked()->set_reason(reason);
  Announce(cp_id, std::move(event));
  Audit(AuditCategory::kSecurity, "cp_revoked", who, cp_id, "OK",
        {{"reason", reason}, {"tokens", counts->first}, {"keys", counts->second}});
  v1::RevokeChargingPointResponse response;
  response.set_revoked_tokens(counts->first);
  response.set_revoked_keys(counts->second);
  return response;
}

absl::Status Auth::Unblock(const std::string& cp_id) { return store_.SetBlocked(cp_id, false); }

absl::StatusOr<v1::RotateChargingPointKeyResponse> Auth::RotateKey(
    const v1::RotateChargingPointKeyRequest& request, const Caller& who) {
  if (absl::Status s = ValidateCpId(request.cp_id()); !s.ok()) return s;
  absl::Duration grace = request.has_grace() ? FromProto(request.grace()) : kDefaultGrace;
  if (grace < absl::ZeroDuration() || grace > kMaxGrace) {
    return absl::InvalidArgumentError("grace must be between 0 and 24 h");
  }
  absl::StatusOr<std::vector<CpKey>> current = store_.ValidKeys(request.cp_id(), clock_.Now());
  if (!current.ok()) return current.status();
  if (current->empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "charging point '", request.cp_id(), "' has no key yet (it never authenticated, or was revoked)"));
  }
  CpKey fresh{crypto::RandomId(), crypto::RandomBytes(kKeyBytes)};
  const absl::Time old_until = clock_.Now() + grace;
  if (absl::Status s = store_.RotateKey(request.cp_id(), fresh, old_until); !s.ok()) return s;
  events::v1::AuthEvent event;
  event.mutable_cp_key_rotated()->set_cp_id(request.cp_id());
  event.mutable_cp_key_rotated()->set_new_key_id(fresh.key_id);
  Announce(request.cp_id(), std::move(event));
  Audit(AuditCategory::kSecurity, "cp_key_rotated", who, request.cp_id(), "OK",
        {{"new_key_id", fresh.key_id}, {"grace_s", absl::ToInt64Seconds(grace)}});
  v1::RotateChargingPointKeyResponse response;
  response.set_new_key_id(fresh.key_id);
  *response.mutable_old_keys_valid_until() = ToProto(old_until);
  return response;
}

absl::StatusOr<v1::GetChargingPointKeysResponse> Auth::Keys(const std::string& cp_id) {
  if (absl::Status s = ValidateCpId(cp_id); !s.ok()) return s;
  absl::StatusOr<std::vector<CpKey>> keys = store_.ValidKeys(cp_id, clock_.Now());
  if (!keys.ok()) return keys.status();
  v1::GetChargingPointKeysResponse response;
  for (const CpKey& k : *keys) {
    auto* out = response.add_keys();
    out->set_key_id(k.key_id);
    out->set_key(k.key);
    if (k.not_after != absl::InfiniteFuture()) *out->mutable_not_after() = ToProto(k.not_after);
  }
  return response;
}

}  // namespace evc::auth
