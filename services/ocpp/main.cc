// evc-ocpp: the OCPP 1.6J gateway. Real chargers connect to
// ws://HOST:PORT/ocpp/{chargePointId} (subprotocol ocpp1.6, HTTP Basic with
// the CP id and its registry secret) and join the network as CPs like any
// other. The logic is in gateway.h, charger.h and server.h.

#include <unistd.h>

#include <thread>

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/common/service_main.h"
#include "services/cp/cp_runtime.h"
#include "services/ocpp/gateway.h"
#include "services/ocpp/server.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:9220", "where chargers connect: ws://HOST:PORT/ocpp/{chargePointId}");
ABSL_FLAG(std::string, auth, "127.0.0.1:50052", "auth gRPC address (checks each charger's id and secret)");
ABSL_FLAG(std::string, central, "127.0.0.1:50053", "central gRPC address (each charger's monitor link)");
ABSL_FLAG(int, heartbeat_interval_s, 60, "Heartbeat interval a BootNotification is accepted with, in seconds");
ABSL_FLAG(absl::Duration, call_timeout, absl::Seconds(30), "how long a charger has to answer the gateway's CALL");
ABSL_FLAG(int, io_threads, 2, "threads serving every charger connection");
ABSL_FLAG(int64_t, max_message_bytes, 64 * 1024, "largest OCPP message a charger may send");
ABSL_FLAG(std::string, group, "", "Kafka consumer group for engine commands (empty: evc-ocpp-<host name>)");

// What --help says before the flags.
constexpr char kAbout[] =
    "evc-ocpp: the OCPP 1.6J gateway, so real chargers join the network.\n"
    "Chargers connect to ws://HOST:PORT/ocpp/{chargePointId} with subprotocol ocpp1.6 and\n"
    "HTTP Basic authentication (user: the CP id, password: the secret the registry issued;\n"
    "security profile 1). Each connected charger acts as its CP: authenticated at auth,\n"
    "linked to central with health every second, its engine events sealed with its key.\n"
    "\n"
    "usage: evc-ocpp [--flag=value ...]\n"
    "example:\n"
    "  evc-ocpp --listen=0.0.0.0:9220 --auth=127.0.0.1:50052 --central=127.0.0.1:50053 \\\n"
    "    --kafka=127.0.0.1:9092\n";

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "ocpp", kAbout);
  const std::string listen = absl::GetFlag(FLAGS_listen);
  evc::ServiceDeps deps = evc::ConnectDeps("ocpp", {.kafka_producer = true});
  evc::metrics::ServeFor(listen);

  evc::cp::GrpcAuthenticator auth(absl::GetFlag(FLAGS_auth));
  auto central = evc::central::v1::CentralService::NewStub(evc::MakeCentralChannel(absl::GetFlag(FLAGS_central)));
  evc::cp::KafkaEngineOutput output(*deps.producer, false);
  evc::ocpp::Gateway gateway({.charger = {.heartbeat_interval_s = absl::GetFlag(FLAGS_heartbeat_interval_s)}}, auth,
                             *central, output);

  // Every replica sees every command: its chargers may be any.
  std::string group = absl::GetFlag(FLAGS_group);
  if (group.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    group = std::string("evc-ocpp-") + host;
  }
  auto consumer = evc::StartConsuming({.brokers = evc::KafkaBrokers(),
                                       .group_id = group,
                                       .client_id = "evc-ocpp",
                                       .topics = {evc::topics::kEngineCommands},
                                       .auto_offset_reset = "latest"},
                                      "cannot consume engine commands (--kafka)",
                                      [&](std::span<const evc::KafkaMessage> batch) {
                                        gateway.RouteCommands(batch, *deps.producer);
                                      });

  evc::ocpp::OcppServerConfig config;
  config.listen = listen;
  config.io_threads = absl::GetFlag(FLAGS_io_threads);
  config.endpoint.call_timeout = absl::GetFlag(FLAGS_call_timeout);
  config.max_message_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_message_bytes));
  evc::ocpp::OcppServer server(config, gateway, evc::ocpp::Schemas::Ocpp16());
  evc::ExitIfError("--listen", server.Start());
  evc::log::Info("OCPP gateway listening", {{"url", "ws://" + listen + "/ocpp/{chargePointId}"}, {"port", server.port()}});

  std::thread ready([&] {
    if (evc::WaitUntil([&] { return consumer->assigned(); }, evc::ShutdownRequested())) {
      gateway.SetCommandChannelReady();
      evc::log::Info("OCPP gateway ready: chargers are admitted");
    }
  });
  do {
    gateway.Tick(absl::Now());
  } while (!evc::ShutdownRequested().WaitForNotificationWithTimeout(absl::Seconds(1)));
  ready.join();
  server.Stop();
  gateway.Shutdown();
  consumer->Stop();
  return 0;
}
