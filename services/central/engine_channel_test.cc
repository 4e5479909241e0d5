// The engine channel on its own: envelopes opened and sealed under the CP's
// key, forgeries and replays refused, replay marks kept across a restart.

#include "services/central/engine_channel.h"

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "services/central/central_testing.h"

namespace evc::central {
namespace {

std::string Sealed(const CpKey& key, uint64_t counter, const std::string& cp = "CP1",
                   const std::string& content = "walk-in") {
  return SealEnvelope(events::v1::SealedEnvelope::DIRECTION_ENGINE_TO_CENTRAL, cp, key, counter,
                      content)
      ->SerializeAsString();
}

KafkaMessage At(int64_t offset, std::string payload, const std::string& key = "CP1") {
  return {topics::kEngineEvents, 0, offset, key, std::move(payload)};
}

// The channel alone, on the fakes central's tests run it on.
class EngineChannelTest : public ::testing::Test, protected fakes::CentralFixture {
 protected:
  fakes::MemoryReplayMarks marks;
  EngineChannel channel{keys, &marks, publisher, clock};
};

TEST_F(EngineChannelTest, OpensGenuineEnvelopesOnceAndRefusesForgeries) {
  auto opened = channel.Open(At(1, Sealed(keys.key, 10)));
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "walk-in");
  EXPECT_EQ(keys.fetches.load(), 1) << "an unknown CP's keys are fetched";
  EXPECT_FALSE(channel.Open(At(2, Sealed(keys.key, 10))).ok()) << "replayed";
  EXPECT_FALSE(channel.Open(At(3, Sealed({"k1", std::string(32, 'x')}, 11))).ok()) << "wrong key";
  EXPECT_FALSE(channel.Open(At(4, "garbage")).ok());
  EXPECT_FALSE(channel.Open(At(5, Sealed(keys.key, 12, "CP1"), "CP2")).ok()) << "another CP's key";
  EXPECT_TRUE(channel.Open(At(6, Sealed(keys.key, 13))).ok());
}

TEST_F(EngineChannelTest, UnknownKeysAreAskedForAtMostEverySecond) {
  const CpKey unknown{"k9", std::string(32, 'z')};
  EXPECT_FALSE(channel.Open(At(1, Sealed(unknown, 1))).ok());
  EXPECT_FALSE(channel.Open(At(2, Sealed(unknown, 2))).ok());
  EXPECT_EQ(keys.fetches.load(), 1);
}

// Auth answering slowly, as over the network: how many asks overlap.
class SlowKeys : public CpKeySource {
 public:
  explicit SlowKeys(const CpKey& key) : key_(key) {}
  absl::StatusOr<std::vector<CpKey>> Keys(const std::string& cp_id) override {
    const int now = ++in_flight_;
    for (int seen = most_in_flight_; now > seen && !most_in_flight_.compare_exchange_weak(seen, now);) {
    }
    absl::SleepFor(absl::Milliseconds(20));
    --in_flight_;
    absl::MutexLock lock(&mu_);
    ++asked_[cp_id];
    return std::vector<CpKey>{key_};
  }
  std::map<std::string, int> asked() {
    absl::MutexLock lock(&mu_);
    return asked_;
  }
  int most_in_flight() const { return most_in_flight_; }

 private:
  const CpKey key_;
  std::atomic<int> in_flight_ = 0, most_in_flight_ = 0;
  absl::Mutex mu_;
  std::map<std::string, int> asked_ ABSL_GUARDED_BY(mu_);
};

// After a restart every CP's first message needs its keys: asked for side by
// side, once per CP, and then every envelope opens without asking again.
TEST_F(EngineChannelTest, ABatchsUnknownCpsKeysAreFetchedSideBySideOnce) {
  SlowKeys slow(keys.key);
  EngineChannel cold{slow, &marks, publisher, clock};
  std::vector<KafkaMessage> batch;
  for (int i = 0; i < 40; ++i) {
    const std::string cp = absl::StrCat("CP", i % 20);
    batch.push_back(At(i, Sealed(keys.key, 100 + i, cp), cp));
  }
  batch.push_back({topics::kChargeRequests, 0, 99, "CP99", "not an engine event"});
  cold.PrefetchKeys(batch);
  const std::map<std::string, int> asked = slow.asked();
  EXPECT_EQ(asked.size(), 20u) << "each CP of the engine events, nothing else";
  for (const auto& [cp, times] : asked) EXPECT_EQ(times, 1) << cp;
  EXPECT_GT(slow.most_in_flight(), 1) << "side by side";
  for (const KafkaMessage& m : batch) {
    if (m.topic == topics::kEngineEvents) EXPECT_TRUE(cold.Open(m).ok()) << m.key;
  }
  cold.PrefetchKeys(batch);
  EXPECT_EQ(slow.asked().size(), 20u);
  for (const auto& [cp, times] : slow.asked()) EXPECT_EQ(times, 1) << cp << ": known keys are not asked again";
}

TEST_F(EngineChannelTest, CommandsLeaveSealedUnderTheCpsKey) {
  events::v1::EngineCommand command;
  command.set_cp_id("CP1");
  command.set_command_id("c1");
  channel.Send(command);
  EXPECT_TRUE(publisher.records().empty()) << "no key yet: not sent";
  ASSERT_TRUE(channel.LoadKeys("CP1").ok());
  channel.Send(command);
  const std::vector<RecordingPublisher::Record> sent = publisher.records();
  ASSERT_EQ(sent.size(), 1u);
  const RecordingPublisher::Record& r = sent[0];
  EXPECT_EQ(r.topic, topics::kEngineCommands);
  EXPECT_EQ(r.key, "CP1");
  absl::StatusOr<events::v1::EngineCommand> got = fakes::OpenCommand(r.payload, keys.key);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->command_id(), "c1");
  channel.ForgetKeys("CP1");
  channel.Send(command);
  EXPECT_EQ(publisher.records().size(), 1u) << "revoked: not sent";
}

// A channel serves one leader term and says which on every command, so an
// engine can refuse a deposed leader's late ones.
TEST_F(EngineChannelTest, CommandsCarryTheLeaderTermOfTheirChannel) {
  EngineChannel term_seven{keys, &marks, publisher, clock, 7};
  ASSERT_TRUE(term_seven.LoadKeys("CP1").ok());
  ASSERT_TRUE(channel.LoadKeys("CP1").ok());
  events::v1::EngineCommand command;
  command.set_cp_id("CP1");
  term_seven.Send(command);
  channel.Send(command);
  const std::vector<RecordingPublisher::Record> sent = publisher.records();
  ASSERT_EQ(sent.size(), 2u);
  absl::StatusOr<events::v1::EngineCommand> from_leader = fakes::OpenCommand(sent[0].payload, keys.key);
  absl::StatusOr<events::v1::EngineCommand> unelected = fakes::OpenCommand(sent[1].payload, keys.key);
  ASSERT_TRUE(from_leader.ok() && unelected.ok());
  EXPECT_EQ(from_leader->leader_epoch(), 7u);
  EXPECT_EQ(unelected->leader_epoch(), 0u) << "a central without election";
}

TEST_F(EngineChannelTest, MarksWaitForTheJournalAfterABatchThatWasNotDurable) {
  EXPECT_EQ(channel.PlanMarkSave(true), EngineChannel::MarkSave::kNothing) << "nothing opened";
  ASSERT_TRUE(channel.Open(At(1, Sealed(keys.key, 10))).ok());
  EXPECT_EQ(channel.PlanMarkSave(false), EngineChannel::MarkSave::kNothing);
  EXPECT_EQ(channel.PlanMarkSave(true), EngineChannel::MarkSave::kAfterJournal);
  channel.SaveMarks();
  EXPECT_EQ(marks.saves, 1);
  ASSERT_TRUE(channel.Open(At(2, Sealed(keys.key, 11))).ok());
  EXPECT_EQ(channel.PlanMarkSave(true), EngineChannel::MarkSave::kNow);
}

// A record read before a restart and redelivered at its old offset is told
// apart from a copy appended later by someone on the broker.
TEST_F(EngineChannelTest, ReplayMarksSurviveARestart) {
  const std::string captured = Sealed(keys.key, 10);
  ASSERT_TRUE(channel.Open(At(7, captured)).ok());
  ASSERT_EQ(channel.PlanMarkSave(true), EngineChannel::MarkSave::kNow);
  channel.SaveMarks();
  ASSERT_EQ(marks.marks["CP1"].counter, 10u);
  EXPECT_EQ(marks.marks["CP1"].offset, 7);

  EngineChannel restarted(keys, &marks, publisher, clock);
  ASSERT_TRUE(restarted.RestoreReplayMarks().ok());
  EXPECT_TRUE(absl::IsAlreadyExists(restarted.Open(At(7, captured)).status()));
  absl::Status replayed = restarted.Open(At(42, captured)).status();
  EXPECT_FALSE(replayed.ok());
  EXPECT_FALSE(absl::IsAlreadyExists(replayed)) << replayed;
}

class EngineChannelWithoutMarksTest : public ::testing::Test, protected fakes::CentralFixture {};

TEST_F(EngineChannelWithoutMarksTest, HasNothingToSave) {
  EngineChannel channel(keys, nullptr, publisher, clock);
  ASSERT_TRUE(channel.RestoreReplayMarks().ok());
  ASSERT_TRUE(channel.Open(At(1, Sealed(keys.key, 10))).ok());
  EXPECT_EQ(channel.PlanMarkSave(true), EngineChannel::MarkSave::kNothing);
}

}  // namespace
}  // namespace evc::central
