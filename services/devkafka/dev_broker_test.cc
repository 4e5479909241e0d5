#include "services/devkafka/dev_broker.h"

#include <gtest/gtest.h>

#include <fstream>

#include "absl/time/clock.h"

namespace evc::devkafka {
namespace {

TEST(DevBrokerTest, ServesItsTopicsAtTheirPartitionCounts) {
  auto broker = DevBroker::Start(1, {{"evc.a", 2}, {"evc.b", 4}});
  ASSERT_TRUE(broker.ok()) << broker.status();
  auto producer = KafkaProducer::Create((*broker)->bootstrap(), "dev-broker-test");
  ASSERT_TRUE(producer.ok()) << producer.status();
  EXPECT_TRUE(
      (*producer)
          ->WaitForTopics({{"evc.a", 2}, {"evc.b", 4}}, absl::Now() + absl::Seconds(10), nullptr)
          .ok());
}

TEST(DevBrokerTest, TheBootstrapFileHoldsTheAddressOnALine) {
  const std::string path = ::testing::TempDir() + "/kafka.bootstrap";
  WriteBootstrapFile(path, "127.0.0.1:39092");
  std::ifstream in(path);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, "127.0.0.1:39092");
  EXPECT_FALSE(std::ifstream(path + ".tmp").good());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace evc::devkafka
