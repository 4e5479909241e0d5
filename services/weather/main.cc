// evc-weather: reads the temperature at every city with charging points and
// holds their CPs out of service while it is outside the safe range.

#include "absl/flags/flag.h"
#include "services/common/log.h"
#include "services/common/publisher.h"
#include "services/common/service_main.h"
#include "services/weather/provider_choice.h"
#include "services/weather/weather_node.h"
#include "services/weather/weather_grpc.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50054", "gRPC listen address (host:port)");
ABSL_FLAG(std::string, registry, "127.0.0.1:50051", "registry gRPC address (the charging points)");
ABSL_FLAG(std::string, auth, "127.0.0.1:50052", "auth gRPC address (token-signing keys)");
ABSL_FLAG(std::string, central, "127.0.0.1:50053", "central gRPC address (where holds go; several replicas: ipv4:HOST:PORT,HOST:PORT or a name with several records, the leader is called)");
ABSL_FLAG(std::string, provider, "simulated",
          "where temperatures come from: 'simulated' (offline; operators can set a city's "
          "temperature) or 'openweather' (API key in EVC_OPENWEATHER_API_KEY or --openweather_key_file)");
ABSL_FLAG(std::string, openweather_key_file, "", "file holding the OpenWeather API key");
ABSL_FLAG(std::string, openweather_url, "https://api.openweathermap.org", "OpenWeather base URL");
ABSL_FLAG(absl::Duration, openweather_timeout, absl::Seconds(5), "timeout of one OpenWeather call");
ABSL_FLAG(int, openweather_calls_per_minute, 50, "OpenWeather call budget (the free plan allows 60)");
ABSL_FLAG(double, min_c, 0, "initial lower limit of the safe range, °C (live config wins once stored)");
ABSL_FLAG(double, max_c, 40, "initial upper limit of the safe range, °C");
ABSL_FLAG(double, hysteresis_c, 1, "how far back inside the range a reading must be to clear an alert, °C");
ABSL_FLAG(absl::Duration, poll_interval, absl::Seconds(5), "initial period between readings of every city");
ABSL_FLAG(absl::Duration, sync_interval, absl::Minutes(1),
          "initial period between full re-reads of the charging points at the registry");

// What --help says before the flags.
constexpr char kAbout[] =
    "evc-weather: weather alerts for the charging network (gRPC service).\n"
    "Reads the temperature of every city with CPs (simulated provider, or OpenWeather) and\n"
    "holds their CPs out of service while it is outside --min_c..--max_c.\n"
    "\n"
    "usage: evc-weather [--flag=value ...]\n"
    "example:\n"
    "  evc-weather --listen=127.0.0.1:50054 --central=127.0.0.1:50053 --max_c=38 \\\n"
    "    --postgres_url=postgresql://evc@127.0.0.1:55432/evc --kafka=127.0.0.1:9092\n";

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "weather", kAbout);
  evc::weather::Settings defaults{
      .thresholds = {absl::GetFlag(FLAGS_min_c), absl::GetFlag(FLAGS_max_c), absl::GetFlag(FLAGS_hysteresis_c)},
      .poll_interval = absl::GetFlag(FLAGS_poll_interval),
      .sync_interval = absl::GetFlag(FLAGS_sync_interval)};
  evc::ExitIfError("invalid thresholds or intervals", evc::weather::Validate(defaults));
  evc::SystemClock clock;
  evc::weather::ProviderChoice choice = evc::weather::ChooseProvider(
      {.name = absl::GetFlag(FLAGS_provider),
       .env_api_key = evc::weather::ApiKeyFromEnvironment(),
       .key_file = absl::GetFlag(FLAGS_openweather_key_file),
       .base_url = absl::GetFlag(FLAGS_openweather_url),
       .timeout = absl::GetFlag(FLAGS_openweather_timeout),
       .max_calls_per_minute = absl::GetFlag(FLAGS_openweather_calls_per_minute)},
      clock);
  evc::ExitIfError(choice.bad_flag, choice.error);
  evc::ServiceDeps deps =
      evc::ConnectDeps("weather", {.postgres = true, .kafka_producer = true, .postgres_connections = 3});
  auto callers = evc::CallerAuth::Start("weather", evc::MakeChannel(absl::GetFlag(FLAGS_auth)), clock);
  evc::ExitIfError("cannot follow auth events (--kafka)", callers.status());
  auto node = evc::weather::WeatherNode::Start(
      {.registry = evc::MakeChannel(absl::GetFlag(FLAGS_registry)),
       .central = evc::MakeCentralChannel(absl::GetFlag(FLAGS_central)),
       .kafka_brokers = evc::KafkaBrokers(),
       .audit_stream = deps.producer.get()},
      *deps.postgres, *choice.provider, defaults, clock);
  evc::ExitIfError("cannot restore the weather state", node.status());
  evc::log::Info("weather watching", {{"provider", choice.provider->name()}});

  evc::WorkerPool pool(4, 1000);
  evc::weather::WeatherGrpc service((*node)->watcher(), (*node)->store(), (*callers)->authorizer(), pool);
  int code = evc::Serve("weather", absl::GetFlag(FLAGS_listen), {&service});
  node->reset();
  callers->reset();
  return code;
}
