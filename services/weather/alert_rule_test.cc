#include "services/weather/alert_rule.h"

#include <gtest/gtest.h>

namespace evc::weather {
namespace {

const Thresholds kDefault{0, 40, 1};

TEST(AlertRuleTest, OutsideTheRangeRaisesAnAlert) {
  EXPECT_TRUE(NextAlertState(false, 45, kDefault));
  EXPECT_TRUE(NextAlertState(false, 40.1, kDefault));
  EXPECT_TRUE(NextAlertState(false, -0.1, kDefault));
  EXPECT_FALSE(NextAlertState(false, 40, kDefault)) << "the range is inclusive";
  EXPECT_FALSE(NextAlertState(false, 0, kDefault));
  EXPECT_FALSE(NextAlertState(false, 20, kDefault));
}

TEST(AlertRuleTest, HysteresisKeepsAHoveringReadingFromFlapping) {
  bool in_alert = false;
  int transitions = 0;
  for (double t : {40.2, 39.8, 40.1, 39.5, 40.3, 39.9}) {
    bool next = NextAlertState(in_alert, t, kDefault);
    transitions += next != in_alert;
    in_alert = next;
  }
  EXPECT_EQ(transitions, 1);
  EXPECT_TRUE(in_alert);
  EXPECT_FALSE(NextAlertState(true, 39, kDefault)) << "inside by the hysteresis: clear";
  EXPECT_TRUE(NextAlertState(true, 0.5, kDefault));
  EXPECT_FALSE(NextAlertState(true, 1, kDefault));
}

TEST(AlertRuleTest, ZeroHysteresisClearsAsSoonAsBackInRange) {
  Thresholds t{0, 40, 0};
  EXPECT_FALSE(NextAlertState(true, 40, t));
  EXPECT_TRUE(NextAlertState(true, 40.01, t));
}

TEST(AlertRuleTest, DescribesTheTemperatureAgainstTheRange) {
  EXPECT_EQ(DescribeTemperature(45, kDefault), "45.0 °C, above 40.0 °C");
  EXPECT_EQ(DescribeTemperature(-3.5, kDefault), "-3.5 °C, below 0.0 °C");
  EXPECT_EQ(DescribeTemperature(20, kDefault), "20.0 °C, within 0.0..40.0 °C");
}

TEST(AlertRuleTest, ValidateRefusesSettingsThatMakeNoSense) {
  Settings ok;
  EXPECT_TRUE(Validate(ok).ok());
  Settings inverted = ok;
  inverted.thresholds = {30, 10, 1};
  EXPECT_EQ(Validate(inverted).code(), absl::StatusCode::kInvalidArgument);
  Settings wide_hysteresis = ok;
  wide_hysteresis.thresholds.hysteresis_c = 20;
  EXPECT_FALSE(Validate(wide_hysteresis).ok());
  Settings fast = ok;
  fast.poll_interval = absl::Milliseconds(10);
  EXPECT_FALSE(Validate(fast).ok());
  Settings nan = ok;
  nan.thresholds.max_c = std::nan("");
  EXPECT_FALSE(Validate(nan).ok());
}

TEST(AlertRuleTest, MergeAppliesTheMaskedFieldsOnly) {
  v1::WeatherConfig update;
  update.set_max_c(35);
  update.set_min_c(-10);
  absl::StatusOr<Settings> merged = Merge(Settings(), update, {"max_c"});
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->thresholds.max_c, 35);
  EXPECT_EQ(merged->thresholds.min_c, 0);
  EXPECT_EQ(merged->poll_interval, absl::Seconds(5));
}

TEST(AlertRuleTest, MergeWithoutAMaskTakesTheFieldsGiven) {
  v1::WeatherConfig update;
  update.set_max_c(38);
  update.mutable_poll_interval()->set_seconds(2);
  absl::StatusOr<Settings> merged = Merge(Settings(), update, {});
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->thresholds.max_c, 38);
  EXPECT_EQ(merged->thresholds.hysteresis_c, 1);
  EXPECT_EQ(merged->poll_interval, absl::Seconds(2));
}

TEST(AlertRuleTest, MergeRefusesUnknownFieldsAndBadResults) {
  v1::WeatherConfig update;
  EXPECT_EQ(Merge(Settings(), update, {"colour"}).status().code(), absl::StatusCode::kInvalidArgument);
  update.set_max_c(-5);
  EXPECT_FALSE(Merge(Settings(), update, {"max_c"}).ok());
}

}  // namespace
}  // namespace evc::weather
