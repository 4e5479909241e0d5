#include "services/common/backoff.h"

#include <gtest/gtest.h>

#include "absl/time/clock.h"

namespace evc {
namespace {

TEST(Backoff, GrowsToTheMaximumWithJitter) {
  Backoff b(absl::Milliseconds(100), absl::Milliseconds(1000), 2.0);
  absl::Duration first = b.Next();
  EXPECT_GE(first, absl::Milliseconds(80));
  EXPECT_LE(first, absl::Milliseconds(120));
  for (int i = 0; i < 10; ++i) b.Next();
  absl::Duration late = b.Next();
  EXPECT_GE(late, absl::Milliseconds(800));
  EXPECT_LE(late, absl::Milliseconds(1200));
  b.Reset();
  EXPECT_LE(b.Next(), absl::Milliseconds(120));
}

TEST(Backoff, RetryStopsOnSuccess) {
  int calls = 0;
  absl::Status s = RetryWithBackoff(
      "test",
      [&] { return ++calls < 3 ? absl::UnavailableError("not yet") : absl::OkStatus(); },
      absl::Now() + absl::Seconds(10), nullptr, Backoff(absl::Milliseconds(1), absl::Milliseconds(2)));
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(calls, 3);
}

TEST(Backoff, RetryGivesUpAtTheDeadlineWithTheLastError) {
  absl::Status s = RetryWithBackoff(
      "reach peer", [] { return absl::UnavailableError("connection refused"); },
      absl::Now() + absl::Milliseconds(30), nullptr,
      Backoff(absl::Milliseconds(5), absl::Milliseconds(5)));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("reach peer"), std::string::npos);
  EXPECT_NE(s.message().find("connection refused"), std::string::npos);
}

TEST(Backoff, RetryEndsWhenStopIsNotified) {
  absl::Notification stop;
  stop.Notify();
  absl::Status s = RetryWithBackoff(
      "x", [] { return absl::UnavailableError("down"); }, absl::InfiniteFuture(), &stop);
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace evc
