#include "services/common/charge_rule.h"

#include <gtest/gtest.h>

namespace evc {
namespace {

TEST(ChargeRuleTest, OnlyDriversChargeAndOnlyForThemselves) {
  EXPECT_TRUE(MayChargeAs(Caller::Driver("ana"), "").ok());
  EXPECT_TRUE(MayChargeAs(Caller::Driver("ana"), "ana").ok());
  absl::Status other = MayChargeAs(Caller::Driver("luis"), "ana");
  EXPECT_TRUE(absl::IsPermissionDenied(other));
  EXPECT_EQ(other.message(), "the token belongs to 'luis', not to driver 'ana'");
  absl::Status op = MayChargeAs(Caller::Operator("admin"), "");
  EXPECT_TRUE(absl::IsPermissionDenied(op));
  EXPECT_EQ(op.message(), "'admin' is a operator; only drivers charge");
  EXPECT_TRUE(absl::IsPermissionDenied(MayChargeAs(Caller::Service("weather"), "")));
}

TEST(ChargeRuleTest, TheRefusalNamesTheCredentialPresented) {
  absl::Status other = MayChargeAs(Caller::Driver("luis"), "ana", "charge assertion");
  EXPECT_TRUE(absl::IsPermissionDenied(other));
  EXPECT_EQ(other.message(), "the charge assertion belongs to 'luis', not to driver 'ana'");
}

}  // namespace
}  // namespace evc
