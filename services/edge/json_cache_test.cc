#include "services/edge/json_cache.h"

#include <gtest/gtest.h>

#include "evc/central/v1/central.pb.h"
#include "services/edge/transcoder.h"

namespace evc::edge {
namespace {

central::v1::NetworkUpdate Update(const std::string& cp) {
  central::v1::NetworkUpdate u;
  u.mutable_charging_point()->mutable_charging_point()->set_cp_id(cp);
  u.mutable_charging_point()->set_state(common::v1::CP_STATE_ACTIVE);
  u.mutable_charging_point()->mutable_supply()->mutable_started_at()->set_seconds(1767225600);
  return u;
}

TEST(JsonCacheTest, PrintsLikeTheParsedMessageAndConvertsEachMessageOnce) {
  JsonCache cache;
  const auto* type = central::v1::NetworkUpdate::descriptor();
  const std::string a = Update("A").SerializeAsString();
  auto first = cache.Get(*type, a, true);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(**first, "{\"result\":" + ToJson(Update("A")) + "}");
  auto again = cache.Get(*type, a, true);
  EXPECT_EQ(first->get(), again->get()) << "the same shared string";
  auto plain = cache.Get(*type, a, false);
  EXPECT_EQ(**plain, ToJson(Update("A")));
  cache.Get(*type, Update("B").SerializeAsString(), true).IgnoreError();
  EXPECT_EQ(cache.counters().conversions, 3);
  EXPECT_EQ(cache.counters().hits, 1);
}

TEST(JsonCacheTest, StaysWithinItsBound) {
  JsonCache cache(/*max_bytes=*/16 * 1024);
  const auto* type = central::v1::NetworkUpdate::descriptor();
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(cache.Get(*type, Update("CP-" + std::to_string(i)).SerializeAsString(), true).ok());
  // The first ones were evicted: asking again converts again.
  const int64_t before = cache.counters().conversions;
  ASSERT_TRUE(cache.Get(*type, Update("CP-0").SerializeAsString(), true).ok());
  EXPECT_EQ(cache.counters().conversions, before + 1);
}

}  // namespace
}  // namespace evc::edge
