#include "services/central/notification_keys.h"

#include <atomic>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"

namespace evc::central {
namespace {

// Auth as a test drives it: each fetch waits until the test opens the gate,
// answers "key-<driver>" (or `failure`), and is counted.
class GatedSource : public NotificationKeySource {
 public:
  absl::StatusOr<NotificationKey> Key(const std::string& driver_id) override {
    ++fetches;
    gate.WaitForNotification();
    absl::MutexLock lock(&mu);
    if (!failure.ok()) return failure;
    return NotificationKey{"k1", "key-" + driver_id};
  }
  absl::Notification gate;
  std::atomic<int> fetches{0};
  absl::Mutex mu;
  absl::Status failure ABSL_GUARDED_BY(mu) = absl::OkStatus();
};

// What the uses heard, in the order they ran.
class Heard {
 public:
  NotificationKeys::Use Record(std::string label) {
    return [this, label](const absl::StatusOr<NotificationKey>& key) {
      absl::MutexLock lock(&mu_);
      entries_.push_back(label + "=" + (key.ok() ? key->key : std::string(absl::StatusCodeToString(key.status().code()))));
    };
  }
  std::vector<std::string> entries() {
    absl::MutexLock lock(&mu_);
    return entries_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> entries_ ABSL_GUARDED_BY(mu_);
};

TEST(NotificationKeysTest, UsesWaitForOneFetchWithoutTheCallerWaitingAndRunInOrder) {
  GatedSource auth;
  NotificationKeys keys(&auth);
  Heard heard;
  keys.Prefetch("ana");
  keys.With("ana", heard.Record("first"));  // returns while auth has not answered
  keys.With("ana", heard.Record("second"));
  EXPECT_TRUE(heard.entries().empty());
  EXPECT_FALSE(keys.Known("ana").has_value());
  auth.gate.Notify();
  ASSERT_TRUE(keys.Drain(absl::Seconds(10)));
  EXPECT_EQ(heard.entries(), (std::vector<std::string>{"first=key-ana", "second=key-ana"}));
  EXPECT_EQ(auth.fetches.load(), 1);
  ASSERT_TRUE(keys.Known("ana").has_value());
  // Known: answered at once, on the caller's thread, with no new fetch.
  keys.With("ana", heard.Record("third"));
  EXPECT_EQ(heard.entries().back(), "third=key-ana");
  EXPECT_EQ(auth.fetches.load(), 1);
}

TEST(NotificationKeysTest, AFailedFetchReachesEveryWaitingUseAndIsAskedAgainNextTime) {
  GatedSource auth;
  {
    absl::MutexLock lock(&auth.mu);
    auth.failure = absl::UnavailableError("auth away");
  }
  NotificationKeys keys(&auth);
  Heard heard;
  keys.With("ana", heard.Record("a"));
  keys.With("ana", heard.Record("b"));
  auth.gate.Notify();
  ASSERT_TRUE(keys.Drain(absl::Seconds(10)));
  EXPECT_EQ(heard.entries(), (std::vector<std::string>{"a=UNAVAILABLE", "b=UNAVAILABLE"}));
  EXPECT_FALSE(keys.Known("ana").has_value());
  {
    absl::MutexLock lock(&auth.mu);
    auth.failure = absl::OkStatus();
  }
  keys.With("ana", heard.Record("c"));
  ASSERT_TRUE(keys.Drain(absl::Seconds(10)));
  EXPECT_EQ(heard.entries().back(), "c=key-ana");
  EXPECT_EQ(auth.fetches.load(), 2);
}

TEST(NotificationKeysTest, AKeyFetchedAcrossAForgetIsUsedOnceButNotKept) {
  GatedSource auth;
  NotificationKeys keys(&auth);
  Heard heard;
  keys.With("ana", heard.Record("a"));
  keys.Forget();  // auth's signing key rotated while the fetch was out
  auth.gate.Notify();
  ASSERT_TRUE(keys.Drain(absl::Seconds(10)));
  EXPECT_EQ(heard.entries(), std::vector<std::string>{"a=key-ana"});
  EXPECT_FALSE(keys.Known("ana").has_value());
}

TEST(NotificationKeysTest, TooManyFetchesWaitingAreRefusedAtOnce) {
  GatedSource auth;
  NotificationKeys keys(&auth, /*fetchers=*/1, /*max_fetches_queued=*/1);
  Heard heard;
  keys.With("ana", heard.Record("ana"));  // taken by the fetcher
  while (auth.fetches.load() == 0) absl::SleepFor(absl::Milliseconds(1));
  keys.With("ben", heard.Record("ben"));  // queued
  keys.With("cai", heard.Record("cai"));  // no room
  EXPECT_EQ(heard.entries(), std::vector<std::string>{"cai=RESOURCE_EXHAUSTED"});
  auth.gate.Notify();
  ASSERT_TRUE(keys.Drain(absl::Seconds(10)));
  EXPECT_EQ(heard.entries().size(), 3u);
}

TEST(NotificationKeysTest, WithoutASourceOrOnceStoppedNothingIsFetched) {
  Heard heard;
  NotificationKeys none(nullptr);
  none.With("ana", heard.Record("none"));
  GatedSource auth;
  auth.gate.Notify();
  NotificationKeys keys(&auth);
  keys.Stop();
  keys.With("ana", heard.Record("stopped"));
  EXPECT_EQ(heard.entries(), (std::vector<std::string>{"none=FAILED_PRECONDITION", "stopped=UNAVAILABLE"}));
  EXPECT_EQ(auth.fetches.load(), 0);
}

}  // namespace
}  // namespace evc::central
