#include "services/common/sealed.h"

#include <random>

#include <gtest/gtest.h>

#include "services/common/crypto.h"

namespace evc {
namespace {

constexpr Direction kUp = events::v1::SealedEnvelope::DIRECTION_ENGINE_TO_CENTRAL;
constexpr Direction kDown = events::v1::SealedEnvelope::DIRECTION_CENTRAL_TO_ENGINE;
const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

class SealedTest : public ::testing::Test {
 protected:
  KeyLookup Lookup() {
    return [this](const std::string& cp, const std::string& key_id) -> const CpKey* {
      if (cp != "CP-1") return nullptr;
      for (const CpKey& k : keys_) {
        if (k.key_id == key_id) return &k;
      }
      return nullptr;
    };
  }
  std::string Seal(const std::string& text, uint64_t counter = 1, Direction d = kUp) {
    return SealEnvelope(d, "CP-1", keys_[0], counter, text)->SerializeAsString();
  }
  absl::StatusOr<OpenedEnvelope> Open(const std::string& wire, Direction d = kUp) {
    return OpenEnvelope(wire, d, Lookup(), kNow);
  }

  std::vector<CpKey> keys_{{"k1", crypto::RandomBytes(32)}, {"k2", crypto::RandomBytes(32)}};
};

TEST_F(SealedTest, OpensWhatWasSealed) {
  absl::StatusOr<OpenedEnvelope> opened = Open(Seal("telemetry", 42));
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->plaintext, "telemetry");
  EXPECT_EQ(opened->cp_id, "CP-1");
  EXPECT_EQ(opened->key_id, "k1");
  EXPECT_EQ(opened->counter, 42u);
}

TEST_F(SealedTest, KeyNeverTravelsInTheEnvelope) {
  const std::string wire = Seal("x");
  EXPECT_EQ(wire.find(keys_[0].key), std::string::npos);
}

TEST_F(SealedTest, TamperedTagOrCiphertextIsRefused) {
  events::v1::SealedEnvelope e;
  ASSERT_TRUE(e.ParseFromString(Seal("payload")));
  events::v1::SealedEnvelope bad_tag = e;
  bad_tag.mutable_tag()->at(0) ^= 1;
  EXPECT_TRUE(absl::IsUnauthenticated(Open(bad_tag.SerializeAsString()).status()));
  events::v1::SealedEnvelope bad_text = e;
  bad_text.mutable_ciphertext()->at(0) ^= 1;
  EXPECT_TRUE(absl::IsUnauthenticated(Open(bad_text.SerializeAsString()).status()));
}

TEST_F(SealedTest, HeaderIsBoundToTheCiphertext) {
  events::v1::SealedEnvelope e;
  ASSERT_TRUE(e.ParseFromString(Seal("payload", 7)));
  events::v1::SealedEnvelope other_counter = e;
  other_counter.set_counter(8);
  EXPECT_TRUE(absl::IsUnauthenticated(Open(other_counter.SerializeAsString()).status()));
  events::v1::SealedEnvelope other_key = e;
  other_key.set_key_id("k2");
  EXPECT_TRUE(absl::IsUnauthenticated(Open(other_key.SerializeAsString()).status()));
}

TEST_F(SealedTest, WrongKeyUnknownKeyAndOtherDirectionAreRefused) {
  CpKey impostor{"k1", crypto::RandomBytes(32)};
  std::string forged = SealEnvelope(kUp, "CP-1", impostor, 1, "fake")->SerializeAsString();
  EXPECT_TRUE(absl::IsUnauthenticated(Open(forged).status()));
  CpKey unknown{"k9", crypto::RandomBytes(32)};
  EXPECT_TRUE(absl::IsUnauthenticated(Open(SealEnvelope(kUp, "CP-1", unknown, 1, "x")->SerializeAsString()).status()));
  EXPECT_TRUE(absl::IsUnauthenticated(Open(SealEnvelope(kUp, "CP-2", keys_[0], 1, "x")->SerializeAsString()).status()));
  // A command reflected back as an event does not open.
  EXPECT_TRUE(absl::IsUnauthenticated(Open(Seal("stop", 1, kDown), kUp).status()));
}

TEST_F(SealedTest, ExpiredKeyIsRefused) {
  keys_[0].not_after = kNow - absl::Seconds(1);
  EXPECT_TRUE(absl::IsUnauthenticated(Open(Seal("late")).status()));
}

TEST_F(SealedTest, TruncatedOrGarbageEnvelopesAreInvalid) {
  const std::string wire = Seal("payload");
  for (size_t n = 0; n < wire.size(); ++n) {
    absl::StatusOr<OpenedEnvelope> opened = Open(wire.substr(0, n));
    EXPECT_FALSE(opened.ok()) << "prefix of " << n << " bytes opened";
  }
  EXPECT_TRUE(absl::IsInvalidArgument(Open("not protobuf at all \xff\xff").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Open(std::string(100000, 'x')).status()));
}

TEST(ReplayGuard, RefusesReplayedAndReorderedCounters) {
  ReplayGuard guard;
  EXPECT_TRUE(guard.Accept("CP-1", 10).ok());
  EXPECT_TRUE(guard.Accept("CP-1", 11).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(guard.Accept("CP-1", 11)));
  EXPECT_TRUE(absl::IsFailedPrecondition(guard.Accept("CP-1", 5)));
  EXPECT_TRUE(guard.Accept("CP-2", 5).ok());  // per CP
  guard.Forget("CP-1");
  EXPECT_TRUE(guard.Accept("CP-1", 5).ok());
}

TEST(ReplayGuard, ARestoredMarkRefusesWhatWasAcceptedBeforeARestart) {
  ReplayGuard before;
  ASSERT_TRUE(before.Accept("CP-1", 100).ok());
  ASSERT_TRUE(before.Accept("CP-1", 200).ok());
  EXPECT_EQ(before.Mark("CP-1"), 200u);
  EXPECT_EQ(before.Mark("CP-9"), 0u);
  // What the receiver persisted, loaded by the restarted one.
  ReplayGuard after;
  after.Restore("CP-1", before.Mark("CP-1"));
  absl::Status s = after.Accept("CP-1", 200);
  EXPECT_TRUE(absl::IsFailedPrecondition(s));
  EXPECT_NE(s.message().find("replayed"), absl::string_view::npos) << s;
  EXPECT_TRUE(absl::IsFailedPrecondition(after.Accept("CP-1", 100)));
  EXPECT_TRUE(after.Accept("CP-1", 201).ok());
  // A lower persisted mark never lowers what is known.
  after.Restore("CP-1", 150);
  EXPECT_EQ(after.Mark("CP-1"), 201u);
}

TEST(SealCounter, GrowsEvenWhenTheClockDoesNot) {
  SealCounter counter;
  uint64_t a = counter.Next(kNow);
  uint64_t b = counter.Next(kNow);
  uint64_t c = counter.Next(kNow - absl::Hours(1));
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  // A restarted sender starts from the clock, past what it sent before.
  SealCounter restarted;
  EXPECT_GT(restarted.Next(kNow + absl::Seconds(1)), c);
}

TEST(KeyRing, SealsWithThePreferredKeyWhileValidElseTheNewest) {
  KeyRing ring;
  ring.Set("CP-1", {{"old", crypto::RandomBytes(32), kNow + absl::Minutes(1)},
                    {"new", crypto::RandomBytes(32)}});
  EXPECT_EQ(ring.ForSealing("CP-1", kNow)->key_id, "new");
  ring.MarkInUse("CP-1", "old");
  EXPECT_EQ(ring.ForSealing("CP-1", kNow)->key_id, "old");
  EXPECT_EQ(ring.ForSealing("CP-1", kNow + absl::Minutes(2))->key_id, "new");
  EXPECT_FALSE(ring.ForSealing("CP-2", kNow).has_value());
  ring.Remove("CP-1");
  EXPECT_FALSE(ring.Has("CP-1", "new"));
}

// Bounded fuzzing in ctest: random bytes and random mutations of a real
// envelope never crash the decoder and never open as a valid message.
TEST_F(SealedTest, RandomInputNeverCrashesOrOpens) {
  std::mt19937_64 rng(20261124);
  const std::string valid = Seal("a genuine telemetry message", 99);
  int opened = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string input;
    if (i % 2 == 0) {
      input.resize(rng() % 200);
      for (char& c : input) c = static_cast<char>(rng());
    } else {
      input = valid;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) input[rng() % input.size()] ^= static_cast<char>(1 + rng() % 255);
      if (rng() % 4 == 0) input.resize(rng() % input.size());
    }
    if (Open(input).ok()) ++opened;
  }
  EXPECT_EQ(opened, 0);
}

}  // namespace
}  // namespace evc
