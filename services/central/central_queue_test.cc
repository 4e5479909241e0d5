// Queues (issue 20) at central's entry points: who may join, leave and look
// (decided before the state machine sees the call, refusals audited), and a
// queue that survives a restart.

#include <gtest/gtest.h>

#include "services/central/central.h"
#include "services/central/central_testing.h"

namespace evc::central {
namespace {

using namespace fakes;  // NOLINT: the fakes of these tests

common::v1::ChargingPoint SiteCp(const std::string& id) {
  common::v1::ChargingPoint cp = Cp(id);
  cp.mutable_location()->set_city("Alicante");
  cp.mutable_location()->set_address("Plaza Mayor 1");
  return cp;
}

class CentralQueueTest : public ::testing::Test, protected CentralFixture {
 protected:
  // CP1, the site's only CP, busy with ana's supply.
  void StartBusy(Central& central) {
    ASSERT_TRUE(central.Start({SiteCp("CP1")}).ok());
    ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
    ASSERT_TRUE(central.RequestCharge(As("ana"), "CP1", "", "r1").ok());
  }
  absl::StatusOr<Caller> As(const std::string& who, const std::string& role = kRoleDriver) {
    return tokens.CallerOf(tokens.For(who, role));
  }
  static central::v1::JoinQueueRequest Site(const std::string& driver_id = "") {
    central::v1::JoinQueueRequest r;
    r.set_city("Alicante");
    r.set_address("Plaza Mayor 1");
    r.set_driver_id(driver_id);
    return r;
  }
};

TEST_F(CentralQueueTest, OnlyDriversJoinAndLeaveForThemselvesAndRefusalsAreAudited) {
  auto wired = Wire({.notification_keys = &trust});
  Central& central = wired->central;
  StartBusy(central);
  EXPECT_TRUE(absl::IsUnauthenticated(central.JoinQueue(tokens.CallerOf(""), Site()).status()));
  EXPECT_TRUE(
      absl::IsPermissionDenied(central.JoinQueue(As("admin", kRoleOperator), Site()).status()));
  EXPECT_TRUE(absl::IsPermissionDenied(central.JoinQueue(As("luis"), Site("dan")).status()));
  absl::StatusOr<common::v1::QueueStatus> dan = central.JoinQueue(As("dan"), Site());
  ASSERT_TRUE(dan.ok()) << dan.status();
  EXPECT_EQ(dan->position(), 1);
  EXPECT_TRUE(dan->has_estimated_wait_seconds());
  // A driver who charges cannot queue.
  EXPECT_EQ(central.JoinQueue(As("ana"), Site()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::IsPermissionDenied(central.LeaveQueue(As("luis"), "dan").status()));
  ASSERT_TRUE(central.LeaveQueue(As("dan"), "").ok());
  central.Stop();
  int refused = 0;
  for (const AuditRecord& a : store.audit) {
    refused += a.action == "queue_join_refused" && a.category == AuditCategory::kSecurity;
  }
  EXPECT_EQ(refused, 3);
  // Leaving was told to dan, sealed for dan.
  bool told = false;
  for (const auto& r : publisher.records()) {
    told |= r.topic == topics::kDriverNotifications && r.key == "dan";
  }
  EXPECT_TRUE(told);
}

TEST_F(CentralQueueTest, DriversSeeTheirOwnPlaceAndOperatorsEveryone) {
  auto wired = Wire();
  Central& central = wired->central;
  StartBusy(central);
  ASSERT_TRUE(central.JoinQueue(As("dan"), Site()).ok());
  const Caller op = Caller::Operator("admin");
  EXPECT_EQ(central.QueuePosition(Caller::Driver("dan"), "")->position(), 1);
  EXPECT_EQ(central.QueuePosition(op, "dan")->driver_id(), "dan");
  EXPECT_TRUE(absl::IsInvalidArgument(central.QueuePosition(op, "").status()));
  EXPECT_TRUE(
      absl::IsPermissionDenied(central.QueuePosition(Caller::Driver("luis"), "dan").status()));
  EXPECT_TRUE(absl::IsUnauthenticated(central.QueuePosition(Caller::Anonymous(), "dan").status()));
  EXPECT_TRUE(absl::IsNotFound(central.QueuePosition(Caller::Driver("luis"), "").status()));
  ASSERT_EQ(central.ListQueues().size(), 1u);
  central.Stop();
}

TEST_F(CentralQueueTest, TheQueueIsDurableAndSurvivesARestart) {
  {
    auto first = Wire();
    Central& central = first->central;
    StartBusy(central);
    ASSERT_TRUE(central.JoinQueue(As("dan"), Site()).ok());
    ASSERT_TRUE(central.JoinQueue(As("eve"), Site()).ok());
    // Returned once durable: the store already has both.
    absl::MutexLock lock(&store.mu);
    EXPECT_EQ(store.queue.size(), 2u);
  }
  auto wired = Wire();
  Central& restarted = wired->central;
  ASSERT_TRUE(restarted.Start({SiteCp("CP1")}).ok());
  EXPECT_EQ(restarted.QueuePosition(Caller::Driver("dan"), "")->position(), 1);
  EXPECT_EQ(restarted.QueuePosition(Caller::Driver("eve"), "")->position(), 2);
  restarted.Stop();
}

}  // namespace
}  // namespace evc::central
