#include "services/common/kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace evc {
namespace {

using ::testing::HasSubstr;

// librdkafka's mock broker in-process, with the topics a test asks for.
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

 private:
  rd_kafka_t* host_;
  rd_kafka_mock_cluster_t* cluster_;
};

TEST(KafkaProducer, WaitForTopicsAcceptsTopicsWithEnoughPartitions) {
  MockBroker broker({{"evc.a", 4}, {"evc.b", 8}});
  auto producer = KafkaProducer::Create(broker.bootstrap(), "test");
  ASSERT_TRUE(producer.ok()) << producer.status();
  EXPECT_TRUE((*producer)->WaitForTopics({{"evc.a", 4}, {"evc.b", 2}}, absl::Now() + absl::Seconds(10), nullptr).ok());
}

TEST(KafkaProducer, WaitForTopicsNamesWhatIsMissingOrTooSmall) {
  MockBroker broker({{"evc.a", 2}});
  auto producer = KafkaProducer::Create(broker.bootstrap(), "test");
  ASSERT_TRUE(producer.ok()) << producer.status();
  absl::Status s = (*producer)->WaitForTopics({{"evc.a", 4}, {"evc.absent", 1}}, absl::Now() + absl::Seconds(1), nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("evc.a (2 of 4 partitions)"));
  EXPECT_THAT(s.message(), HasSubstr("evc.absent (absent)"));
}

}  // namespace
}  // namespace evc
