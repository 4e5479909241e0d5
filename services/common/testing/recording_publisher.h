#pragma once
// A publisher for unit tests: keeps what was published and acknowledges it at once.

#include <google/protobuf/message.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/common/publisher.h"

namespace evc {

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
