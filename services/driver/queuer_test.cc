// The driver's wait in a queue against a scripted central: what it prints, and
// how each way the wait ends is reported.

#include "services/driver/queuer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <deque>

namespace evc::driver {
namespace {

using ::testing::HasSubstr;

common::v1::QueueStatus Place(int position, common::v1::QueueEvent event = {}) {
  common::v1::QueueStatus s;
  s.set_driver_id("ana");
  s.set_city("Alicante");
  s.set_address("Plaza Mayor 1");
  s.set_position(position);
  s.set_queue_length(3);
  s.set_event(event);
  return s;
}

class FakeDesk : public QueueDesk {
 public:
  absl::StatusOr<common::v1::QueueStatus> Join(const central::v1::JoinQueueRequest& r) override {
    joined = r;
    return join_answer;
  }
  absl::StatusOr<common::v1::QueueStatus> Position() override {
    ++positions;
    return position_answer;
  }
  absl::StatusOr<common::v1::QueueStatus> Leave() override {
    ++leaves;
    return Place(0, common::v1::QUEUE_EVENT_LEFT);
  }
  absl::StatusOr<common::v1::QueueStatus> join_answer = Place(2);
  absl::StatusOr<common::v1::QueueStatus> position_answer = Place(2);
  central::v1::JoinQueueRequest joined;
  int positions = 0;
  int leaves = 0;
};

class QueuerTest : public ::testing::Test {
 protected:
  QueuerTest() : out(std::tmpfile()) {}
  ~QueuerTest() override { std::fclose(out); }
  Queuer Make(QueueOptions options = {}) {
    return Queuer(
        desk,
        [this](absl::Duration) -> std::optional<events::v1::DriverNotification> {
          if (notices.empty()) return std::nullopt;
          events::v1::DriverNotification n = notices.front();
          notices.pop_front();
          return n;
        },
        stopping, options, out);
  }
  void Notice(common::v1::QueueStatus s) {
    events::v1::DriverNotification n;
    n.set_driver_id("ana");
    *n.mutable_queue() = std::move(s);
    notices.push_back(std::move(n));
  }
  std::string Printed() {
    std::rewind(out);
    std::string text;
    char buf[512];
    while (std::fgets(buf, sizeof buf, out)) text += buf;
    return text;
  }
  central::v1::JoinQueueRequest Request() {
    central::v1::JoinQueueRequest r;
    r.set_city("Alicante");
    r.set_address("Plaza Mayor 1");
    return r;
  }

  std::FILE* out;
  FakeDesk desk;
  std::deque<events::v1::DriverNotification> notices;
  absl::Notification stopping;
};

TEST(DescribeQueueStatusTest, SaysThePlaceTheWaitAndWhy) {
  common::v1::QueueStatus s = Place(2);
  s.set_estimated_wait_seconds(840);
  s.set_estimate_detail("1 driver ahead at Plaza Mayor 1, Alicante, 2 charging points in service");
  EXPECT_EQ(DescribeQueueStatus(s),
            "position 2 of 3 at Plaza Mayor 1, Alicante; estimated wait 14 min (1 driver ahead at "
            "Plaza Mayor 1, Alicante, 2 charging points in service)");
  s.set_estimated_wait_seconds(45);
  EXPECT_THAT(DescribeQueueStatus(s), HasSubstr("estimated wait 45 s"));
  s.clear_estimated_wait_seconds();
  EXPECT_THAT(DescribeQueueStatus(s), HasSubstr("no estimate"));
  s.set_offered_cp_id("CP1");
  EXPECT_THAT(DescribeQueueStatus(s), HasSubstr("charging point CP1 is held for you"));
}

TEST_F(QueuerTest, PositionChangesArePrintedUntilTheOfferWhoseCpIsReturned) {
  Notice(Place(1, common::v1::QUEUE_EVENT_POSITION_CHANGED));
  common::v1::QueueStatus offer = Place(1, common::v1::QUEUE_EVENT_OFFERED);
  offer.set_offered_cp_id("CP2");
  offer.set_detail("charging point CP2 is held for you for 2m: request a charge there");
  Notice(offer);
  absl::StatusOr<std::string> cp = Make().WaitForOffer(Request());
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(*cp, "CP2");
  EXPECT_EQ(desk.joined.address(), "Plaza Mayor 1");
  const std::string printed = Printed();
  EXPECT_THAT(printed, HasSubstr("queued: position 2 of 3"));
  EXPECT_THAT(printed, HasSubstr("position 1 of 3"));
  EXPECT_THAT(printed, HasSubstr("offered: charging point CP2 is held for you"));
}

TEST_F(QueuerTest, ARefusalToQueueIsReturnedAsCentralSaidIt) {
  desk.join_answer = absl::FailedPreconditionError(
      "charging point CP1 at Plaza Mayor 1, Alicante is free: request a charge there now");
  absl::StatusOr<std::string> cp = Make().WaitForOffer(Request());
  EXPECT_EQ(cp.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(cp.status().message()), HasSubstr("is free"));
}

TEST_F(QueuerTest, AnExpiredOfferEndsTheWaitWithItsReason) {
  common::v1::QueueStatus expired = Place(0, common::v1::QUEUE_EVENT_OFFER_EXPIRED);
  expired.set_detail("the offer of charging point CP1 expired without a charge request");
  Notice(expired);
  absl::StatusOr<std::string> cp = Make().WaitForOffer(Request());
  EXPECT_EQ(cp.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(cp.status().message()), HasSubstr("expired"));
}

TEST_F(QueuerTest, TheEstimateIsRefreshedAndAnOfferWhoseNoticeWasLostIsSeen) {
  common::v1::QueueStatus offered = Place(1);
  offered.set_offered_cp_id("CP1");
  desk.position_answer = offered;
  absl::StatusOr<std::string> cp =
      Make({.refresh = absl::Milliseconds(10)}).WaitForOffer(Request());
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(*cp, "CP1");
  EXPECT_GE(desk.positions, 1);
}

TEST_F(QueuerTest, StoppingWhileQueuedLeavesTheQueue) {
  stopping.Notify();
  absl::StatusOr<std::string> cp = Make().WaitForOffer(Request());
  EXPECT_EQ(cp.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(desk.leaves, 1);
  EXPECT_THAT(Printed(), HasSubstr("left the queue"));
}

}  // namespace
}  // namespace evc::driver
