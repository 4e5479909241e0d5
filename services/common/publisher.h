#pragma once
// Where services send events, as an interface: Kafka in production, a
// recording fake in unit tests (services/common/testing/recording_publisher.h).

#include <string>

#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "services/common/kafka.h"

namespace evc {

class Publisher {
 public:
  using Delivered = KafkaProducer::DeliveryCallback;
  virtual ~Publisher() = default;
  // Queues `message` on `topic` under `key` (the CP or driver id, so that one
  // key's messages stay in order). `on_delivery` runs once it is acknowledged.
  virtual absl::Status Publish(const std::string& topic, const std::string& key,
                               const google::protobuf::Message& message,
                               Delivered on_delivery = nullptr) = 0;
};

class KafkaPublisher : public Publisher {
 public:
  explicit KafkaPublisher(KafkaProducer& producer) : producer_(producer) {}
  absl::Status Publish(const std::string& topic, const std::string& key,
                       const google::protobuf::Message& message, Delivered on_delivery) override {
    return producer_.Produce(topic, key, message, std::move(on_delivery));
  }

 private:
  KafkaProducer& producer_;
};

}  // namespace evc
