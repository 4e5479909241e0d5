#include "services/common/crypto.h"

#include <gtest/gtest.h>

namespace evc::crypto {
namespace {

// Cheap parameters keep the test fast; production uses the defaults.
constexpr ScryptParams kFast{1 << 10, 8, 1};

TEST(Crypto, HashedSecretVerifiesOnlyWithTheRightSecret) {
  absl::StatusOr<std::string> hash = HashSecret("s3cret", kFast);
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(VerifySecret("s3cret", *hash));
  EXPECT_FALSE(VerifySecret("s3cret ", *hash));
  EXPECT_FALSE(VerifySecret("", *hash));
}

TEST(Crypto, SameSecretHashesDifferentlyEachTime) {
  EXPECT_NE(*HashSecret("x", kFast), *HashSecret("x", kFast));
}

TEST(Crypto, HashDoesNotContainTheSecret) {
  std::string hash = *HashSecret("visible-secret", kFast);
  EXPECT_EQ(hash.find("visible-secret"), std::string::npos);
  EXPECT_EQ(hash.rfind("scrypt$1024$8$1$", 0), 0u);
}

TEST(Crypto, MalformedOrTamperedHashNeverVerifies) {
  std::string hash = *HashSecret("pw", kFast);
  EXPECT_FALSE(VerifySecret("pw", ""));
  EXPECT_FALSE(VerifySecret("pw", "scrypt$1024$8$1$zz$zz"));
  EXPECT_FALSE(VerifySecret("pw", "md5$abc"));
  // Absurd work factors are refused rather than computed.
  std::string huge = hash;
  huge.replace(7, 4, "99999999");
  EXPECT_FALSE(VerifySecret("pw", huge));
  std::string flipped = hash;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_FALSE(VerifySecret("pw", flipped));
}

TEST(Crypto, RandomIdsAreHexAndDistinct) {
  std::string a = RandomId(), b = RandomId();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(Crypto, Sha256OfKnownInput) {
  EXPECT_EQ(Hex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Crypto, ConstantTimeEqualsComparesWholeValues) {
  EXPECT_TRUE(ConstantTimeEquals("abcdef", "abcdef"));
  EXPECT_FALSE(ConstantTimeEquals("abcdef", "abcdeg"));
  EXPECT_FALSE(ConstantTimeEquals("abcdef", "xbcdef"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcdef"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(Crypto, AesGcmRoundTripsAndRefusesTampering) {
  const std::string key = RandomBytes(32);
  absl::StatusOr<Sealed> sealed = AesGcmSeal(key, "header", "hello engine");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->nonce.size(), 12u);
  EXPECT_EQ(sealed->tag.size(), 16u);
  EXPECT_EQ(sealed->ciphertext.find("hello"), std::string::npos);
  EXPECT_EQ(*AesGcmOpen(key, "header", *sealed), "hello engine");

  EXPECT_TRUE(absl::IsUnauthenticated(AesGcmOpen(key, "other header", *sealed).status()));
  EXPECT_TRUE(absl::IsUnauthenticated(AesGcmOpen(RandomBytes(32), "header", *sealed).status()));
  Sealed flipped = *sealed;
  flipped.ciphertext[0] ^= 1;
  EXPECT_TRUE(absl::IsUnauthenticated(AesGcmOpen(key, "header", flipped).status()));
  Sealed bad_tag = *sealed;
  bad_tag.tag[15] ^= 0x80;
  EXPECT_TRUE(absl::IsUnauthenticated(AesGcmOpen(key, "header", bad_tag).status()));
  Sealed short_tag = *sealed;
  short_tag.tag.resize(8);
  EXPECT_TRUE(absl::IsInvalidArgument(AesGcmOpen(key, "header", short_tag).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(AesGcmSeal("short key", "", "x").status()));
}

TEST(Crypto, SameMessageSealsDifferentlyEachTime) {
  const std::string key = RandomBytes(32);
  EXPECT_NE(AesGcmSeal(key, "", "same")->ciphertext, AesGcmSeal(key, "", "same")->ciphertext);
}

TEST(Crypto, Ed25519SignsAndVerifies) {
  Ed25519KeyPair pair = NewEd25519KeyPair();
  EXPECT_EQ(pair.public_key.size(), 32u);
  EXPECT_EQ(*Ed25519PublicKey(pair.private_key), pair.public_key);
  absl::StatusOr<std::string> signature = Ed25519Sign(pair.private_key, "message");
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(Ed25519Verify(pair.public_key, "message", *signature));
  EXPECT_FALSE(Ed25519Verify(pair.public_key, "messagE", *signature));
  EXPECT_FALSE(Ed25519Verify(NewEd25519KeyPair().public_key, "message", *signature));
  EXPECT_FALSE(Ed25519Verify(pair.public_key, "message", signature->substr(1)));
  EXPECT_FALSE(Ed25519Verify("short", "message", *signature));
}

TEST(Crypto, Base64UrlIsStrict) {
  EXPECT_EQ(*FromBase64Url(Base64Url("any bytes \xff\xfe")), "any bytes \xff\xfe");
  EXPECT_FALSE(FromBase64Url("ab+/").ok());
  EXPECT_FALSE(FromBase64Url("YWJj=").ok());
  EXPECT_FALSE(FromBase64Url("a").ok());
  EXPECT_FALSE(FromBase64Url("a b").ok());
}

}  // namespace
}  // namespace evc::crypto
