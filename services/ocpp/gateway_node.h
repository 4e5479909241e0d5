#pragma once
// evc-ocpp's parts wired together: auth (each charger's id and secret) and
// central (each charger's monitor link) over gRPC, central's engine commands
// from Kafka and engine events to it, the gateway, and the WebSocket server
// chargers connect to. The binary adds flags; tests can run the same wiring.

#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "services/common/kafka.h"
#include "services/ocpp/gateway.h"
#include "services/ocpp/server.h"

namespace evc::ocpp {

struct GatewayNodeConfig {
  std::string auth;     // gRPC target
  std::string central;  // gRPC target, followed to the leader
  std::string kafka_brokers;
  // The engine commands' consumer group (empty: evc-ocpp-<host name>).
  std::string group;
  GatewayOptions gateway;
  OcppServerConfig server;
};

// Serves chargers until `stop`, then closes their connections and ends their
// monitors' links. Chargers are admitted once central's commands can reach
// them. The error of a --listen that cannot be served (see ListenOn); exits
// the process if no command consumer can be created.
absl::Status RunGateway(const GatewayNodeConfig& config, KafkaProducer& producer,
                        const absl::Notification& stop);

}  // namespace evc::ocpp
