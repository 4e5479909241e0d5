#include "services/common/names.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace evc {
namespace {

TEST(NamesTest, StateNameDropsTheEnumPrefix) {
  EXPECT_EQ(StateName(common::v1::CP_STATE_ACTIVE), "ACTIVE");
  EXPECT_EQ(StateName(common::v1::CP_STATE_OUT_OF_SERVICE), "OUT_OF_SERVICE");
  EXPECT_EQ(StateName(common::v1::CP_STATE_UNSPECIFIED), "UNSPECIFIED");
}

TEST(NamesTest, EveryEndReasonHasItsOwnText) {
  EXPECT_EQ(EndReasonText(common::v1::END_REASON_UNPLUGGED), "vehicle unplugged");
  EXPECT_EQ(EndReasonText(common::v1::END_REASON_ENGINE_SILENT),
            "charging point stopped answering");
  std::set<std::string> texts;
  for (int r = common::v1::EndReason_MIN + 1; r <= common::v1::EndReason_MAX; ++r) {
    ASSERT_TRUE(common::v1::EndReason_IsValid(r));
    texts.insert(EndReasonText(static_cast<common::v1::EndReason>(r)));
  }
  EXPECT_EQ(texts.size(), static_cast<size_t>(common::v1::EndReason_MAX))
      << "two reasons share a text";
  EXPECT_EQ(texts.count("ended"), 0u) << "a reason falls back to the generic text";
  EXPECT_EQ(EndReasonText(common::v1::END_REASON_UNSPECIFIED), "ended");
}

TEST(NamesTest, RejectReasonText) {
  EXPECT_EQ(RejectReasonText(common::v1::REJECT_REASON_CP_BUSY), "charging point is busy");
  EXPECT_EQ(RejectReasonText(common::v1::REJECT_REASON_DRIVER_ALREADY_CHARGING),
            "driver is already charging");
  EXPECT_EQ(RejectReasonText(common::v1::REJECT_REASON_UNSPECIFIED), "rejected");
}

TEST(NamesTest, HoldReasonText) {
  EXPECT_EQ(HoldReasonText(common::v1::HOLD_REASON_OPERATOR), "operator stop");
  EXPECT_EQ(HoldReasonText(common::v1::HOLD_REASON_WEATHER), "weather alert");
  EXPECT_EQ(HoldReasonText(common::v1::HOLD_REASON_UNSPECIFIED), "hold");
}

}  // namespace
}  // namespace evc
