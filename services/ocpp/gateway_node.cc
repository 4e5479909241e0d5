#include "services/ocpp/gateway_node.h"

#include <unistd.h>

#include <thread>

#include "absl/time/clock.h"
#include "services/common/grpc_server.h"
#include "services/common/log.h"
#include "services/common/service_main.h"
#include "services/cp/agent.h"
#include "services/ocpp/schemas.h"

namespace evc::ocpp {

absl::Status RunGateway(const GatewayNodeConfig& config, KafkaProducer& producer,
                        const absl::Notification& stop) {
  cp::GrpcAuthenticator auth(config.auth);
  auto central = central::v1::CentralService::NewStub(MakeCentralChannel(config.central));
  cp::KafkaEngineOutput output(producer, false);
  Gateway gateway(config.gateway, auth, *central, output);

  // Every replica sees every command: its chargers may be any.
  std::string group = config.group;
  if (group.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    group = std::string("evc-ocpp-") + host;
  }
  auto consumer = StartConsuming({.brokers = config.kafka_brokers,
                                  .group_id = group,
                                  .client_id = "evc-ocpp",
                                  .topics = {topics::kEngineCommands},
                                  .auto_offset_reset = "latest",
                                  // Its group is its own: a restart resumes from the
                                  // committed offsets at once (a stop sent meanwhile
                                  // arrives), not after the dead member's session timeout.
                                  .sole_reader = true},
                                 "cannot consume engine commands (--kafka)",
                                 [&](std::span<const KafkaMessage> batch) { gateway.RouteCommands(batch, producer); });

  OcppServer server(config.server, gateway, Schemas::Ocpp16());
  if (absl::Status s = server.Start(); !s.ok()) {
    consumer->Stop();
    return s;
  }
  log::Info("OCPP gateway listening",
            {{"url", (config.server.tls_cert_file.empty() ? "ws://" : "wss://") + config.server.listen +
                         "/ocpp/{chargePointId}"},
             {"port", server.port()}});

  std::thread ready([&] {
    if (WaitUntil([&] { return consumer->assigned(); }, stop)) {
      gateway.SetCommandChannelReady();
      log::Info("OCPP gateway ready: chargers are admitted");
    }
  });
  do {
    gateway.Tick(absl::Now());
  } while (!stop.WaitForNotificationWithTimeout(Gateway::kTickPeriod));
  ready.join();
  server.Stop();
  gateway.Shutdown();
  consumer->Stop();
  return absl::OkStatus();
}

}  // namespace evc::ocpp
