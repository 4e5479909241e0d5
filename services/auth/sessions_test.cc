#include "services/auth/sessions.h"

#include <map>
#include <set>

#include <gtest/gtest.h>

#include "services/common/crypto.h"
#include "services/common/kafka.h"

namespace evc::auth {
namespace {

class FakeSessionStore : public SessionStore {
 public:
  absl::Status InsertSession(const Session& s, const std::string& sha) override {
    sessions[sha] = s;
    return absl::OkStatus();
  }
  absl::StatusOr<Session> RotateRefresh(const std::string& old_sha, const std::string& new_sha,
                                        absl::Time expiry, absl::Time now) override {
    auto it = sessions.find(old_sha);
    if (it == sessions.end() || revoked.count(it->second.session_id) || it->second.expires_at <= now) {
      return absl::NotFoundError("no");
    }
    Session s = it->second;
    s.expires_at = expiry;
    sessions.erase(it);
    sessions[new_sha] = s;
    return s;
  }
  absl::StatusOr<Session> RevokeSession(const std::string& id) override {
    for (auto& [sha, s] : sessions) {
      if (s.session_id == id && revoked.insert(id).second) return s;
    }
    return absl::NotFoundError("no");
  }
  absl::StatusOr<std::vector<RevokedSession>> RevokedSessions(absl::Time now, absl::Duration) override {
    std::vector<RevokedSession> out;
    for (const auto& [sha, s] : sessions) {
      if (revoked.count(s.session_id) && s.expires_at > now) out.push_back({s.session_id, s.expires_at});
    }
    return out;
  }
  absl::StatusOr<std::vector<StoredSigningKey>> SigningKeys(absl::Time now) override {
    std::vector<StoredSigningKey> out;
    for (const auto& k : keys) {
      if (k.retired_at > now) out.push_back(k);
    }
    return out;
  }
  absl::Status AddSigningKey(const StoredSigningKey& fresh, absl::Time retire) override {
    for (auto& k : keys) k.retired_at = std::min(k.retired_at, retire);
    keys.push_back(fresh);
    return absl::OkStatus();
  }
  absl::StatusOr<LoginThrottle> GetThrottle(const std::string& user) override { return throttles[user]; }
  absl::StatusOr<int> RecordFailure(const std::string& user) override { return ++throttles[user].failures; }
  absl::Status LockUntil(const std::string& user, absl::Time until) override {
    throttles[user].locked_until = until;
    return absl::OkStatus();
  }
  absl::Status ClearFailures(const std::string& user) override {
    throttles.erase(user);
    return absl::OkStatus();
  }

  std::map<std::string, Session> sessions;
  std::set<std::string> revoked;
  std::vector<StoredSigningKey> keys;
  std::map<std::string, LoginThrottle> throttles;
};

class SessionsTest : public ::testing::Test {
 protected:
  SessionsTest()
      : sessions(store,
                 [this](const std::string& user, const std::string& password)
                     -> absl::StatusOr<registry::v1::Account> {
                   ++password_checks;
                   if (user != "ana" || password != "right password 1") {
                     return absl::UnauthenticatedError("unknown username or wrong password");
                   }
                   registry::v1::Account a;
                   a.set_username("ana");
                   a.set_role("driver");
                   return a;
                 },
                 events, audit, clock) {
    EXPECT_TRUE(sessions.Start().ok());
  }
  absl::StatusOr<v1::TokenPair> Login(const std::string& password = "right password 1") {
    v1::LoginRequest r;
    r.set_username("ana");
    r.set_password(password);
    return sessions.Login(r, "ipv4:10.0.0.9:1");
  }
  // Who a token names, as the gRPC layer hands it to Sessions.
  Caller CallerOf(const std::string& access_token) {
    absl::StatusOr<Claims> claims = sessions.verifier().Verify(access_token);
    EXPECT_TRUE(claims.ok()) << claims.status();
    absl::StatusOr<Caller> caller = CallerFromClaims(*claims, "");
    EXPECT_TRUE(caller.ok()) << caller.status();
    return *caller;
  }

  int Audited(const std::string& action) {
    int n = 0;
    for (const AuditRecord& a : audit.records()) n += a.action == action;
    return n;
  }

  FakeSessionStore store;
  RecordingPublisher events;
  RecordingAuditSink audit;
  FakeClock clock;
  int password_checks = 0;
  Sessions sessions;
};

TEST_F(SessionsTest, LoginGivesAVerifiableAccessTokenAndARefreshToken) {
  auto pair = Login();
  ASSERT_TRUE(pair.ok()) << pair.status();
  auto claims = sessions.verifier().Verify(pair->access_token());
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->subject, "ana");
  EXPECT_EQ(claims->role, "driver");
  EXPECT_EQ(claims->expires_at, clock.Now() + absl::Minutes(15));
  EXPECT_FALSE(pair->refresh_token().empty());
  // Only the refresh token's hash is stored.
  EXPECT_EQ(store.sessions.count(pair->refresh_token()), 0u);
  EXPECT_EQ(store.sessions.count(crypto::Sha256(pair->refresh_token())), 1u);
  EXPECT_EQ(Audited("login"), 1);
}

TEST_F(SessionsTest, RefreshTokensAreSpentOnUse) {
  auto pair = Login();
  v1::RefreshRequest r;
  r.set_refresh_token(pair->refresh_token());
  auto next = sessions.Refresh(r, "");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_NE(next->refresh_token(), pair->refresh_token());
  EXPECT_TRUE(absl::IsUnauthenticated(sessions.Refresh(r, "").status()));
}

TEST_F(SessionsTest, LogoutRevokesTheSessionEverywhere) {
  auto pair = Login();
  const Caller caller = CallerOf(pair->access_token());
  ASSERT_TRUE(sessions.Logout(caller).ok());
  EXPECT_TRUE(absl::IsUnauthenticated(sessions.verifier().Verify(pair->access_token()).status()));
  v1::RefreshRequest r;
  r.set_refresh_token(pair->refresh_token());
  EXPECT_FALSE(sessions.Refresh(r, "").ok());
  bool announced = false;
  for (const auto& rec : events.records()) {
    events::v1::AuthEvent e;
    announced |= rec.topic == topics::kAuthEvents && e.ParseFromString(rec.payload) &&
                 e.session_revoked().session_id() == caller.session_id;
  }
  EXPECT_TRUE(announced);
}

TEST_F(SessionsTest, LogoutSurvivesARestartOfAuth) {
  auto pair = Login();
  const Caller caller = CallerOf(pair->access_token());
  ASSERT_TRUE(sessions.Logout(caller).ok());
  // A new auth process on the same store: its verifier, and any verifier fed
  // from its ListRevokedSessions, refuses the old token from the start.
  Sessions restarted(store, nullptr, events, audit, clock);
  ASSERT_TRUE(restarted.Start().ok());
  absl::Status s = restarted.verifier().Verify(pair->access_token()).status();
  EXPECT_TRUE(absl::IsUnauthenticated(s));
  EXPECT_NE(s.message().find("revoked"), absl::string_view::npos) << s;
  auto listed = restarted.RevokedSessions();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->sessions_size(), 1);
  EXPECT_EQ(listed->sessions(0).session_id(), caller.session_id);
}

TEST_F(SessionsTest, RepeatedFailuresLockTheAccountWithGrowingWaits) {
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(absl::IsUnauthenticated(Login("guess " + std::to_string(i)).status()));
  EXPECT_EQ(Audited("login_failed"), 5);
  const int checks = password_checks;
  // Locked: even the right password is refused, without checking it.
  absl::Status locked = Login().status();
  EXPECT_TRUE(absl::IsResourceExhausted(locked));
  EXPECT_NE(locked.message().find("try again in 30 s"), absl::string_view::npos) << locked.message();
  EXPECT_EQ(password_checks, checks);
  EXPECT_EQ(Audited("login_locked_out"), 1);
  clock.Advance(absl::Seconds(31));
  EXPECT_TRUE(absl::IsUnauthenticated(Login("guess again").status()));
  EXPECT_NE(Login().status().message().find("try again in 60 s"), absl::string_view::npos);
  clock.Advance(absl::Seconds(61));
  ASSERT_TRUE(Login().ok());
  EXPECT_EQ(store.throttles.count("ana"), 0u);  // success clears the count
  for (const AuditRecord& a : audit.records()) {
    if (a.action == "login_failed") EXPECT_EQ(a.category, AuditCategory::kSecurity);
  }
}

TEST_F(SessionsTest, RotatedSigningKeyKeepsOldTokensValid) {
  auto before = Login();
  auto rotated = sessions.RotateSigningKey(CallerOf(before->access_token()));
  ASSERT_TRUE(rotated.ok());
  auto after = Login();
  EXPECT_TRUE(sessions.verifier().Verify(before->access_token()).ok());
  EXPECT_TRUE(sessions.verifier().Verify(after->access_token()).ok());
  EXPECT_EQ(sessions.PublicKeys()->keys_size(), 2);
  // Once the old key is retired auth stops publishing it, and its tokens stop
  // verifying without waiting for them to expire.
  store.keys.front().retired_at = clock.Now();
  clock.Advance(absl::Seconds(1));
  sessions.verifier().KeysChanged();
  EXPECT_FALSE(sessions.verifier().Verify(before->access_token()).ok());
  EXPECT_TRUE(sessions.verifier().Verify(after->access_token()).ok());
}

}  // namespace
}  // namespace evc::auth
