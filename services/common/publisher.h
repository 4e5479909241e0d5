#pragma once
// Where services send events, as an interface: Kafka in production, a
// recording fake in unit tests.

#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
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

// Records what was published; delivers at once.
class RecordingPublisher : public Publisher {
 public:
  struct Record {
    std::string topic;
    std::string key;
    std::string payload;
  };
  absl::Status Publish(const std::string& topic, const std::string& key,
                       const google::protobuf::Message& message, Delivered on_delivery) override {
    {
      absl::MutexLock lock(&mu_);
      records_.push_back({topic, key, message.SerializeAsString()});
    }
    if (on_delivery) on_delivery(absl::OkStatus());
    return absl::OkStatus();
  }
  std::vector<Record> records() const {
    absl::MutexLock lock(&mu_);
    return records_;
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    records_.clear();
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Record> records_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evc
