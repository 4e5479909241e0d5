#include "services/common/process.h"

#include <gtest/gtest.h>

namespace evc {
namespace {

TEST(Process, FlagNamesMapToEnvironmentVariables) {
  EXPECT_EQ(EnvNameForFlag("postgres_url"), "EVC_POSTGRES_URL");
  EXPECT_EQ(EnvNameForFlag("listen"), "EVC_LISTEN");
}

}  // namespace
}  // namespace evc
