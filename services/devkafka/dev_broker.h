#pragma once
// A Kafka-protocol broker for one machine, for development and tests only:
// librdkafka's own mock cluster (real wire protocol on loopback ports, consumer
// groups and offsets work) with topics created up front at their partition counts.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/kafka.h"

namespace evc::devkafka {

class DevBroker {
 public:
  // INTERNAL, saying what failed, when the cluster or a topic cannot be created.
  static absl::StatusOr<std::unique_ptr<DevBroker>> Start(int brokers,
                                                          const std::vector<TopicSpec>& topics);
  ~DevBroker();
  DevBroker(const DevBroker&) = delete;
  DevBroker& operator=(const DevBroker&) = delete;

  // host:port,... for clients.
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

 private:
  explicit DevBroker(rd_kafka_t* host) : host_(host) {}

  rd_kafka_t* host_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

// Writes `bootstrap` to `path` through a rename, so a reader never sees a
// half-written address.
void WriteBootstrapFile(const std::string& path, const std::string& bootstrap);

}  // namespace evc::devkafka
