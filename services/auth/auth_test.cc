#include "services/auth/auth.h"

#include <map>
#include <set>

#include <gtest/gtest.h>

#include "services/common/kafka.h"

namespace evc::auth {
namespace {

class FakeStore : public AuthStore {
 public:
  absl::StatusOr<std::optional<CpKey>> ActiveKey(const std::string& cp_id) override {
    for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
      if (it->first == cp_id && !revoked_keys.count(it->second.key_id) &&
          it->second.not_after == absl::InfiniteFuture()) {
        return it->second;
      }
    }
    return std::optional<CpKey>();
  }
  absl::Status InsertKey(const std::string& cp_id, const CpKey& key) override {
    keys.push_back({cp_id, key});
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<CpKey>> ValidKeys(const std::string& cp_id, absl::Time now) override {
    std::vector<CpKey> out;
    for (const auto& [id, k] : keys) {
      if (id == cp_id && !revoked_keys.count(k.key_id) && k.not_after > now) out.push_back(k);
    }
    return out;
  }
  absl::Status RotateKey(const std::string& cp_id, const CpKey& fresh, absl::Time old_until) override {
    for (auto& [id, k] : keys) {
      if (id == cp_id) k.not_after = std::min(k.not_after, old_until);
    }
    keys.push_back({cp_id, fresh});
    return absl::OkStatus();
  }
  absl::Status InsertToken(const std::string& sha, const TokenRecord& t) override {
    tokens[sha] = t;
    return absl::OkStatus();
  }
  absl::StatusOr<TokenRecord> FindToken(const std::string& sha) override {
    if (!tokens.count(sha)) return absl::NotFoundError("no");
    TokenRecord t = tokens[sha];
    t.revoked = t.revoked || revoked_keys.count(t.key_id);
    return t;
  }
  absl::Status SetBlocked(const std::string& cp_id, bool b) override {
    if (b) blocked.insert(cp_id); else blocked.erase(cp_id);
    return absl::OkStatus();
  }
  absl::StatusOr<bool> IsBlocked(const std::string& cp_id) override { return blocked.count(cp_id) > 0; }
  absl::StatusOr<std::pair<int, int>> RevokeAll(const std::string& cp_id) override {
    int nt = 0, nk = 0;
    for (auto& [sha, t] : tokens) {
      if (t.cp_id == cp_id && !t.revoked) { t.revoked = true; ++nt; }
    }
    for (auto& [id, k] : keys) {
      if (id == cp_id && revoked_keys.insert(k.key_id).second) ++nk;
    }
    return std::make_pair(nt, nk);
  }

  std::vector<std::pair<std::string, CpKey>> keys;
  std::set<std::string> revoked_keys;
  std::set<std::string> blocked;
  std::map<std::string, TokenRecord> tokens;
};

class AuthTest : public ::testing::Test {
 protected:
  AuthTest()
      : auth(store,
             [](const std::string& id, const std::string& secret)
                 -> absl::StatusOr<common::v1::ChargingPoint> {
               if (id != "CP1" || secret != "right") return absl::UnauthenticatedError("refused");
               common::v1::ChargingPoint cp;
               cp.set_cp_id(id);
               return cp;
             },
             events, audit, clock, absl::Hours(1)) {}

  absl::StatusOr<v1::AuthenticateChargingPointResponse> Login(const std::string& secret = "right") {
    v1::AuthenticateChargingPointRequest r;
    r.set_cp_id("CP1");
    r.set_secret(secret);
    return auth.Authenticate(r, "ipv4:10.1.1.1:9");
  }
  int AuditCount(AuditCategory category, const std::string& action) {
    int n = 0;
    for (const AuditRecord& a : audit.records()) n += a.category == category && a.action == action;
    return n;
  }
  std::vector<events::v1::AuthEvent> Announced() {
    std::vector<events::v1::AuthEvent> out;
    for (const auto& r : events.records()) {
      events::v1::AuthEvent e;
      if (r.topic == topics::kAuthEvents && e.ParseFromString(r.payload)) out.push_back(e);
    }
    return out;
  }

  FakeStore store;
  RecordingPublisher events;
  RecordingAuditSink audit;
  FakeClock clock;
  Auth auth;
  const Caller op = Caller::Operator("admin", "ipv4:127.0.0.1:2");
};

TEST_F(AuthTest, GoodCredentialsGiveATokenAndA256BitKey) {
  auto r = Login();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->key().size(), 32u);
  EXPECT_FALSE(r->key_id().empty());
  auto v = auth.Validate(r->token());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->cp_id(), "CP1");
  EXPECT_EQ(v->key_id(), r->key_id());
  // Only the token's hash is stored.
  EXPECT_EQ(store.tokens.count(r->token()), 0u);
}

TEST_F(AuthTest, TheKeyIsStableAcrossLogins) {
  EXPECT_EQ(Login()->key_id(), Login()->key_id());
}

TEST_F(AuthTest, BadCredentialsAreRefused) {
  EXPECT_EQ(Login("wrong").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(store.tokens.empty());
  EXPECT_EQ(AuditCount(AuditCategory::kSecurity, "cp_auth_failed"), 1);
}

TEST_F(AuthTest, ExpiredUnknownAndRevokedTokensAreRefused) {
  auto r = Login();
  EXPECT_EQ(auth.Validate("made-up").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.Validate("").status().code(), absl::StatusCode::kUnauthenticated);
  clock.Advance(absl::Hours(2));
  EXPECT_EQ(auth.Validate(r->token()).status().code(), absl::StatusCode::kUnauthenticated);
  auto fresh = Login();
  ASSERT_TRUE(auth.Validate(fresh->token()).ok());
  auto revoked = auth.Revoke("CP1", op, "credentials reset", /*block=*/false);
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->revoked_keys(), 1);
  EXPECT_EQ(auth.Validate(fresh->token()).status().code(), absl::StatusCode::kUnauthenticated);
  // After revocation a new login gets a new key.
  EXPECT_NE(Login()->key_id(), fresh->key_id());
  ASSERT_FALSE(Announced().empty());
  EXPECT_EQ(Announced()[0].cp_revoked().cp_id(), "CP1");
  EXPECT_EQ(AuditCount(AuditCategory::kSecurity, "cp_revoked"), 1);
}

TEST_F(AuthTest, ACompromisedCpCannotLogInUntilItsCredentialsAreReset) {
  ASSERT_TRUE(Login().ok());
  ASSERT_TRUE(auth.Revoke("CP1", op, "compromised", /*block=*/true).ok());
  auto refused = Login();
  EXPECT_TRUE(absl::IsPermissionDenied(refused.status()));
  EXPECT_NE(refused.status().message().find("reset its credentials"), absl::string_view::npos);
  ASSERT_TRUE(auth.Unblock("CP1").ok());
  EXPECT_TRUE(Login().ok());
}

TEST_F(AuthTest, RotationKeepsTheOldKeyForTheGracePeriodOnly) {
  const std::string old_key = Login()->key_id();
  v1::RotateChargingPointKeyRequest rotate;
  rotate.set_cp_id("CP1");
  rotate.mutable_grace()->set_seconds(30);
  auto rotated = auth.RotateKey(rotate, op);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_NE(rotated->new_key_id(), old_key);
  // A new login gets the new key; central may open both for now.
  EXPECT_EQ(Login()->key_id(), rotated->new_key_id());
  auto keys = auth.Keys("CP1");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->keys_size(), 2);
  EXPECT_TRUE(keys->keys(0).has_not_after());
  clock.Advance(absl::Seconds(31));
  keys = auth.Keys("CP1");
  ASSERT_EQ(keys->keys_size(), 1);
  EXPECT_EQ(keys->keys(0).key_id(), rotated->new_key_id());
  EXPECT_EQ(Announced().back().cp_key_rotated().new_key_id(), rotated->new_key_id());
  // Keys never travel in events or audit details.
  for (const auto& r : events.records()) EXPECT_EQ(r.payload.find(keys->keys(0).key()), std::string::npos);
}

TEST_F(AuthTest, RotatingAKeylessCpIsRefused) {
  v1::RotateChargingPointKeyRequest rotate;
  rotate.set_cp_id("CP9");
  EXPECT_TRUE(absl::IsFailedPrecondition(auth.RotateKey(rotate, op).status()));
}

}  // namespace
}  // namespace evc::auth
