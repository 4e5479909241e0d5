#include "services/common/validation.h"

#include <gtest/gtest.h>

namespace evc {
namespace {

TEST(Validation, CpIds) {
  EXPECT_TRUE(ValidateCpId("ALC-001").ok());
  EXPECT_TRUE(ValidateCpId("a.b_c-1").ok());
  EXPECT_EQ(ValidateCpId("").message(), "cp_id is required");
  EXPECT_FALSE(ValidateCpId("-lead").ok());
  EXPECT_FALSE(ValidateCpId("has space").ok());
  EXPECT_FALSE(ValidateCpId("x@y").ok());
  EXPECT_FALSE(ValidateCpId(std::string(65, 'a')).ok());
}

TEST(Validation, SupplyIdsAreBoundedIds) {
  EXPECT_TRUE(ValidateSupplyId("3f2a9c0d11e04b6fa1c2d3e4f5a6b7c8").ok());
  EXPECT_EQ(ValidateSupplyId("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateSupplyId(std::string(65, 'a')).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateSupplyId("s1\n").code(), absl::StatusCode::kInvalidArgument);
}

TEST(Validation, DriverIdsMayBeEmails) {
  EXPECT_TRUE(ValidateDriverId("ana@example.com").ok());
  EXPECT_FALSE(ValidateDriverId("ana;drop").ok());
}

TEST(Validation, PricesAreBetweenOneMillieuroAndOneHundredEurosPerKwh) {
  EXPECT_TRUE(ValidatePriceMillieurosPerKwh(1).ok());
  EXPECT_TRUE(ValidatePriceMillieurosPerKwh(100'000).ok());
  EXPECT_EQ(ValidatePriceMillieurosPerKwh(0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidatePriceMillieurosPerKwh(100'001).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ValidatePriceMillieurosPerKwh(-5).message().find("(got -5; 350 means 0.35 €/kWh)"),
            std::string::npos);
}

}  // namespace
}  // namespace evc
