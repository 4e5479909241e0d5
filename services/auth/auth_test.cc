#include "services/auth/auth.h"

#include <map>
#include <set>

#include <gtest/gtest.h>

namespace evc::auth {
namespace {

class FakeStore : public AuthStore {
 public:
  absl::StatusOr<std::optional<CpKey>> ActiveKey(const std::string& cp_id) override {
    for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
      if (it->first == cp_id && !revoked_keys.count(it->second.key_id)) return it->second;
    }
    return std::optional<CpKey>();
  }
  absl::Status InsertKey(const std::string& cp_id, const CpKey& key) override {
    keys.push_back({cp_id, key});
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
             clock, absl::Hours(1)) {}

  absl::StatusOr<v1::AuthenticateChargingPointResponse> Login(const std::string& secret = "right") {
    v1::AuthenticateChargingPointRequest r;
    r.set_cp_id("CP1");
    r.set_secret(secret);
    return auth.Authenticate(r);
  }

  FakeStore store;
  FakeClock clock;
  Auth auth;
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
}

TEST_F(AuthTest, ExpiredUnknownAndRevokedTokensAreRefused) {
  auto r = Login();
  EXPECT_EQ(auth.Validate("made-up").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.Validate("").status().code(), absl::StatusCode::kUnauthenticated);
  clock.Advance(absl::Hours(2));
  EXPECT_EQ(auth.Validate(r->token()).status().code(), absl::StatusCode::kUnauthenticated);
  auto fresh = Login();
  ASSERT_TRUE(auth.Validate(fresh->token()).ok());
  auto revoked = auth.Revoke("CP1");
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->revoked_keys(), 1);
  EXPECT_EQ(auth.Validate(fresh->token()).status().code(), absl::StatusCode::kUnauthenticated);
  // After revocation a new login gets a new key.
  EXPECT_NE(Login()->key_id(), fresh->key_id());
}

}  // namespace
}  // namespace evc::auth
