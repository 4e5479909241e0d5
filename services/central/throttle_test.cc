#include "services/central/throttle.h"

#include <gtest/gtest.h>

namespace evc::central {
namespace {

TEST(ThrottleTest, FirstTimeIsDueThenOncePerInterval) {
  Throttle throttle(absl::Milliseconds(20));
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  EXPECT_TRUE(throttle.Due(t0));
  EXPECT_FALSE(throttle.Due(t0));
  EXPECT_FALSE(throttle.Due(t0 + absl::Milliseconds(19)));
  EXPECT_TRUE(throttle.Due(t0 + absl::Milliseconds(20)));
  EXPECT_FALSE(throttle.Due(t0 + absl::Milliseconds(39)));
  EXPECT_TRUE(throttle.Due(t0 + absl::Milliseconds(45)));
}

}  // namespace
}  // namespace evc::central
