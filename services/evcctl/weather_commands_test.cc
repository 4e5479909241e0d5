// `evcctl weather ...` against a fake weather service in this process.

#include "services/evcctl/weather_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "evc/weather/v1/weather.grpc.pb.h"
#include "services/evcctl/test_network.h"

namespace evc::evcctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FakeWeather : public weather::v1::WeatherService::Service {
 public:
  grpc::Status ListCities(grpc::ServerContext*, const weather::v1::ListCitiesRequest*,
                          weather::v1::ListCitiesResponse* response) override {
    response->set_provider("simulated");
    auto* city = response->add_cities();
    city->set_city("Alicante");
    city->set_country("ES");
    city->add_cp_ids("ALC-1");
    return grpc::Status::OK;
  }
  grpc::Status SetTemperature(grpc::ServerContext*,
                              const weather::v1::SetTemperatureRequest* request,
                              weather::v1::City* response) override {
    absl::MutexLock lock(&mu);
    set = *request;
    response->set_city(request->city());
    response->set_country(request->country());
    response->mutable_latest()->set_temperature_c(request->temperature_c());
    response->set_override_c(request->temperature_c());
    response->set_in_alert(request->temperature_c() < 0);
    return grpc::Status::OK;
  }
  grpc::Status GetConfig(grpc::ServerContext*, const weather::v1::GetConfigRequest*,
                         weather::v1::WeatherConfig* response) override {
    response->set_min_c(-5);
    response->set_max_c(40);
    response->set_hysteresis_c(1);
    response->mutable_poll_interval()->set_seconds(5);
    response->mutable_sync_interval()->set_seconds(30);
    return grpc::Status::OK;
  }
  grpc::Status UpdateConfig(grpc::ServerContext*, const weather::v1::UpdateConfigRequest* request,
                            weather::v1::WeatherConfig* response) override {
    absl::MutexLock lock(&mu);
    updated = *request;
    *response = request->config();
    return grpc::Status::OK;
  }

  absl::Mutex mu;
  weather::v1::SetTemperatureRequest set ABSL_GUARDED_BY(mu);
  weather::v1::UpdateConfigRequest updated ABSL_GUARDED_BY(mu);
};

class WeatherCommandsTest : public ::testing::Test {
 protected:
  FakeWeather weather;
  TestNetwork network{&weather};
  Context& context = network.context();
};

TEST_F(WeatherCommandsTest, CitiesIsTheDefaultAndNeedsNoLogin) {
  EXPECT_EQ(WeatherCommand(context, {"weather"}), 0);
  EXPECT_EQ(network.Out(),
            "provider: simulated\n"
            "CITY             CC       TEMP  STATE  CPS\n"
            "Alicante         ES       - °C  ok     ALC-1                   \n");
  EXPECT_FALSE(network.connections().opened[0].login);
}

TEST_F(WeatherCommandsTest, SetSendsTheCityCountryAndTemperatureAsAnOperator) {
  EXPECT_EQ(WeatherCommand(context, {"weather", "set", "Oslo,NO", "-8"}), 0);
  EXPECT_EQ(network.Out(), "Oslo             NO    -8.0 °C  ALERT  " + std::string(24, ' ') +
                               " (set by operator)\n");
  EXPECT_TRUE(network.connections().opened[0].login);
  absl::MutexLock lock(&weather.mu);
  EXPECT_EQ(weather.set.city(), "Oslo");
  EXPECT_EQ(weather.set.country(), "NO");
  EXPECT_EQ(weather.set.temperature_c(), -8);
}

TEST_F(WeatherCommandsTest, SetWithoutANumberSaysHow) {
  EXPECT_EQ(WeatherCommand(context, {"weather", "set", "Oslo", "warm"}), 1);
  EXPECT_EQ(network.Err(),
            "evcctl: INVALID_ARGUMENT: usage: evcctl weather set CITY[,CC] TEMP (°C, e.g. 45 or "
            "-7.5)\n");
}

TEST_F(WeatherCommandsTest, ConfigWithoutChangesReadsIt) {
  EXPECT_EQ(WeatherCommand(context, {"weather", "config"}), 0);
  EXPECT_EQ(network.Out(),
            "safe range -5.0..40.0 °C, hysteresis 1.0 °C, poll every 5s, CP sync every 30s\n");
  EXPECT_FALSE(network.connections().opened[0].login);
}

TEST_F(WeatherCommandsTest, ConfigChangesOnlyTheFieldsGiven) {
  EXPECT_EQ(WeatherCommand(context, {"weather", "config", "max_c=30", "poll_interval=2s"}), 0);
  EXPECT_TRUE(network.connections().opened[0].login);
  absl::MutexLock lock(&weather.mu);
  EXPECT_THAT(weather.updated.update_mask().paths(), ElementsAre("max_c", "poll_interval"));
  EXPECT_EQ(weather.updated.config().max_c(), 30);
  EXPECT_EQ(weather.updated.config().poll_interval().seconds(), 2);
}

TEST_F(WeatherCommandsTest, AnUnknownConfigFieldNamesTheKnownOnes) {
  EXPECT_EQ(WeatherCommand(context, {"weather", "config", "colour=blue"}), 1);
  EXPECT_THAT(network.Err(), HasSubstr("cannot set 'colour=blue': known are min_c, max_c"));
  EXPECT_EQ(WeatherCommand(context, {"weather", "config", "max_c"}), 1);
  EXPECT_THAT(network.Err(), HasSubstr("config changes are NAME=VALUE"));
  EXPECT_TRUE(network.connections().opened.empty());
}

TEST_F(WeatherCommandsTest, AnUnknownSubcommandIsAUsageError) {
  EXPECT_EQ(WeatherCommand(context, {"weather", "forecast"}), 2);
  EXPECT_EQ(WeatherCommand(context, {"weather", "readings"}), 2);
  EXPECT_THAT(network.Err(), HasSubstr("usage: evcctl weather [cities] | set CITY[,CC] TEMP"));
}

}  // namespace
}  // namespace evc::evcctl
