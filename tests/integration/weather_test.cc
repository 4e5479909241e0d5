// Weather alerts end to end (MISSION.md flow 8): evc-weather with the
// simulated provider against the real registry, central, CPs, Postgres and
// Kafka. Each test uses cities of its own.

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/grpc_util.h"
#include "tests/integration/loop_client.h"
#include "tests/integration/stack.h"

namespace evc::testing {
namespace {

using common::v1::CpState;
using weather::v1::WeatherService;

class WeatherTest : public StackSuite<WeatherTest> {
 public:
  static Stack::Options StackOptions() { return {}; }
  static absl::Status AfterStart(Stack& stack) {
    return stack.StartWeather({"--poll_interval=1s", "--sync_interval=5s"});
  }

 protected:
  absl::StatusOr<weather::v1::City> SetTemperature(const std::string& city, double celsius) {
    weather::v1::SetTemperatureRequest r;
    r.set_city(city);
    r.set_temperature_c(celsius);
    return CallUnary(&WeatherService::Stub::SetTemperature, stack().weather(), r, absl::Seconds(10));
  }
  bool HasHold(const std::string& cp, common::v1::HoldReason reason) {
    auto s = stack().Status(cp);
    if (!s) return false;
    for (const auto& h : s->hold_details()) {
      if (h.reason() == reason) return true;
    }
    return false;
  }
  std::string Count(const std::string& table, const std::string& where) {
    return stack().Sql(absl::StrCat("SELECT count(*) FROM ", table, " WHERE ", where));
  }
  std::optional<weather::v1::City> City(const std::string& name) {
    auto list = CallUnary(&WeatherService::Stub::ListCities, stack().weather(),
                          weather::v1::ListCitiesRequest(), absl::Seconds(5));
    if (!list.ok()) return std::nullopt;
    for (const auto& c : list->cities()) {
      if (c.city() == name) return c;
    }
    return std::nullopt;
  }
};

TEST_F(WeatherTest, HeatWaveHoldsActiveCpsAndLetsARunningSupplyFinishFirst) {
  LoopClient loop(stack());
  ASSERT_NO_FATAL_FAILURE(loop.BringUp("W-ALC-1", "", "Alicante"));
  ASSERT_NO_FATAL_FAILURE(loop.BringUp("W-ALC-2", "w-ana", "Alicante"));
  auto supply = loop.Request("W-ALC-2", "w-ana");
  ASSERT_TRUE(supply.ok()) << supply.status();
  ASSERT_GE(loop.WaitForEnergy(supply->supply_id(), 10), 10);

  auto hot = SetTemperature("Alicante", 45);
  ASSERT_TRUE(hot.ok()) << hot.status();
  EXPECT_TRUE(hot->in_alert());
  EXPECT_TRUE(stack().WaitForState("W-ALC-1", common::v1::CP_STATE_OUT_OF_SERVICE));
  EXPECT_TRUE(Stack::WaitFor([&] { return HasHold("W-ALC-2", common::v1::HOLD_REASON_WEATHER); }));
  auto during = stack().Status("W-ALC-2");
  ASSERT_TRUE(during.has_value());
  EXPECT_EQ(during->state(), common::v1::CP_STATE_SUPPLYING) << "the supply is not cut";
  EXPECT_TRUE(absl::StrContains(during->hold_details(0).detail(), "45.0 °C, above 40.0 °C"))
      << during->hold_details(0).detail();
  const int64_t before_stop = loop.WaitForEnergy(supply->supply_id(), 20);
  EXPECT_GE(before_stop, 20) << "energy kept flowing under the alert";

  ASSERT_TRUE(loop.Stop(supply->supply_id(), "w-ana").ok());
  auto ticket = loop.WaitForTicket(supply->supply_id());
  ASSERT_TRUE(ticket.has_value());
  EXPECT_EQ(ticket->end_reason(), common::v1::END_REASON_DRIVER_STOP) << "a normal ticket";
  EXPECT_GE(ticket->energy_wh(), before_stop);
  EXPECT_TRUE(stack().WaitForState("W-ALC-2", common::v1::CP_STATE_OUT_OF_SERVICE));

  auto mild = SetTemperature("Alicante", 20);
  ASSERT_TRUE(mild.ok()) << mild.status();
  EXPECT_FALSE(mild->in_alert());
  EXPECT_TRUE(stack().WaitForState("W-ALC-1", common::v1::CP_STATE_ACTIVE));
  EXPECT_TRUE(stack().WaitForState("W-ALC-2", common::v1::CP_STATE_ACTIVE));

  EXPECT_EQ(Count("weather_alerts", "city = 'Alicante' AND kind = 'ALERT'"), "1");
  EXPECT_EQ(Count("weather_alerts", "city = 'Alicante' AND kind = 'CLEAR'"), "1");
  EXPECT_EQ(Count("audit_events", "action = 'weather_hold' AND cp_id = 'W-ALC-1'"), "1");
  EXPECT_EQ(Count("audit_events", "action = 'weather_alert' AND details->>'city' = 'Alicante'"), "1");
  EXPECT_NE(Count("weather_readings", "city = 'Alicante'"), "0");
}

TEST_F(WeatherTest, OperatorStopOutlivesTheWeatherClear) {
  LoopClient loop(stack());
  ASSERT_NO_FATAL_FAILURE(loop.BringUp("W-MUR-1", "", "Murcia"));
  std::string out;
  ASSERT_EQ(stack().RunTool("evcctl", {"--central=" + stack().central_address(), "stop", "W-MUR-1"}, &out), 0) << out;
  ASSERT_EQ(stack().RunTool("evcctl", {"--weather=" + stack().weather_address(), "weather", "set", "Murcia", "-8"}, &out), 0)
      << out;
  EXPECT_TRUE(absl::StrContains(out, "ALERT")) << out;
  EXPECT_TRUE(Stack::WaitFor([&] { return HasHold("W-MUR-1", common::v1::HOLD_REASON_WEATHER); }));
  ASSERT_EQ(stack().RunTool("evcctl", {"--weather=" + stack().weather_address(), "weather", "set", "Murcia", "15"}, &out), 0)
      << out;
  EXPECT_TRUE(Stack::WaitFor([&] { return !HasHold("W-MUR-1", common::v1::HOLD_REASON_WEATHER); }));
  auto after = stack().Status("W-MUR-1");
  EXPECT_EQ(after->state(), common::v1::CP_STATE_OUT_OF_SERVICE) << "the operator stop still holds";
  ASSERT_EQ(after->holds_size(), 1);
  EXPECT_EQ(after->holds(0), common::v1::HOLD_REASON_OPERATOR);
  ASSERT_EQ(stack().RunTool("evcctl", {"--central=" + stack().central_address(), "status"}, &out), 0);
  EXPECT_TRUE(absl::StrContains(out, "held: stopped by an operator")) << out;
  ASSERT_EQ(stack().RunTool("evcctl", {"--central=" + stack().central_address(), "resume", "W-MUR-1"}, &out), 0) << out;
  EXPECT_TRUE(stack().WaitForState("W-MUR-1", common::v1::CP_STATE_ACTIVE));
}

TEST_F(WeatherTest, CpInANewCityIsWatchedWithoutARestart) {
  ASSERT_TRUE(stack().RegisterCp("W-CAD-1", 36000, "Cádiz").ok());
  // Registry events reach the weather service at once; the sync every 5 s
  // (a minute by default) catches anything missed.
  EXPECT_TRUE(Stack::WaitFor([&] {
    auto c = City("Cádiz");
    return c && c->has_latest();
  }, absl::Seconds(60))) << "Cádiz was never read";
  ASSERT_TRUE(SetTemperature("Cádiz", 44).ok());
  EXPECT_TRUE(Stack::WaitFor([&] { return HasHold("W-CAD-1", common::v1::HOLD_REASON_WEATHER); }));
  EXPECT_EQ(stack().Status("W-CAD-1")->state(), common::v1::CP_STATE_DISCONNECTED)
      << "a CP with no monitor keeps its state and remembers the hold";
  ASSERT_TRUE(SetTemperature("Cádiz", 25).ok());
  EXPECT_TRUE(Stack::WaitFor([&] { return !HasHold("W-CAD-1", common::v1::HOLD_REASON_WEATHER); }));
}

TEST_F(WeatherTest, WeatherAndCentralRestartsNeitherRepeatNorForgetAnAlert) {
  LoopClient loop(stack());
  ASSERT_NO_FATAL_FAILURE(loop.BringUp("W-SEV-1", "", "Sevilla"));
  ASSERT_TRUE(SetTemperature("Sevilla", 47).ok());
  ASSERT_TRUE(stack().WaitForState("W-SEV-1", common::v1::CP_STATE_OUT_OF_SERVICE));

  stack().weather_process().Kill();
  EXPECT_EQ(stack().Status("W-SEV-1")->state(), common::v1::CP_STATE_OUT_OF_SERVICE)
      << "weather down changes nothing at central";
  ASSERT_TRUE(stack().StartWeather({"--poll_interval=1s", "--sync_interval=5s"}).ok());
  // Several rounds with the override (stored) still at 47 °C.
  EXPECT_TRUE(Stack::WaitFor([&] {
    auto c = City("Sevilla");
    return c && c->has_latest() && c->in_alert();
  }));
  absl::SleepFor(absl::Seconds(3));
  EXPECT_EQ(Count("weather_alerts", "city = 'Sevilla'"), "1") << "no duplicate alert";
  EXPECT_EQ(Count("audit_events", "action = 'weather_hold' AND cp_id = 'W-SEV-1'"), "1");
  EXPECT_EQ(stack().Status("W-SEV-1")->state(), common::v1::CP_STATE_OUT_OF_SERVICE);

  ASSERT_TRUE(stack().RestartCentral().ok());
  EXPECT_TRUE(stack().WaitForState("W-SEV-1", common::v1::CP_STATE_OUT_OF_SERVICE))
      << "central keeps its holds across a restart";
  EXPECT_TRUE(HasHold("W-SEV-1", common::v1::HOLD_REASON_WEATHER));

  ASSERT_TRUE(SetTemperature("Sevilla", 22).ok());
  EXPECT_TRUE(stack().WaitForState("W-SEV-1", common::v1::CP_STATE_ACTIVE));
}

TEST_F(WeatherTest, ThresholdsChangeLiveAndBadInputIsRefused) {
  LoopClient loop(stack());
  ASSERT_NO_FATAL_FAILURE(loop.BringUp("W-VLC-1", "", "Valencia"));
  ASSERT_TRUE(SetTemperature("Valencia", 33).ok());
  EXPECT_EQ(stack().Status("W-VLC-1")->state(), common::v1::CP_STATE_ACTIVE);

  std::string out;
  ASSERT_EQ(stack().RunTool("evcctl", {"--weather=" + stack().weather_address(), "weather", "config", "max_c=30"}, &out), 0)
      << out;
  EXPECT_TRUE(absl::StrContains(out, "safe range 0.0..30.0 °C")) << out;
  EXPECT_TRUE(stack().WaitForState("W-VLC-1", common::v1::CP_STATE_OUT_OF_SERVICE))
      << "the new limit applies without a restart";
  ASSERT_EQ(stack().RunTool("evcctl", {"--weather=" + stack().weather_address(), "weather", "config", "max_c=40"}, &out), 0)
      << out;
  EXPECT_TRUE(stack().WaitForState("W-VLC-1", common::v1::CP_STATE_ACTIVE));

  EXPECT_NE(stack().RunTool("evcctl", {"--weather=" + stack().weather_address(), "weather", "config", "max_c=-100"}, &out), 0);
  EXPECT_TRUE(absl::StrContains(out, "INVALID_ARGUMENT")) << out;
  EXPECT_NE(stack().RunTool("evcctl", {"--weather=" + stack().weather_address(), "weather", "set", "Atlantis", "45"}, &out), 0);
  EXPECT_TRUE(absl::StrContains(out, "no charging point is in a city named 'Atlantis'")) << out;

  // Drivers may read the weather but not change it.
  ASSERT_TRUE(stack().AddDriver("w-luis").ok());
  auto as_driver = WeatherService::NewStub(
      MakeChannel(stack().weather_address(), stack().driver("w-luis").Bearer(), &stack().client_tls()));
  weather::v1::SetTemperatureRequest r;
  r.set_city("Valencia");
  r.set_temperature_c(50);
  EXPECT_EQ(CallUnary(&WeatherService::Stub::SetTemperature, *as_driver, r, absl::Seconds(5)).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(CallUnary(&WeatherService::Stub::ListCities, *as_driver, weather::v1::ListCitiesRequest(),
                        absl::Seconds(5)).ok());
  ASSERT_TRUE(SetTemperature("Valencia", 20).ok());
}

}  // namespace
}  // namespace evc::testing
