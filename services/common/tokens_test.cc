#include "services/common/tokens.h"

#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "services/common/crypto.h"
#include "services/common/testing/fake_clock.h"

namespace evc {
namespace {

class TokensTest : public ::testing::Test {
 protected:
  TokensTest()
      : pair_(crypto::NewEd25519KeyPair()),
        signing_{"kid-1", pair_.private_key},
        verifier_([this] { return Fetch(); }, clock_) {}

  absl::StatusOr<std::vector<VerifyingKey>> Fetch() {
    ++fetches_;
    return published_;
  }

  std::string Token(absl::Duration ttl = absl::Minutes(5), const std::string& sid = "s1") {
    Claims c{"ana", kRoleDriver, sid, "t1", clock_.Now(), clock_.Now() + ttl};
    return *SignToken(signing_, c);
  }

  crypto::Ed25519KeyPair pair_;
  SigningKey signing_;
  std::vector<VerifyingKey> published_{{"kid-1", pair_.public_key}};
  int fetches_ = 0;
  FakeClock clock_;
  TokenVerifier verifier_;
};

TEST_F(TokensTest, VerifiesItsClaims) {
  absl::StatusOr<Claims> claims = verifier_.Verify(Token());
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->subject, "ana");
  EXPECT_EQ(claims->role, kRoleDriver);
  EXPECT_EQ(claims->session_id, "s1");
  EXPECT_EQ(claims->expires_at, clock_.Now() + absl::Minutes(5));
}

TEST_F(TokensTest, HeaderNamesTheAlgorithmAndKey) {
  std::vector<std::string> parts = absl::StrSplit(Token(), '.');
  ASSERT_EQ(parts.size(), 3u);
  const std::string header = *crypto::FromBase64Url(parts[0]);
  EXPECT_NE(header.find("\"alg\":\"EdDSA\""), std::string::npos);
  EXPECT_NE(header.find("\"kid\":\"kid-1\""), std::string::npos);
}

TEST_F(TokensTest, ExpiredTokenIsRefused) {
  const std::string token = Token(absl::Minutes(5));
  clock_.Advance(absl::Minutes(5));
  absl::Status s = verifier_.Verify(token).status();
  EXPECT_TRUE(absl::IsUnauthenticated(s));
  EXPECT_NE(s.message().find("expired"), absl::string_view::npos);
}

TEST_F(TokensTest, TamperedPayloadOrSignatureIsRefused) {
  std::vector<std::string> parts = absl::StrSplit(Token(), '.');
  std::string payload = *crypto::FromBase64Url(parts[1]);
  const size_t at = payload.find("driver");
  payload.replace(at, 6, "operat");  // role escalation attempt (same length)
  EXPECT_TRUE(absl::IsUnauthenticated(
      verifier_.Verify(parts[0] + "." + crypto::Base64Url(payload) + "." + parts[2]).status()));
  std::string signature = *crypto::FromBase64Url(parts[2]);
  signature[0] ^= 1;
  EXPECT_TRUE(absl::IsUnauthenticated(
      verifier_.Verify(parts[0] + "." + parts[1] + "." + crypto::Base64Url(signature)).status()));
}

TEST_F(TokensTest, UnknownKeyIdIsRefusedAfterOneRefetch) {
  crypto::Ed25519KeyPair other = crypto::NewEd25519KeyPair();
  Claims c{"ana", kRoleOperator, "s1", "t1", clock_.Now(), clock_.Now() + absl::Minutes(5)};
  const std::string forged = *SignToken({"kid-evil", other.private_key}, c);
  EXPECT_TRUE(absl::IsUnauthenticated(verifier_.Verify(forged).status()));
  EXPECT_EQ(fetches_, 1);
  // Rate-limited: a flood of unknown key ids does not flood auth.
  EXPECT_FALSE(verifier_.Verify(forged).ok());
  EXPECT_EQ(fetches_, 1);
}

TEST_F(TokensTest, ForgedWithRightKeyIdButWrongKeyIsRefused) {
  crypto::Ed25519KeyPair other = crypto::NewEd25519KeyPair();
  Claims c{"mallory", kRoleOperator, "s9", "t9", clock_.Now(), clock_.Now() + absl::Minutes(5)};
  EXPECT_TRUE(absl::IsUnauthenticated(
      verifier_.Verify(*SignToken({"kid-1", other.private_key}, c)).status()));
}

TEST_F(TokensTest, RotatedKeyIsFetchedOnFirstUse) {
  ASSERT_TRUE(verifier_.Verify(Token()).ok());
  crypto::Ed25519KeyPair next = crypto::NewEd25519KeyPair();
  published_.push_back({"kid-2", next.public_key});
  signing_ = {"kid-2", next.private_key};
  verifier_.KeysChanged();
  EXPECT_TRUE(verifier_.Verify(Token()).ok());
}

TEST_F(TokensTest, NoneAlgorithmAndMalformedTokensAreRefused) {
  const std::string none_header = crypto::Base64Url(R"({"alg":"none","kid":"kid-1"})");
  const std::string payload = crypto::Base64Url(R"({"sub":"ana","role":"operator"})");
  EXPECT_FALSE(verifier_.Verify(none_header + "." + payload + ".").ok());
  EXPECT_FALSE(verifier_.Verify("").ok());
  EXPECT_FALSE(verifier_.Verify("a.b").ok());
  EXPECT_FALSE(verifier_.Verify("a.b.c.d").ok());
  EXPECT_FALSE(verifier_.Verify(std::string(5000, 'a')).ok());
}

TEST_F(TokensTest, RevokedSessionIsRefused) {
  const std::string token = Token(absl::Minutes(5), "s-logout");
  ASSERT_TRUE(verifier_.Verify(token).ok());
  verifier_.RevokeSession("s-logout", clock_.Now() + absl::Minutes(5));
  absl::Status s = verifier_.Verify(token).status();
  EXPECT_TRUE(absl::IsUnauthenticated(s));
  EXPECT_NE(s.message().find("revoked"), absl::string_view::npos);
  EXPECT_TRUE(verifier_.Verify(Token(absl::Minutes(5), "s-other")).ok());
}

TEST_F(TokensTest, KeyNoLongerPublishedStopsVerifyingWithinTheRefreshInterval) {
  const std::string token = Token(absl::Minutes(10));
  ASSERT_TRUE(verifier_.Verify(token).ok());
  // Auth retires kid-1 and publishes only kid-2; no event says so.
  crypto::Ed25519KeyPair next = crypto::NewEd25519KeyPair();
  published_ = {{"kid-2", next.public_key}};
  clock_.Advance(absl::Seconds(10));
  EXPECT_TRUE(verifier_.Verify(token).ok()) << "refreshed before the interval";
  clock_.Advance(TokenVerifierOptions().refresh_interval);
  absl::Status s = verifier_.Verify(token).status();
  EXPECT_TRUE(absl::IsUnauthenticated(s));
  EXPECT_NE(s.message().find("unknown signing key 'kid-1'"), absl::string_view::npos) << s;
  // And it does not come back on a later unknown-key fetch.
  clock_.Advance(absl::Seconds(5));
  EXPECT_FALSE(verifier_.Verify(token).ok());
}

TEST_F(TokensTest, RefreshesPeriodicallyButNotPerToken) {
  const std::string token = Token(absl::Minutes(10));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(verifier_.Verify(token).ok());
  EXPECT_EQ(fetches_, 1);
  clock_.Advance(TokenVerifierOptions().refresh_interval);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(verifier_.Verify(token).ok());
  EXPECT_EQ(fetches_, 2);
}

TEST_F(TokensTest, KeysChangedDropsAWithdrawnKeyAtOnce) {
  const std::string token = Token(absl::Minutes(10));
  ASSERT_TRUE(verifier_.Verify(token).ok());
  published_.clear();
  verifier_.KeysChanged();
  EXPECT_FALSE(verifier_.Verify(token).ok());
}

class PublishedTrustTest : public ::testing::Test {
 protected:
  PublishedTrustTest()
      : pair_(crypto::NewEd25519KeyPair()),
        verifier_(
            [this]() -> absl::StatusOr<PublishedTrust> {
              ++fetches_;
              if (!auth_up_) return absl::UnavailableError("auth: connection refused");
              return PublishedTrust{{{"kid-1", pair_.public_key}}, revoked_};
            },
            clock_) {}

  std::string Token(const std::string& sid, absl::Duration ttl = absl::Minutes(10)) {
    Claims c{"ana", kRoleDriver, sid, "t1", clock_.Now(), clock_.Now() + ttl};
    return *SignToken({"kid-1", pair_.private_key}, c);
  }

  crypto::Ed25519KeyPair pair_;
  std::vector<RevokedSession> revoked_;
  bool auth_up_ = true;
  int fetches_ = 0;
  FakeClock clock_;
  TokenVerifier verifier_;
};

TEST_F(PublishedTrustTest, SessionsRevokedBeforeTheStartAreRefusedFromTheFirstToken) {
  // A verifier that starts after the logout (no event will come again).
  revoked_ = {{"s-gone", clock_.Now() + absl::Minutes(15)}};
  absl::Status s = verifier_.Verify(Token("s-gone")).status();
  EXPECT_TRUE(absl::IsUnauthenticated(s));
  EXPECT_NE(s.message().find("revoked"), absl::string_view::npos) << s;
  EXPECT_TRUE(verifier_.Verify(Token("s-live")).ok());
}

TEST_F(PublishedTrustTest, RevocationsAreKeptAcrossFetchesUntilTheyExpire) {
  ASSERT_TRUE(verifier_.Verify(Token("s-1")).ok());
  const std::string token = Token("s-1");
  verifier_.RevokeSession("s-1", clock_.Now() + absl::Minutes(10));
  // The next fetch (auth's list lags or is empty) does not un-revoke it.
  clock_.Advance(absl::Minutes(1));
  EXPECT_FALSE(verifier_.Verify(token).ok());
  EXPECT_GE(fetches_, 2);
}

TEST_F(PublishedTrustTest, AuthUnreachableKeepsKeysForABoundedTimeOnly) {
  const std::string token = Token("s-1", absl::Hours(1));
  ASSERT_TRUE(verifier_.Verify(token).ok());
  auth_up_ = false;
  clock_.Advance(absl::Minutes(5));
  EXPECT_TRUE(verifier_.Verify(token).ok()) << "a short auth outage must not log everyone out";
  clock_.Advance(TokenVerifierOptions().max_staleness);
  absl::Status s = verifier_.Verify(token).status();
  EXPECT_TRUE(absl::IsUnauthenticated(s));
  EXPECT_NE(s.message().find("could not be confirmed"), absl::string_view::npos) << s;
  auth_up_ = true;
  clock_.Advance(TokenVerifierOptions().refetch_interval);
  EXPECT_TRUE(verifier_.Verify(token).ok());
}

// Bounded fuzzing: random and mutated tokens never crash the parser and no
// mutation of a valid token verifies with different claims.
TEST_F(TokensTest, RandomInputNeverCrashesOrForges) {
  std::mt19937_64 rng(424242);
  const std::string valid = Token();
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.{}\":";
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string input = valid;
    if (i % 3 == 0) {
      input.resize(rng() % 300);
      for (char& c : input) c = alphabet[rng() % alphabet.size()];
    } else {
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) input[rng() % input.size()] = alphabet[rng() % alphabet.size()];
    }
    if (input == valid) continue;
    absl::StatusOr<Claims> claims = verifier_.Verify(input);
    // Base64 has slack bits in its last character: such an edit may decode
    // to the very same bytes, and then the claims are the genuine ones.
    if (claims.ok() && (claims->subject != "ana" || claims->role != kRoleDriver)) ++accepted;
  }
  EXPECT_EQ(accepted, 0);
}

// Many first calls at once (a service just started): the one fetch in flight serves
// them all, none is refused for a key it is about to learn.
TEST(TokenVerifierConcurrency, CallsDuringAFetchWaitForItInsteadOfRefusing) {
  const crypto::Ed25519KeyPair pair = crypto::NewEd25519KeyPair();
  FakeClock clock;
  absl::Notification fetch_started, release_fetch;
  TokenVerifier verifier(
      [&]() -> absl::StatusOr<std::vector<VerifyingKey>> {
        fetch_started.Notify();
        release_fetch.WaitForNotification();
        return std::vector<VerifyingKey>{{"kid-1", pair.public_key}};
      },
      clock);
  const Claims claims{"ana", kRoleDriver, "s1", "t1", clock.Now(), clock.Now() + absl::Minutes(5)};
  const std::string token = *SignToken({"kid-1", pair.private_key}, claims);
  absl::StatusOr<Claims> first, second;
  std::thread fetching([&] { first = verifier.Verify(token); });
  fetch_started.WaitForNotification();
  std::thread waiting([&] { second = verifier.Verify(token); });
  absl::SleepFor(absl::Milliseconds(50));  // lets the second call reach the in-flight fetch
  release_fetch.Notify();
  fetching.join();
  waiting.join();
  EXPECT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(second.ok()) << second.status();
}

}  // namespace
}  // namespace evc
