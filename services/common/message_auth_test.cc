#include "services/common/message_auth.h"

#include <gtest/gtest.h>

#include "services/common/crypto.h"
#include "services/common/proto_time.h"

namespace evc {
namespace {

class FixedClock : public Clock {
 public:
  absl::Time Now() const override { return now; }
  absl::Time now = absl::FromUnixSeconds(1800000000);
};

class MessageAuthTest : public ::testing::Test {
 protected:
  MessageAuthTest()
      : pair_(crypto::NewEd25519KeyPair()), signing_{"k1", pair_.private_key},
        keys_("auth", [this]() -> absl::StatusOr<std::vector<VerifyingKey>> {
          ++fetches_;
          if (!reachable_) return absl::UnavailableError("auth is down");
          return published_;
        }, clock_, absl::ZeroDuration()) {
    published_ = {{"k1", pair_.public_key}};
  }

  std::string Assertion(const std::string& cp, const std::string& request, absl::Duration ttl = absl::Seconds(60),
                        const std::string& role = kRoleDriver) {
    events::v1::ChargeAssertion a;
    a.set_assertion_id("a-" + request);
    a.set_subject("ana");
    a.set_role(role);
    a.set_session_id("s1");
    a.set_cp_id(cp);
    a.set_request_id(request);
    *a.mutable_issued_at() = ToProto(clock_.now);
    *a.mutable_expires_at() = ToProto(clock_.now + ttl);
    return SignMessage(signing_, a)->SerializeAsString();
  }

  FixedClock clock_;
  crypto::Ed25519KeyPair pair_;
  SigningKey signing_;
  std::vector<VerifyingKey> published_;
  bool reachable_ = true;
  int fetches_ = 0;
  VerifyingKeys keys_;
};

TEST_F(MessageAuthTest, SignedEventOpensOnlyWithItsOwnersKeyAndType) {
  events::v1::RegistryEvent e;
  e.set_cp_id("CP-1");
  e.mutable_unregistered();
  const std::string bytes = SignMessage(signing_, e)->SerializeAsString();
  events::v1::RegistryEvent opened;
  ASSERT_TRUE(OpenSigned(bytes, keys_, &opened).ok());
  EXPECT_EQ(opened.cp_id(), "CP-1");
  EXPECT_TRUE(opened.has_unregistered());

  // The unsigned event itself (what the code before accepted) is refused.
  EXPECT_TRUE(absl::IsUnauthenticated(OpenSigned(e.SerializeAsString(), keys_, &opened)));
  // A signature over a registry event does not vouch for an auth event.
  events::v1::AuthEvent as_auth;
  EXPECT_TRUE(absl::IsUnauthenticated(OpenSigned(bytes, keys_, &as_auth)));
  // A payload changed after signing.
  events::v1::Signed tampered;
  ASSERT_TRUE(tampered.ParseFromString(bytes));
  e.mutable_registered()->set_cp_id("CP-1");
  tampered.set_payload(e.SerializeAsString());
  EXPECT_TRUE(absl::IsUnauthenticated(OpenSigned(tampered.SerializeAsString(), keys_, &opened)));
  // Signed by someone else under the owner's key id.
  SigningKey intruder{"k1", crypto::NewEd25519KeyPair().private_key};
  EXPECT_TRUE(absl::IsUnauthenticated(
      OpenSigned(SignMessage(intruder, e)->SerializeAsString(), keys_, &opened)));
  EXPECT_TRUE(absl::IsUnauthenticated(OpenSigned("\xff\xff garbage", keys_, &opened)));
}

TEST_F(MessageAuthTest, KeysComeFromTheOwnerAndDroppedKeysStopVerifying) {
  events::v1::AuthEvent e;
  e.mutable_signing_key_rotated()->set_key_id("k2");
  crypto::Ed25519KeyPair next = crypto::NewEd25519KeyPair();
  const std::string by_k2 = SignMessage({"k2", next.private_key}, e)->SerializeAsString();
  events::v1::AuthEvent opened;
  EXPECT_TRUE(absl::IsUnauthenticated(OpenSigned(by_k2, keys_, &opened)));
  published_ = {{"k2", next.public_key}};
  EXPECT_TRUE(OpenSigned(by_k2, keys_, &opened).ok()) << "an unknown key id fetches the keys again";
  const std::string by_k1 = SignMessage(signing_, e)->SerializeAsString();
  EXPECT_TRUE(absl::IsUnauthenticated(OpenSigned(by_k1, keys_, &opened))) << "k1 is no longer published";
}

TEST_F(MessageAuthTest, UnreachableOwnerIsUnavailableNotAForgery) {
  reachable_ = false;
  events::v1::RegistryEvent e;
  e.set_cp_id("CP-1");
  events::v1::RegistryEvent opened;
  EXPECT_TRUE(absl::IsUnavailable(OpenSigned(SignMessage(signing_, e)->SerializeAsString(), keys_, &opened)));
  reachable_ = true;
  EXPECT_TRUE(OpenSignedEvent(SignMessage(signing_, e)->SerializeAsString(), keys_, &opened).ok());
}

TEST_F(MessageAuthTest, ChargeAssertionIsBoundToDriverCpAndRequest) {
  auto ok = VerifyChargeAssertion(Assertion("CP-1", "r1"), keys_, "CP-1", "r1", "ana", clock_.now);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->subject(), "ana");
  EXPECT_EQ(ok->session_id(), "s1");
  EXPECT_EQ(VerifyChargeAssertion(Assertion("CP-2", "r1"), keys_, "CP-1", "r1", "ana", clock_.now).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyChargeAssertion(Assertion("CP-1", "r2"), keys_, "CP-1", "r1", "ana", clock_.now).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyChargeAssertion(Assertion("CP-1", "r1"), keys_, "CP-1", "r1", "bob", clock_.now).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyChargeAssertion(Assertion("CP-1", "r1", absl::Seconds(60), kRoleOperator), keys_, "CP-1", "r1",
                                  "ana", clock_.now).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::IsUnauthenticated(
      VerifyChargeAssertion(Assertion("CP-1", "r1"), keys_, "CP-1", "r1", "ana", clock_.now + absl::Seconds(61))
          .status()));
  EXPECT_TRUE(absl::IsUnauthenticated(
      VerifyChargeAssertion(Assertion("CP-1", "r1", absl::Hours(1)), keys_, "CP-1", "r1", "ana", clock_.now).status()));
  // No assertion at all (a request with only an access token).
  auto none = VerifyChargeAssertion("", keys_, "CP-1", "r1", "ana", clock_.now);
  EXPECT_TRUE(absl::IsUnauthenticated(none.status()));
  EXPECT_NE(none.status().message().find("access tokens are not accepted"), std::string::npos);
}

TEST_F(MessageAuthTest, AssertionIsNotAnAccessToken) {
  TokenVerifier verifier([this]() -> absl::StatusOr<std::vector<VerifyingKey>> { return published_; }, clock_);
  EXPECT_TRUE(absl::IsUnauthenticated(verifier.Verify(Assertion("CP-1", "r1")).status()));
}

TEST(AssertionGuardTest, EachAssertionOnceAndMemoryBounded) {
  AssertionGuard guard(2);
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  EXPECT_TRUE(guard.Accept("a", t0 + absl::Seconds(60), t0).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(guard.Accept("a", t0 + absl::Seconds(60), t0 + absl::Seconds(1))));
  EXPECT_TRUE(guard.Accept("b", t0 + absl::Seconds(60), t0).ok());
  EXPECT_TRUE(absl::IsResourceExhausted(guard.Accept("c", t0 + absl::Seconds(60), t0)));
  // Once expired, ids are forgotten (an expired assertion is refused anyway).
  EXPECT_TRUE(guard.Accept("c", t0 + absl::Seconds(200), t0 + absl::Seconds(61)).ok());
}

TEST(NotificationSealTest, OnlyTheDriversKeyOpensIt) {
  SigningKey signing{"k1", crypto::NewEd25519KeyPair().private_key};
  auto ana = DeriveNotificationKey(signing, "ana");
  auto bob = DeriveNotificationKey(signing, "bob");
  ASSERT_TRUE(ana.ok() && bob.ok());
  EXPECT_NE(ana->key, bob->key);
  EXPECT_EQ(ana->key.size(), 32u);
  EXPECT_EQ(DeriveNotificationKey(signing, "ana")->key, ana->key) << "derivation is deterministic";
  events::v1::DriverNotification n;
  n.set_driver_id("ana");
  n.set_request_id("r1");
  n.mutable_ticket()->set_supply_id("S-42");
  auto sealed = SealNotification(*ana, n);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->SerializeAsString().find("S-42"), std::string::npos);
  auto opened = OpenNotification(*ana, "ana", *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->ticket().supply_id(), "S-42");
  EXPECT_FALSE(OpenNotification(*bob, "bob", *sealed).ok());
  NotificationKey bob_as_ana{ana->key_id, bob->key};
  EXPECT_FALSE(OpenNotification(bob_as_ana, "ana", *sealed).ok());
  // Re-addressed to another driver: the header is authenticated.
  events::v1::SealedNotification moved = *sealed;
  moved.set_driver_id("bob");
  EXPECT_FALSE(OpenNotification(*bob, "bob", moved).ok());
}

TEST(HkdfTest, Rfc5869TestCase1) {
  const std::string ikm(22, '\x0b');
  std::string salt, info;
  for (int i = 0; i <= 0x0c; ++i) salt.push_back(static_cast<char>(i));
  for (int i = 0xf0; i <= 0xf9; ++i) info.push_back(static_cast<char>(i));
  auto okm = crypto::HkdfSha256(ikm, salt, info, 42);
  ASSERT_TRUE(okm.ok());
  EXPECT_EQ(crypto::Hex(*okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

// A key published right after a fetch is asked for again once the interval has
// passed, never refused for good within it; one nobody publishes is NOT_FOUND.
TEST(VerifyingKeysTest, AKeyRotatedJustAfterAFetchIsFoundAtTheNextFetch) {
  FixedClock clock;
  std::vector<VerifyingKey> published = {{"k1", "pub1"}};
  VerifyingKeys keys("auth", [&]() -> absl::StatusOr<std::vector<VerifyingKey>> { return published; }, clock,
                     absl::Seconds(2));
  EXPECT_TRUE(absl::IsNotFound(keys.Find("forged").status()));
  published.push_back({"k2", "pub2"});
  EXPECT_TRUE(absl::IsUnavailable(keys.Find("k2").status()));
  clock.now += absl::Seconds(2);
  ASSERT_TRUE(keys.Find("k2").ok());
  EXPECT_EQ(keys.Find("k2")->public_key, "pub2");
}

}  // namespace
}  // namespace evc
