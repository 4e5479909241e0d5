#include "services/auth/auth.h"

#include "services/common/crypto.h"
#include "services/common/log.h"
#include "services/common/proto_time.h"
#include "services/common/validation.h"

namespace evc::auth {
namespace {
constexpr size_t kKeyBytes = 32;
constexpr size_t kTokenBytes = 32;
}  // namespace

absl::StatusOr<v1::AuthenticateChargingPointResponse> Auth::Authenticate(
    const v1::AuthenticateChargingPointRequest& request) {
  if (absl::Status s = ValidateCpId(request.cp_id()); !s.ok()) return s;
  if (request.secret().empty()) return absl::InvalidArgumentError("secret is required");
  absl::StatusOr<common::v1::ChargingPoint> cp = check_(request.cp_id(), request.secret());
  if (!cp.ok()) {
    log::Warn("cp authentication refused",
              {{"cp_id", request.cp_id()}, {"error", std::string(cp.status().message())}});
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
  log::Info("cp authenticated", {{"cp_id", request.cp_id()}, {"key_id", record.key_id}});
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

absl::StatusOr<v1::RevokeChargingPointResponse> Auth::Revoke(const std::string& cp_id) {
  if (absl::Status s = ValidateCpId(cp_id); !s.ok()) return s;
  absl::StatusOr<std::pair<int, int>> counts = store_.RevokeAll(cp_id);
  if (!counts.ok()) return counts.status();
  log::Info("cp revoked", {{"cp_id", cp_id}, {"tokens", counts->first}, {"keys", counts->second}});
  v1::RevokeChargingPointResponse response;
  response.set_revoked_tokens(counts->first);
  response.set_revoked_keys(counts->second);
  return response;
}

}  // namespace evc::auth
