// evc-cp-fleet: many charging points (engine + monitor pairs) in one process,
// for demos and load. The same Engine and Monitor classes as the single-CP
// binaries; only the plumbing is shared: one Kafka producer and consumer, one
// channel to central, and a few tick threads.

#include <map>
#include <memory>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "services/common/client_session.h"
#include "services/common/grpc_server.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/common/backoff.h"
#include "services/common/process.h"
#include "services/common/service_main.h"
#include "services/cp/cp_runtime.h"
#include "services/cp/fleet.h"

ABSL_FLAG(int, count, 10, "how many charging points to simulate");
ABSL_FLAG(std::string, prefix, "FLEET-", "CP ids are <prefix>00001, <prefix>00002, ...");
ABSL_FLAG(std::string, cities, "Alicante,Madrid,Valencia,Barcelona,Sevilla",
          "comma-separated cities the CPs are spread over");
ABSL_FLAG(int64_t, price, 350, "price in millieuros per kWh");
ABSL_FLAG(int64_t, power_w, 22000, "power per CP while supplying, in watts");
ABSL_FLAG(bool, auto_plug, true, "plug in automatically when authorised");
ABSL_FLAG(absl::Duration, auto_unplug_after, absl::ZeroDuration(),
          "unplug automatically this long after plugging in (0: never)");
ABSL_FLAG(int, unplug_after_readings, 0, "unplug after this many telemetry readings (0: never)");
ABSL_FLAG(absl::Duration, telemetry_period, absl::Seconds(1),
          "how often engines meter and send telemetry (monitors report health every second)");
ABSL_FLAG(int, tick_threads, 2, "threads ticking engines and monitors");
ABSL_FLAG(std::string, registry, "127.0.0.1:50051", "registry gRPC address (CPs are enrolled there)");
ABSL_FLAG(std::string, auth, "127.0.0.1:50052", "auth gRPC address");
ABSL_FLAG(std::string, central, "127.0.0.1:50053", "central gRPC address");
ABSL_FLAG(std::string, user, "", "operator account that enrols the fleet's CPs");
ABSL_FLAG(std::string, password_file, "", "file holding --user's password");
ABSL_FLAG(std::string, listen, "",
          "serve gRPC health (SERVING once every CP is enrolled) and /metrics here, e.g. 0.0.0.0:50060 "
          "for Kubernetes probes (empty: none)");

// What --help says before the flags.
constexpr char kAbout[] =
    "evc-cp-fleet: many simulated charging points (engine + monitor pairs) in one process.\n"
    "Registers its CPs at the registry (as --user), then runs them like the single-CP\n"
    "binaries; for demos and load.\n"
    "\n"
    "usage: evc-cp-fleet --count=N --user=OPERATOR --password_file=FILE [--flag=value ...]\n"
    "example:\n"
    "  evc-cp-fleet --count=50 --prefix=FLT --cities=Madrid,Sevilla --auto_plug \\\n"
    "    --user=admin --password_file=.evc/accounts/admin.password --kafka=127.0.0.1:9092\n";

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "cp-fleet", kAbout);
  evc::ServiceDeps deps = evc::ConnectDeps("cp-fleet", {.kafka_producer = true});
  std::unique_ptr<evc::ServiceHost> health;
  if (const std::string listen = absl::GetFlag(FLAGS_listen); !listen.empty()) {
    evc::metrics::ServeFor(listen);
    // Health only, for probes: plaintext even when the CPs' own calls use TLS.
    static const evc::TlsConfig kPlaintext;
    health = std::make_unique<evc::ServiceHost>("cp-fleet", listen, &kPlaintext);
    evc::ExitIfError("cannot serve health (--listen)", health->Start());
  }
  // Enrolling CPs is an operator's job: log in as one.
  auto password = evc::ReadPassword(absl::GetFlag(FLAGS_password_file), "operator password: ");
  evc::ExitIfError("--password_file", password.status());
  auto session = evc::cp::LogInOperator({.auth_target = absl::GetFlag(FLAGS_auth),
                                         .user = absl::GetFlag(FLAGS_user),
                                         .password = *password},
                                        absl::Now() + evc::StartupTimeout(), &evc::ShutdownRequested());
  evc::ExitIfError(evc::cp::LoginFailureWhat(session.status()), session.status());
  auto registry = evc::registry::v1::RegistryService::NewStub(
      evc::MakeChannel(absl::GetFlag(FLAGS_registry), (*session)->Bearer()));
  auto central = evc::central::v1::CentralService::NewStub(evc::MakeChannel(absl::GetFlag(FLAGS_central)));
  evc::cp::GrpcAuthenticator auth(absl::GetFlag(FLAGS_auth));
  evc::cp::KafkaEngineOutput output(*deps.producer, false);
  std::vector<std::string> cities = absl::StrSplit(absl::GetFlag(FLAGS_cities), ',', absl::SkipEmpty());
  if (cities.empty()) cities.push_back("Alicante");

  const int count = absl::GetFlag(FLAGS_count);
  std::map<std::string, evc::cp::SimulatedCp> cps;
  for (int i = 1; i <= count && !evc::ShutdownRequested().HasBeenNotified(); ++i) {
    const std::string id = absl::StrFormat("%s%05d", absl::GetFlag(FLAGS_prefix), i);
    absl::StatusOr<std::string> secret;
    absl::Status s = evc::RetryWithBackoff(
        "enrol " + id,
        [&] {
          secret = evc::cp::Enrol(*registry, {.cp_id = id,
                                              .city = cities[i % cities.size()],
                                              .price_millieuros_per_kwh = absl::GetFlag(FLAGS_price),
                                              .max_power_w = absl::GetFlag(FLAGS_power_w)});
          return secret.status();
        },
        absl::Now() + evc::StartupTimeout(), &evc::ShutdownRequested());
    evc::ExitIfError("cannot enrol fleet CPs (--registry)", s);
    evc::cp::SimulatedCp& cp = cps[id];
    cp.engine = std::make_unique<evc::cp::Engine>(
        evc::cp::EngineOptions{.power_w = absl::GetFlag(FLAGS_power_w),
                               .auto_plug = absl::GetFlag(FLAGS_auto_plug),
                               .auto_unplug_after = absl::GetFlag(FLAGS_auto_unplug_after),
                               .unplug_after_readings = absl::GetFlag(FLAGS_unplug_after_readings)},
        output);
    cp.probe = std::make_unique<evc::cp::LocalEngineProbe>(*cp.engine);
    cp.monitor = std::make_unique<evc::cp::Monitor>(id, *secret, *cp.probe, auth, *central);
  }
  evc::log::Info("fleet enrolled", {{"count", cps.size()}});

  auto consumer = evc::KafkaConsumer::Create({.brokers = evc::KafkaBrokers(),
                                              .group_id = "evc-fleet-" + absl::GetFlag(FLAGS_prefix),
                                              .client_id = "evc-fleet",
                                              .topics = {evc::topics::kEngineCommands}});
  evc::ExitIfError("cannot consume engine commands (--kafka)", consumer.status());
  (*consumer)->Start([&](std::span<const evc::KafkaMessage> batch) {
    evc::cp::RouteCommands(batch, [&](const std::string& id) -> evc::cp::Engine* {
      auto it = cps.find(id);
      return it == cps.end() ? nullptr : it->second.engine.get();
    }, *deps.producer);
  });
  while (!(*consumer)->assigned() && !evc::ShutdownRequested().HasBeenNotified()) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  for (auto& [id, cp] : cps) cp.engine->SetCommandChannelReady();
  if (health) health->SetServing(true);

  std::vector<evc::cp::SimulatedCp*> all;
  for (auto& [id, cp] : cps) all.push_back(&cp);
  evc::cp::TickFleet(all, absl::GetFlag(FLAGS_tick_threads), absl::GetFlag(FLAGS_telemetry_period),
                     evc::ShutdownRequested());
  if (health) health->Shutdown(absl::Seconds(1));
  for (auto& [id, cp] : cps) cp.monitor->Shutdown();
  (*consumer)->Stop();
  return 0;
}
