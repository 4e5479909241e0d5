// evc-ocpp: the OCPP 1.6J gateway. Real chargers connect to
// ws://HOST:PORT/ocpp/{chargePointId} (subprotocol ocpp1.6, HTTP Basic with
// the CP id and its registry secret) and join the network as CPs like any
// other. The logic is in gateway_node.h, gateway.h, charger.h and server.h.

#include "absl/flags/flag.h"
#include "services/common/metrics.h"
#include "services/common/service_main.h"
#include "services/ocpp/gateway_node.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:9220", "where chargers connect: ws://HOST:PORT/ocpp/{chargePointId}");
ABSL_FLAG(std::string, auth, "127.0.0.1:50052", "auth gRPC address (checks each charger's id and secret)");
ABSL_FLAG(std::string, central, "127.0.0.1:50053", "central gRPC address (each charger's monitor link)");
ABSL_FLAG(int, heartbeat_interval_s, 60, "Heartbeat interval a BootNotification is accepted with, in seconds");
ABSL_FLAG(absl::Duration, call_timeout, absl::Seconds(30), "how long a charger has to answer the gateway's CALL");
ABSL_FLAG(int, io_threads, 2, "threads serving every charger connection");
ABSL_FLAG(int64_t, max_message_bytes, 64 * 1024, "largest OCPP message a charger may send");
ABSL_FLAG(std::string, group, "", "Kafka consumer group for engine commands (empty: evc-ocpp-<host name>)");
ABSL_FLAG(std::string, wss_cert, "",
          "PEM certificate chain for wss:// (OCPP security profile 2: TLS 1.2+ and Basic); with --wss_key, "
          "chargers connect over TLS only. Empty: ws:// (profile 1)");
ABSL_FLAG(std::string, wss_key, "", "PEM private key of --wss_cert");

// What --help says before the flags.
constexpr char kAbout[] =
    "evc-ocpp: the OCPP 1.6J gateway, so real chargers join the network.\n"
    "Chargers connect to ws://HOST:PORT/ocpp/{chargePointId} (wss:// with --wss_cert) with\n"
    "subprotocol ocpp1.6 and HTTP Basic authentication (user: the CP id, password: the secret\n"
    "the registry issued; security profile 1, or 2 over TLS). Each connected charger acts as\n"
    "its CP: authenticated at auth, linked to central with health every second, its engine\n"
    "events sealed with its key.\n"
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
  evc::ocpp::GatewayNodeConfig config{
      .auth = absl::GetFlag(FLAGS_auth),
      .central = absl::GetFlag(FLAGS_central),
      .kafka_brokers = evc::KafkaBrokers(),
      .group = absl::GetFlag(FLAGS_group),
      .gateway = {.charger = {.heartbeat_interval_s = absl::GetFlag(FLAGS_heartbeat_interval_s)}}};
  config.server.listen = listen;
  config.server.io_threads = absl::GetFlag(FLAGS_io_threads);
  config.server.endpoint.call_timeout = absl::GetFlag(FLAGS_call_timeout);
  config.server.max_message_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_message_bytes));
  config.server.tls_cert_file = absl::GetFlag(FLAGS_wss_cert);
  config.server.tls_key_file = absl::GetFlag(FLAGS_wss_key);
  evc::ExitIfError("--listen", evc::ocpp::RunGateway(config, *deps.producer, evc::ShutdownRequested()));
  return 0;
}
