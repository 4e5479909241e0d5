#include "services/weather/provider_choice.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "services/common/testing/fake_clock.h"

namespace evc::weather {
namespace {

ProviderFlags OpenWeatherFlags() {
  return {.name = "openweather",
          .env_api_key = "from-the-environment",
          .base_url = "http://127.0.0.1:1",
          .timeout = absl::Seconds(1),
          .max_calls_per_minute = 50};
}

TEST(ProviderChoiceTest, SimulatedNeedsNothingElse) {
  FakeClock clock;
  ProviderChoice choice = ChooseProvider({.name = "simulated"}, clock);
  ASSERT_TRUE(choice.error.ok()) << choice.error;
  EXPECT_EQ(choice.provider->name(), "simulated");
}

TEST(ProviderChoiceTest, AnUnknownProviderNamesTheFlag) {
  FakeClock clock;
  ProviderChoice choice = ChooseProvider({.name = "sunny"}, clock);
  EXPECT_EQ(choice.provider, nullptr);
  EXPECT_EQ(choice.bad_flag, "--provider");
  EXPECT_EQ(choice.error,
            absl::InvalidArgumentError("must be 'simulated' or 'openweather', not 'sunny'"));
}

TEST(ProviderChoiceTest, OpenWeatherTakesItsKeyFromTheEnvironmentFirst) {
  FakeClock clock;
  ProviderFlags flags = OpenWeatherFlags();
  flags.key_file = "/nonexistent/key";
  ProviderChoice choice = ChooseProvider(flags, clock);
  ASSERT_TRUE(choice.error.ok()) << choice.error;
  EXPECT_EQ(choice.provider->name(), "openweather");
}

TEST(ProviderChoiceTest, OpenWeatherReadsItsKeyFileWithoutTheEnvironment) {
  FakeClock clock;
  const std::string path = ::testing::TempDir() + "/openweather.key";
  std::ofstream(path) << "from-a-file\n";
  ProviderFlags flags = OpenWeatherFlags();
  flags.env_api_key = "";
  flags.key_file = path;
  ProviderChoice choice = ChooseProvider(flags, clock);
  std::remove(path.c_str());
  ASSERT_TRUE(choice.error.ok()) << choice.error;
  EXPECT_EQ(choice.provider->name(), "openweather");
}

TEST(ProviderChoiceTest, OpenWeatherWithoutAKeySaysWhereToPutOne) {
  FakeClock clock;
  ProviderFlags flags = OpenWeatherFlags();
  flags.env_api_key = "";
  ProviderChoice choice = ChooseProvider(flags, clock);
  EXPECT_EQ(choice.provider, nullptr);
  EXPECT_EQ(choice.bad_flag,
            "--provider=openweather needs EVC_OPENWEATHER_API_KEY or --openweather_key_file");
  EXPECT_FALSE(choice.error.ok());
}

TEST(ProviderChoiceTest, OpenWeatherNeedsACallBudget) {
  FakeClock clock;
  ProviderFlags flags = OpenWeatherFlags();
  flags.max_calls_per_minute = 0;
  ProviderChoice choice = ChooseProvider(flags, clock);
  EXPECT_EQ(choice.provider, nullptr);
  EXPECT_EQ(choice.bad_flag, "--openweather_calls_per_minute");
  EXPECT_EQ(choice.error, absl::InvalidArgumentError("must be at least 1"));
}

TEST(ProviderChoiceTest, TheEnvironmentsKeyIsReadFromEVC_OPENWEATHER_API_KEY) {
  unsetenv("EVC_OPENWEATHER_API_KEY");
  EXPECT_EQ(ApiKeyFromEnvironment(), "");
  setenv("EVC_OPENWEATHER_API_KEY", "k-123", 1);
  EXPECT_EQ(ApiKeyFromEnvironment(), "k-123");
  unsetenv("EVC_OPENWEATHER_API_KEY");
}

}  // namespace
}  // namespace evc::weather
