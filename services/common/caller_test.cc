#include "services/common/caller.h"

#include <gtest/gtest.h>

namespace evc {
namespace {

TEST(CallerTest, TokenRolesBecomeDriversAndOperators) {
  Claims claims{"ana", kRoleDriver, "s-1", "t-1", absl::UnixEpoch(), absl::UnixEpoch()};
  absl::StatusOr<Caller> driver = CallerFromClaims(claims, "ipv4:10.0.0.1:5000");
  ASSERT_TRUE(driver.ok()) << driver.status();
  EXPECT_TRUE(driver->is_driver());
  EXPECT_FALSE(driver->is_operator());
  EXPECT_EQ(driver->name, "ana");
  EXPECT_EQ(driver->session_id, "s-1");
  EXPECT_EQ(driver->source, "ipv4:10.0.0.1:5000");
  EXPECT_EQ(driver->role(), kRoleDriver);

  claims.role = kRoleOperator;
  absl::StatusOr<Caller> op = CallerFromClaims(claims, "");
  ASSERT_TRUE(op.ok());
  EXPECT_TRUE(op->is_operator());
  EXPECT_EQ(op->role(), kRoleOperator);
}

TEST(CallerTest, UnknownRoleIsRefused) {
  Claims claims{"eve", "root", "s", "t", absl::UnixEpoch(), absl::UnixEpoch()};
  absl::StatusOr<Caller> caller = CallerFromClaims(claims, "");
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(caller.status().message().find("root"), std::string::npos);
}

TEST(CallerTest, AuditNamesAndDescriptions) {
  EXPECT_EQ(Caller::ChargingPoint("CP-1").AuditName(), "cp:CP-1");
  EXPECT_EQ(Caller::Operator("olga").AuditName(), "olga");
  EXPECT_EQ(Caller::Service("weather").AuditName(), "weather");
  EXPECT_EQ(Caller::Anonymous().AuditName(), "");
  EXPECT_TRUE(Caller::Anonymous().is_anonymous());
  EXPECT_FALSE(Caller::Anonymous().is_account());
  EXPECT_EQ(Caller::Driver("ana").Describe(), "driver 'ana'");
  EXPECT_EQ(Caller::Anonymous().Describe(), "anonymous caller");
  EXPECT_EQ(Caller::System("central").role(), "");
}

}  // namespace
}  // namespace evc
