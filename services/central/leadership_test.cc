// The election with a lease store in memory whose expiry follows a fake clock.

#include "services/central/leadership.h"

#include "services/central/leadership_grpc.h"

#include <vector>

#include "gtest/gtest.h"
#include "services/common/testing/fake_clock.h"

namespace evc::central {
namespace {

// One lease, judged by `clock` like Postgres judges it by now().
class FakeLeaseStore : public LeaderLeaseStore {
 public:
  explicit FakeLeaseStore(const Clock& clock) : clock_(clock) {}
  absl::StatusOr<Lease> TryAcquire(const std::string& holder, const std::string& address,
                                   absl::Duration lease_for) override {
    if (!reachable) return absl::UnavailableError("store unreachable");
    if (lease.holder.empty() || lease.holder == holder || clock_.Now() >= expires_at) {
      lease = {.holder = holder, .advertise_address = address, .epoch = lease.epoch + 1};
      expires_at = clock_.Now() + lease_for;
    }
    return lease;
  }
  absl::StatusOr<bool> Renew(const std::string& holder, int64_t epoch,
                             absl::Duration lease_for) override {
    if (!reachable) return absl::UnavailableError("store unreachable");
    if (lease.holder != holder || lease.epoch != epoch) return false;
    expires_at = clock_.Now() + lease_for;
    return true;
  }
  absl::Status Release(const std::string& holder, int64_t epoch) override {
    if (lease.holder == holder && lease.epoch == epoch) expires_at = clock_.Now();
    return absl::OkStatus();
  }

  Lease lease;
  absl::Time expires_at = absl::InfinitePast();
  bool reachable = true;

 private:
  const Clock& clock_;
};

struct Change {
  LeaderState state;
  int64_t epoch;
};

class RecordingObserver : public LeadershipObserver {
 public:
  void OnLeadership(LeaderState state, const Lease& lease) override {
    changes.push_back({state, lease.epoch});
  }
  std::vector<Change> changes;
};

LeadershipConfig Config(const std::string& replica) {
  return {.replica_id = replica, .advertise_address = replica + ":50053",
          .lease = absl::Seconds(3), .renew = absl::Seconds(1)};
}

class LeadershipTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  FakeLeaseStore store_{clock_};
  RecordingObserver a_events_, b_events_;
  Leadership a_{Config("a"), store_, clock_, a_events_};
  Leadership b_{Config("b"), store_, clock_, b_events_};
};

TEST_F(LeadershipTest, LoneReplicaLeadsAtItsFirstStepWithEpochOne) {
  a_.Step();
  EXPECT_EQ(a_.state(), LeaderState::kLeading);
  EXPECT_EQ(a_.lease().epoch, 1);
  ASSERT_EQ(a_events_.changes.size(), 1u);
  EXPECT_EQ(a_events_.changes[0].state, LeaderState::kLeading);
}

TEST_F(LeadershipTest, RenewingLeaderKeepsItsTermAndFollowerSeesIt) {
  a_.Step();
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(absl::Seconds(1));
    a_.Step();
    b_.Step();
  }
  EXPECT_EQ(a_.state(), LeaderState::kLeading);
  EXPECT_EQ(b_.state(), LeaderState::kFollowing);
  EXPECT_EQ(b_.lease().holder, "a");
  EXPECT_EQ(b_.lease().advertise_address, "a:50053");
  EXPECT_EQ(store_.lease.epoch, 1);
  EXPECT_EQ(a_events_.changes.size(), 1u);
  EXPECT_TRUE(b_events_.changes.empty());
}

TEST_F(LeadershipTest, FollowerTakesOverAnExpiredLeaseWithAHigherEpoch) {
  a_.Step();
  clock_.Advance(absl::Seconds(2));
  b_.Step();
  EXPECT_EQ(b_.state(), LeaderState::kFollowing) << "the lease has not expired yet";
  clock_.Advance(absl::Seconds(1));
  b_.Step();
  EXPECT_EQ(b_.state(), LeaderState::kLeading);
  EXPECT_EQ(b_.lease().epoch, 2);
}

TEST_F(LeadershipTest, SupersededLeaderStepsDownAtItsNextRenewal) {
  a_.Step();
  clock_.Advance(absl::Seconds(5));  // a paused past its lease
  b_.Step();
  a_.Step();
  EXPECT_EQ(a_.state(), LeaderState::kSuperseded);
  ASSERT_EQ(a_events_.changes.size(), 2u);
  EXPECT_EQ(a_events_.changes[1].state, LeaderState::kSuperseded);
  EXPECT_EQ(a_events_.changes[1].epoch, 1);
  a_.Step();
  EXPECT_EQ(a_.state(), LeaderState::kSuperseded) << "a superseded replica does not campaign";
  EXPECT_EQ(store_.lease.holder, "b");
}

TEST_F(LeadershipTest, UnreachableStoreLapsesTheTermOnlyAfterTheLease) {
  a_.Step();
  store_.reachable = false;
  clock_.Advance(absl::Seconds(1));
  a_.Step();
  EXPECT_EQ(a_.state(), LeaderState::kLeading) << "the term still holds";
  clock_.Advance(absl::Seconds(2));
  a_.Step();
  EXPECT_EQ(a_.state(), LeaderState::kLapsed);
  store_.reachable = true;
  clock_.Advance(absl::Seconds(1));
  a_.Step();
  EXPECT_EQ(a_.state(), LeaderState::kLeading) << "nobody took over: the same term goes on";
  EXPECT_EQ(a_.lease().epoch, 1);
  ASSERT_EQ(a_events_.changes.size(), 3u);
  EXPECT_EQ(a_events_.changes[1].state, LeaderState::kLapsed);
}

TEST_F(LeadershipTest, EpochGrowsWithEveryTermAndResignLetsTheNextLeadAtOnce) {
  a_.Step();
  a_.Resign();
  b_.Step();
  EXPECT_EQ(b_.state(), LeaderState::kLeading);
  EXPECT_EQ(b_.lease().epoch, 2);
  Leadership restarted_a(Config("a"), store_, clock_, a_events_);
  clock_.Advance(absl::Seconds(4));
  restarted_a.Step();
  EXPECT_EQ(restarted_a.lease().epoch, 3);
  b_.Step();
  EXPECT_EQ(b_.state(), LeaderState::kSuperseded);
}

TEST_F(LeadershipTest, RestartedReplicaRetakesItsOwnUnexpiredLease) {
  a_.Step();
  Leadership restarted_a(Config("a"), store_, clock_, a_events_);
  restarted_a.Step();
  EXPECT_EQ(restarted_a.state(), LeaderState::kLeading);
  EXPECT_EQ(restarted_a.lease().epoch, 2) << "a new term, so the old process is fenced";
}

TEST(FollowerRefusalTest, CentralCallsAreUnavailableAndNameTheLeader) {
  const Lease leader{.holder = "central-0", .advertise_address = "10.0.0.7:50053", .epoch = 4};
  absl::Status refused =
      FollowerRefusal("/evc.central.v1.CentralService/RequestCharge", "central-1", leader);
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(refused.message(),
            "central replica central-1 is a follower: the leader is replica central-0 at "
            "10.0.0.7:50053 (epoch 4); call it there");
  EXPECT_EQ(FollowerRefusal("/evc.central.v1.CentralService/GetSupply", "central-1", Lease()).code(),
            absl::StatusCode::kUnavailable);
}

TEST(FollowerRefusalTest, MethodsOfNoCentralServiceAreUnimplemented) {
  EXPECT_EQ(FollowerRefusal("/evc.auth.v1.AuthService/Login", "central-1", Lease()).code(),
            absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace evc::central
