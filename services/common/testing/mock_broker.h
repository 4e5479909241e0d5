#pragma once
// A Kafka broker for unit tests: librdkafka's mock cluster in-process.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <string>
#include <vector>

#include "services/common/kafka.h"

namespace evc {

// With the topics a test asks for.
class MockBroker {
 public:
  explicit MockBroker(const std::vector<TopicSpec>& topics) {
    char error[512];
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), error, sizeof(error));
    cluster_ = rd_kafka_mock_cluster_new(host_, 1);
    for (const TopicSpec& t : topics) rd_kafka_mock_topic_create(cluster_, t.name, t.partitions, 1);
  }
  ~MockBroker() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(host_);
  }
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  void CreateTopic(const std::string& name, int partitions) {
    rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1);
  }
  // The broker stops answering (connections refused and closed), or comes back.
  void SetDown(bool down) {
    if (down) {
      rd_kafka_mock_broker_set_down(cluster_, 1);
    } else {
      rd_kafka_mock_broker_set_up(cluster_, 1);
    }
  }

 private:
  rd_kafka_t* host_;
  rd_kafka_mock_cluster_t* cluster_;
};

}  // namespace evc
