#include "services/common/tokens.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "services/common/crypto.h"
#include "services/common/log.h"

namespace evc {
namespace {

constexpr size_t kMaxTokenBytes = 4096;

absl::Status Refused(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("access token refused: ", why));
}

// A base64url JSON object, or nullopt.
std::optional<nlohmann::json> DecodeJsonPart(absl::string_view part) {
  absl::StatusOr<std::string> raw = crypto::FromBase64Url(part);
  if (!raw.ok()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*raw, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  return j;
}

bool GetString(const nlohmann::json& j, const char* name, std::string* out) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

bool GetTime(const nlohmann::json& j, const char* name, absl::Time* out) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer()) return false;
  *out = absl::FromUnixSeconds(it->get<int64_t>());
  return true;
}

}  // namespace

absl::StatusOr<std::string> SignToken(const SigningKey& key, const Claims& claims) {
  const nlohmann::json header = {{"alg", "EdDSA"}, {"typ", "JWT"}, {"kid", key.key_id}};
  const nlohmann::json payload = {{"iss", kTokenIssuer},
                                  {"sub", claims.subject},
                                  {"role", claims.role},
                                  {"sid", claims.session_id},
                                  {"jti", claims.token_id},
                                  {"iat", absl::ToUnixSeconds(claims.issued_at)},
                                  {"exp", absl::ToUnixSeconds(claims.expires_at)}};
  const std::string signing_input =
      absl::StrCat(crypto::Base64Url(header.dump()), ".", crypto::Base64Url(payload.dump()));
  absl::StatusOr<std::string> signature = crypto::Ed25519Sign(key.private_key, signing_input);
  if (!signature.ok()) return signature.status();
  return absl::StrCat(signing_input, ".", crypto::Base64Url(*signature));
}

absl::StatusOr<Claims> ParseSignedToken(absl::string_view token, const VerifyingKeyLookup& keys) {
  if (token.empty()) {
    return Refused("missing: log in and send it as 'authorization: Bearer <token>'");
  }
  if (token.size() > kMaxTokenBytes) return Refused("too long");
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return Refused("not a JWT (header.payload.signature)");
  std::optional<nlohmann::json> header = DecodeJsonPart(parts[0]);
  std::string alg, key_id;
  if (!header || !GetString(*header, "alg", &alg) || !GetString(*header, "kid", &key_id)) {
    return Refused("malformed header");
  }
  // Only our algorithm: never "none", never an HMAC keyed with a public key.
  if (alg != "EdDSA") return Refused(absl::StrCat("algorithm '", alg, "' not accepted"));
  const VerifyingKey* key = keys(key_id);
  if (key == nullptr) return Refused(absl::StrCat("unknown signing key '", key_id, "'"));
  absl::StatusOr<std::string> signature = crypto::FromBase64Url(parts[2]);
  const absl::string_view signing_input = token.substr(0, parts[0].size() + 1 + parts[1].size());
  if (!signature.ok() || !crypto::Ed25519Verify(key->public_key, signing_input, *signature)) {
    return Refused("bad signature");
  }
  std::optional<nlohmann::json> payload = DecodeJsonPart(parts[1]);
  Claims claims;
  std::string issuer;
  if (!payload || !GetString(*payload, "iss", &issuer) || issuer != kTokenIssuer ||
      !GetString(*payload, "sub", &claims.subject) || claims.subject.empty() ||
      !GetString(*payload, "role", &claims.role) || !GetString(*payload, "sid", &claims.session_id) ||
      !GetString(*payload, "jti", &claims.token_id) || !GetTime(*payload, "iat", &claims.issued_at) ||
      !GetTime(*payload, "exp", &claims.expires_at)) {
    return Refused("malformed claims");
  }
  return claims;
}

TokenVerifier::TokenVerifier(TrustFetcher fetch, const Clock& clock, TokenVerifierOptions options)
    : fetch_(std::move(fetch)), clock_(clock), options_(options) {}

TokenVerifier::TokenVerifier(KeyFetcher fetch, const Clock& clock, absl::Duration refetch_interval)
    : TokenVerifier(
          [fetch = std::move(fetch)]() -> absl::StatusOr<PublishedTrust> {
            absl::StatusOr<std::vector<VerifyingKey>> keys = fetch();
            if (!keys.ok()) return keys.status();
            return PublishedTrust{std::move(*keys), {}};
          },
          clock, TokenVerifierOptions{.refetch_interval = refetch_interval}) {}

bool TokenVerifier::ClaimFetch(absl::Time now, bool unknown_key) {
  absl::MutexLock lock(&mu_);
  if (fetching_ || now < next_fetch_) return false;
  if (!unknown_key && now < refresh_due_) return false;
  fetching_ = true;
  next_fetch_ = now + options_.refetch_interval;
  return true;
}

void TokenVerifier::Fetch() {
  absl::StatusOr<PublishedTrust> fetched = fetch_();
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  fetching_ = false;
  if (!fetched.ok()) {
    log::Warn("cannot fetch token verification keys", {{"error", fetched.status().ToString()}});
    return;
  }
  // Replaced, not merged: a key auth no longer publishes is retired or
  // withdrawn, and verifies nothing from now on.
  keys_.clear();
  for (VerifyingKey& k : fetched->keys) keys_[k.key_id] = std::move(k);
  absl::erase_if(revoked_, [now](const auto& entry) { return entry.second < now; });
  for (const RevokedSession& r : fetched->revoked) {
    if (r.until < now) continue;
    absl::Time& until = revoked_[r.session_id];
    until = std::max(until, r.until);
  }
  fetched_at_ = now;
  refresh_due_ = now + options_.refresh_interval;
}

absl::StatusOr<Claims> TokenVerifier::Check(absl::string_view token, absl::Time now, bool* unknown_key) {
  absl::MutexLock lock(&mu_);
  if (fetched_at_ != absl::InfinitePast() && now - fetched_at_ > options_.max_staleness) {
    return Refused(absl::StrCat("the signing keys could not be confirmed with auth for ",
                                absl::FormatDuration(now - fetched_at_), "; try again later"));
  }
  auto lookup = [&](const std::string& key_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> const VerifyingKey* {
    auto it = keys_.find(key_id);
    if (it != keys_.end()) return &it->second;
    *unknown_key = true;
    return nullptr;
  };
  absl::StatusOr<Claims> claims = ParseSignedToken(token, lookup);
  if (!claims.ok()) return claims.status();
  if (claims->expires_at <= now) return Refused("expired; log in again or refresh");
  if (revoked_.contains(claims->session_id)) return Refused("session logged out or revoked");
  return claims;
}

absl::StatusOr<Claims> TokenVerifier::Verify(absl::string_view token) {
  const absl::Time now = clock_.Now();
  if (ClaimFetch(now, /*unknown_key=*/false)) Fetch();
  bool unknown_key = false;
  absl::StatusOr<Claims> claims = Check(token, now, &unknown_key);
  // A key not seen yet (rotated since the last fetch): ask auth, rate-limited.
  if (unknown_key) {
    // Claimed: fetch now. Another call's fetch in flight may bring the key: wait for it
    // rather than refuse a token that is only newer than the last fetch.
    if (ClaimFetch(now, /*unknown_key=*/true)) {
      Fetch();
    } else {
      WaitForFetchInFlight();
    }
    unknown_key = false;
    claims = Check(token, now, &unknown_key);
  }
  return claims;
}

void TokenVerifier::WaitForFetchInFlight() {
  absl::MutexLock lock(&mu_);
  auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !fetching_; };
  mu_.AwaitWithTimeout(absl::Condition(&done), kFetchWait);
}

void TokenVerifier::RevokeSession(const std::string& session_id, absl::Time until) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  // Tokens of a revoked session die at `until` anyway: forget older entries.
  absl::erase_if(revoked_, [now](const auto& entry) { return entry.second < now; });
  absl::Time& known = revoked_[session_id];
  known = std::max(known, until);
}

void TokenVerifier::KeysChanged() {
  absl::MutexLock lock(&mu_);
  next_fetch_ = absl::InfinitePast();
  refresh_due_ = absl::InfinitePast();
}

}  // namespace evc
