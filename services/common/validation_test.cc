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

TEST(Validation, DriverIdsMayBeEmails) {
  EXPECT_TRUE(ValidateDriverId("ana@example.com").ok());
  EXPECT_FALSE(ValidateDriverId("ana;drop").ok());
}

}  // namespace
}  // namespace evc
