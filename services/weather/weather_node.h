#pragma once
// evc-weather's parts wired together: its store and audit trail, the
// registry's charging points and signed events, central's holds, and the
// watcher that reads the weather and decides. The binary adds flags and the
// gRPC service; tests can run the same wiring.

#include <memory>

#include "absl/status/statusor.h"
#include "evc/central/v1/central.grpc.pb.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "grpcpp/channel.h"
#include "services/common/audit.h"
#include "services/common/clock.h"
#include "services/common/kafka.h"
#include "services/common/message_auth.h"
#include "services/common/postgres.h"
#include "services/common/publisher.h"
#include "services/weather/central_holds.h"
#include "services/weather/pg_weather_store.h"
#include "services/weather/registry_charging_points.h"
#include "services/weather/watcher.h"

namespace evc::weather {

class WeatherNode {
 public:
  struct Peers {
    std::shared_ptr<grpc::ChannelInterface> registry;
    std::shared_ptr<grpc::ChannelInterface> central;  // a leader-following channel
    std::string kafka_brokers;
    // Where audit records are also published (evc.audit-events); none if null.
    KafkaProducer* audit_stream = nullptr;
  };

  // Restores the stored state (else `defaults`), then starts following the
  // registry's events and watching the weather.
  static absl::StatusOr<std::unique_ptr<WeatherNode>> Start(const Peers& peers, PgPool& postgres,
                                                            WeatherProvider& provider,
                                                            const Settings& defaults,
                                                            const Clock& clock);
  // Stops the consumer and the watcher and flushes the audit trail.
  ~WeatherNode();

  WeatherWatcher& watcher() { return watcher_; }
  WeatherStore& store() { return store_; }

 private:
  WeatherNode(const Peers& peers, PgPool& postgres, WeatherProvider& provider,
              const Clock& clock);

  std::unique_ptr<registry::v1::RegistryService::Stub> registry_;
  std::unique_ptr<central::v1::CentralService::Stub> central_;
  PgWeatherStore store_;
  std::unique_ptr<KafkaPublisher> audit_stream_;
  PgAuditSink audit_;
  RegistryChargingPoints charging_points_;
  CentralHolds holds_;
  WeatherWatcher watcher_;
  std::unique_ptr<VerifyingKeys> registry_keys_;
  std::unique_ptr<KafkaConsumer> registry_events_;
};

}  // namespace evc::weather
