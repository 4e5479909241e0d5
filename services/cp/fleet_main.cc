// evc-cp-fleet: many charging points in one process, for demos and load. The
// logic is in fleet.h (plan, enrolment, ticking, RunFleet's wiring) and
// cp_runtime.h (Kafka).

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "services/common/service_main.h"
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
ABSL_FLAG(std::string, central, "127.0.0.1:50053",
          "central gRPC address (several replicas: ipv4:HOST:PORT,HOST:PORT or a name with several records; the leader is called)");
ABSL_FLAG(std::string, user, "", "operator account that enrols the fleet's CPs");
ABSL_FLAG(std::string, password_file, "", "file holding --user's password");
ABSL_FLAG(std::string, ocpp, "",
          "drive the CPs as OCPP 1.6J chargers connecting to this evc-ocpp URL, e.g. ws://127.0.0.1:9220/ocpp "
          "(empty: native engine + monitor pairs; --telemetry_period is then the MeterValues period, and no "
          "--kafka is needed)");
ABSL_FLAG(int, ocpp_io_threads, 2, "with --ocpp: threads serving the chargers' WebSocket connections");
ABSL_FLAG(std::string, listen, "",
          "serve gRPC health (SERVING once every CP is enrolled) and /metrics here, e.g. 0.0.0.0:50060 "
          "for Kubernetes probes (empty: none)");

// What --help says before the flags.
constexpr char kAbout[] =
    "evc-cp-fleet: many simulated charging points in one process: engine + monitor pairs, or\n"
    "OCPP 1.6J chargers that connect to the evc-ocpp gateway (--ocpp).\n"
    "Registers its CPs at the registry (as --user), then runs them like the single-CP\n"
    "binaries; for demos and load.\n"
    "\n"
    "usage: evc-cp-fleet --count=N --user=OPERATOR --password_file=FILE [--flag=value ...]\n"
    "example:\n"
    "  evc-cp-fleet --count=50 --prefix=FLT --cities=Madrid,Sevilla --auto_plug \\\n"
    "    --user=admin --password_file=.evc/accounts/admin.password --kafka=127.0.0.1:9092\n"
    "  evc-cp-fleet --count=50 --prefix=OCPP- --ocpp=ws://127.0.0.1:9220/ocpp --telemetry_period=10s \\\n"
    "    --user=admin --password_file=.evc/accounts/admin.password\n";

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "cp-fleet", kAbout);
  const std::string ocpp_url = absl::GetFlag(FLAGS_ocpp);
  // Over OCPP the gateway talks to Kafka for the chargers.
  evc::ServiceDeps deps = evc::ConnectDeps("cp-fleet", {.kafka_producer = ocpp_url.empty()});
  std::unique_ptr<evc::ServiceHost> health = evc::ServeHealth("cp-fleet", absl::GetFlag(FLAGS_listen));
  // Enrolling CPs is an operator's job: log in as one.
  auto password = evc::ReadPassword(absl::GetFlag(FLAGS_password_file), "operator password: ");
  evc::ExitIfError("--password_file", password.status());
  auto session = evc::cp::LogInOperator(
      {.auth_target = absl::GetFlag(FLAGS_auth), .user = absl::GetFlag(FLAGS_user), .password = *password},
      absl::Now() + evc::StartupTimeout(), &evc::ShutdownRequested());
  evc::ExitIfError(evc::cp::LoginFailureWhat(session.status()), session.status());
  const evc::cp::FleetRun run{.shape = {.count = absl::GetFlag(FLAGS_count),
                                        .prefix = absl::GetFlag(FLAGS_prefix),
                                        .cities = absl::GetFlag(FLAGS_cities),
                                        .price_millieuros_per_kwh = absl::GetFlag(FLAGS_price),
                                        .max_power_w = absl::GetFlag(FLAGS_power_w)},
                              .engine = {.power_w = absl::GetFlag(FLAGS_power_w),
                                         .auto_plug = absl::GetFlag(FLAGS_auto_plug),
                                         .auto_unplug_after = absl::GetFlag(FLAGS_auto_unplug_after),
                                         .unplug_after_readings = absl::GetFlag(FLAGS_unplug_after_readings)},
                              .registry = absl::GetFlag(FLAGS_registry),
                              .auth = absl::GetFlag(FLAGS_auth),
                              .central = absl::GetFlag(FLAGS_central),
                              .kafka_brokers = evc::KafkaBrokers(),
                              .enrol_patience = evc::StartupTimeout(),
                              .tick_threads = absl::GetFlag(FLAGS_tick_threads),
                              .telemetry_period = absl::GetFlag(FLAGS_telemetry_period),
                              .ocpp_url = ocpp_url,
                              .ocpp = {.power_w = absl::GetFlag(FLAGS_power_w),
                                       .auto_plug = absl::GetFlag(FLAGS_auto_plug),
                                       .auto_unplug_after = absl::GetFlag(FLAGS_auto_unplug_after),
                                       .unplug_after_readings = absl::GetFlag(FLAGS_unplug_after_readings),
                                       .meter_period = absl::GetFlag(FLAGS_telemetry_period)},
                              .ocpp_io_threads = absl::GetFlag(FLAGS_ocpp_io_threads)};
  evc::ExitIfError("cannot enrol fleet CPs (--registry)",
                   evc::cp::RunFleet(run, **session, deps.producer.get(), health.get(), evc::ShutdownRequested()));
  return 0;
}
