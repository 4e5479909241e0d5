#include "services/devkafka/dev_broker.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace evc::devkafka {

absl::StatusOr<std::unique_ptr<DevBroker>> DevBroker::Start(int brokers,
                                                            const std::vector<TopicSpec>& topics) {
  char error[512];
  rd_kafka_t* host = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), error, sizeof(error));
  if (host == nullptr)
    return absl::InternalError(absl::StrCat("cannot create kafka handle: ", error));
  std::unique_ptr<DevBroker> broker(new DevBroker(host));
  broker->cluster_ = rd_kafka_mock_cluster_new(host, brokers);
  if (broker->cluster_ == nullptr)
    return absl::InternalError("cannot start the mock kafka cluster");
  for (const TopicSpec& topic : topics) {
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(broker->cluster_, topic.name, topic.partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::InternalError(
          absl::StrCat("cannot create topic ", topic.name, ": ", rd_kafka_err2str(err)));
    }
  }
  return broker;
}

DevBroker::~DevBroker() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(host_);
}

void WriteBootstrapFile(const std::string& path, const std::string& bootstrap) {
  std::ofstream(path + ".tmp") << bootstrap << "\n";
  std::rename((path + ".tmp").c_str(), path.c_str());
}

}  // namespace evc::devkafka
