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

}  // namespace
}  // namespace evc::crypto
