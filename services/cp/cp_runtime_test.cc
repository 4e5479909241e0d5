// Engine commands from a mock Kafka broker to the engines they are for.

#include "services/cp/cp_runtime.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/common/service_main.h"
#include "services/common/testing/mock_broker.h"

namespace evc::cp {
namespace {

class Silent : public EngineOutput {
 public:
  void Send(const events::v1::EngineEvent&, const events::v1::SealedEnvelope&) override {}
  void Say(const std::string&, const std::string&) override {}
};

TEST(ConsumeEngineCommands, ACommandThatDoesNotOpenAtItsEngineIsKeptAsADeadLetter) {
  MockBroker broker(ProjectTopics());
  auto producer = KafkaProducer::Create(broker.bootstrap(), "test");
  ASSERT_TRUE(producer.ok()) << producer.status();
  auto dead_letters = TopicTail::Open(broker.bootstrap(), topics::kDeadLetters, absl::Seconds(30));
  ASSERT_TRUE(dead_letters.ok()) << dead_letters.status();

  Silent output;
  Engine engine({}, output);  // never activated: it has no key to open commands with
  absl::Mutex mu;
  std::set<std::string> looked_up;
  std::unique_ptr<KafkaConsumer> consumer = ConsumeEngineCommands(
      broker.bootstrap(), "evc-test-engine", "evc-test-engine",
      [&](const std::string& cp_id) -> Engine* {
        absl::MutexLock lock(&mu);
        looked_up.insert(cp_id);
        return cp_id == "CP-1" ? &engine : nullptr;
      },
      **producer);
  ASSERT_TRUE((*producer)->Produce(topics::kEngineCommands, "CP-9", "another CP's command").ok());
  ASSERT_TRUE((*producer)->Produce(topics::kEngineCommands, "CP-1", "not sealed").ok());

  std::optional<KafkaMessage> dead = (*dead_letters)->Next(absl::Seconds(30));
  ASSERT_TRUE(dead.has_value());
  EXPECT_EQ(dead->payload, "not sealed");
  // The other CP's command may sit in another partition, read a little later.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  absl::Notification never;
  WaitUntil([&] {
    absl::MutexLock lock(&mu);
    return looked_up.size() == 2 || absl::Now() > give_up;
  }, never);
  consumer->Stop();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(looked_up, (std::set<std::string>{"CP-1", "CP-9"}));
}

}  // namespace
}  // namespace evc::cp
