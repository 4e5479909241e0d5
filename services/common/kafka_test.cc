#include "services/common/kafka.h"

#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "services/common/metrics.h"
#include "services/common/testing/mock_broker.h"

namespace evc {
namespace {

using ::testing::HasSubstr;

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

// What a consumer received, for tests to wait on.
class Received {
 public:
  KafkaConsumer::BatchHandler Handler() {
    return [this](std::span<const KafkaMessage> batch) {
      absl::MutexLock lock(&mu_);
      for (const KafkaMessage& m : batch) payloads_.push_back(m.payload);
    };
  }
  // The payloads once there are at least `n`, or what came within `wait`.
  std::vector<std::string> AtLeast(size_t n, absl::Duration wait) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return payloads_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), wait);
    return payloads_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> payloads_ ABSL_GUARDED_BY(mu_);
};

void ProduceNumbered(KafkaProducer& producer, const std::string& topic, int from, int to) {
  for (int i = from; i < to; ++i) {
    ASSERT_TRUE(producer.Produce(topic, absl::StrCat("cp-", i), absl::StrCat("m", i)).ok());
  }
  ASSERT_TRUE(producer.Flush(absl::Seconds(10)).ok());
}

double ExpiredUnread(const std::string& topic) {
  for (const auto& family : metrics::Registry().Collect()) {
    if (family.name != "evc_kafka_expired_unread_messages_total") continue;
    for (const auto& m : family.metric) {
      for (const auto& label : m.label) {
        if (label.name == "topic" && label.value == topic) return m.counter.value;
      }
    }
  }
  return 0;
}

std::unique_ptr<KafkaConsumer> SoleReader(const MockBroker& broker, std::vector<std::string> topics) {
  auto consumer = KafkaConsumer::Create({.brokers = broker.bootstrap(),
                                         .group_id = "sole",
                                         .client_id = "test",
                                         .topics = std::move(topics),
                                         .sole_reader = true});
  EXPECT_TRUE(consumer.ok()) << consumer.status();
  return consumer.ok() ? std::move(*consumer) : nullptr;
}

// A restarted sole reader goes on from what its predecessor committed:
// nothing read twice, nothing skipped, every partition taken.
TEST(KafkaConsumer, SoleReaderResumesFromTheCommittedOffsets) {
  MockBroker broker({{"evc.a", 4}});
  auto producer = KafkaProducer::Create(broker.bootstrap(), "test");
  ASSERT_TRUE(producer.ok()) << producer.status();
  ProduceNumbered(**producer, "evc.a", 0, 20);
  {
    Received first;
    std::unique_ptr<KafkaConsumer> reader = SoleReader(broker, {"evc.a"});
    ASSERT_NE(reader, nullptr);
    reader->Start(first.Handler());
    EXPECT_EQ(first.AtLeast(20, absl::Seconds(20)).size(), 20u);
    reader->Stop();
  }
  ProduceNumbered(**producer, "evc.a", 20, 30);
  Received second;
  std::unique_ptr<KafkaConsumer> reader = SoleReader(broker, {"evc.a"});
  ASSERT_NE(reader, nullptr);
  reader->Start(second.Handler());
  std::vector<std::string> got = second.AtLeast(10, absl::Seconds(20));
  EXPECT_TRUE(reader->assigned());
  // Anything read twice would show up before the wait ends.
  absl::SleepFor(absl::Seconds(1));
  got = second.AtLeast(10, absl::ZeroDuration());
  std::sort(got.begin(), got.end());
  std::vector<std::string> want;
  for (int i = 20; i < 30; ++i) want.push_back(absl::StrCat("m", i));
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
}

// A reader that started while the broker was away takes its partitions once it
// is back, even with no traffic on anything it already has: the idle loop
// looks for partitions too, not only the loop after a batch.
TEST(KafkaConsumer, SoleReaderStartedWhileTheBrokerWasAwayTakesItsPartitionsWhenItIsBack) {
  MockBroker broker({{"evc.a", 2}});
  broker.SetDown(true);
  Received received;
  std::unique_ptr<KafkaConsumer> reader = SoleReader(broker, {"evc.a"});
  ASSERT_NE(reader, nullptr);
  reader->Start(received.Handler());
  absl::SleepFor(absl::Seconds(3));  // its first look for partitions fails
  EXPECT_FALSE(reader->assigned());
  broker.SetDown(false);
  auto producer = KafkaProducer::Create(broker.bootstrap(), "test");
  ASSERT_TRUE(producer.ok()) << producer.status();
  ProduceNumbered(**producer, "evc.a", 0, 4);
  EXPECT_EQ(received.AtLeast(4, absl::Seconds(20)).size(), 4u);
  EXPECT_TRUE(reader->assigned());
}

// Messages the broker deleted before a restarted reader got to them are not
// skipped in silence: counted and logged. The dev broker keeps 5 MiB per
// partition.
TEST(KafkaConsumer, SoleReaderCountsWhatRetentionDeletedBeforeItRead) {
  MockBroker broker({{"evc.a", 1}});
  auto producer = KafkaProducer::Create(broker.bootstrap(), "test");
  ASSERT_TRUE(producer.ok()) << producer.status();
  ProduceNumbered(**producer, "evc.a", 0, 10);
  {
    Received first;
    std::unique_ptr<KafkaConsumer> reader = SoleReader(broker, {"evc.a"});
    ASSERT_NE(reader, nullptr);
    reader->Start(first.Handler());
    ASSERT_EQ(first.AtLeast(10, absl::Seconds(20)).size(), 10u);
    reader->Stop();
  }
  const std::string kib(1024, 'x');
  for (int i = 0; i < 7000; ++i) ASSERT_TRUE((*producer)->Produce("evc.a", "cp", kib).ok());
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(20)).ok());
  const double before = ExpiredUnread("evc.a");
  Received second;
  std::unique_ptr<KafkaConsumer> reader = SoleReader(broker, {"evc.a"});
  ASSERT_NE(reader, nullptr);
  reader->Start(second.Handler());
  const size_t kept = second.AtLeast(7000, absl::Seconds(10)).size();
  EXPECT_LT(kept, 7000u) << "the broker was expected to delete the oldest messages";
  EXPECT_GT(kept, 0u);
  EXPECT_EQ(ExpiredUnread("evc.a") - before, static_cast<double>(7000 - kept));
}

// A topic that appears after the reader started is taken without a restart.
TEST(KafkaConsumer, SoleReaderTakesATopicCreatedLater) {
  MockBroker broker({{"evc.a", 2}});
  Received received;
  std::unique_ptr<KafkaConsumer> reader = SoleReader(broker, {"evc.a", "evc.later"});
  ASSERT_NE(reader, nullptr);
  reader->Start(received.Handler());
  broker.CreateTopic("evc.later", 3);
  auto producer = KafkaProducer::Create(broker.bootstrap(), "test");
  ASSERT_TRUE(producer.ok()) << producer.status();
  ProduceNumbered(**producer, "evc.later", 0, 6);
  EXPECT_EQ(received.AtLeast(6, absl::Seconds(30)).size(), 6u);
}

}  // namespace
}  // namespace evc
