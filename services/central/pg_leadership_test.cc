// The lease and the fence against a private Postgres (`evc _pg`), like the
// integration tests' stack.

#include "services/central/pg_leadership.h"

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/test_postgres.h"

namespace evc::central {
namespace {

constexpr absl::Duration kLease = absl::Seconds(3);

class PgLeadershipTest : public testing::PostgresSuite<PgLeadershipTest> {
 public:
  static constexpr char kPostgresName[] = "pg-leadership";

 protected:
  void SetUp() override {
    PostgresSuite::SetUp();
    if (HasFatalFailure()) return;
    store_.emplace(pool());
    ASSERT_TRUE(pool().Transact([](pqxx::work& tx) {
      tx.exec("UPDATE central_leader SET holder = '', advertise_address = '',"
              " expires_at = '-infinity'");
    }).ok());
  }
  // Makes the current lease expired, as if its holder had stopped renewing.
  static void ExpireLease() {
    ASSERT_TRUE(pool().Transact([](pqxx::work& tx) {
      tx.exec("UPDATE central_leader SET expires_at = now() - interval '1 second'");
    }).ok());
  }
  // A write transaction of the journal under `fence`.
  static absl::Status FencedWrite(const LeaderFence& fence) {
    return pool().Transact([&](pqxx::work& tx) {
      CheckLeaderFence(tx, &fence);
      tx.exec("SELECT 1");
    });
  }

  std::optional<PgLeaderLeaseStore> store_;  // once SetUp found the database
};

TEST_F(PgLeadershipTest, FreeLeaseIsTakenWithAHigherEpochAndRenewed) {
  auto a = store_->TryAcquire("a", "10.0.0.1:50053", kLease);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->holder, "a");
  EXPECT_EQ(a->advertise_address, "10.0.0.1:50053");
  auto renewed = store_->Renew("a", a->epoch, kLease);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_TRUE(*renewed);
  auto again = store_->TryAcquire("a", "10.0.0.1:50053", kLease);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->epoch, a->epoch + 1) << "a restarted replica starts a new term";
}

TEST_F(PgLeadershipTest, HeldLeaseIsRefusedToAnotherUntilItExpires) {
  auto a = store_->TryAcquire("a", "a:1", kLease);
  ASSERT_TRUE(a.ok());
  auto b = store_->TryAcquire("b", "b:1", kLease);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->holder, "a");
  EXPECT_EQ(b->advertise_address, "a:1");
  EXPECT_EQ(b->epoch, a->epoch);
  ExpireLease();
  b = store_->TryAcquire("b", "b:1", kLease);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->holder, "b");
  EXPECT_EQ(b->epoch, a->epoch + 1);
  auto renewed = store_->Renew("a", a->epoch, kLease);
  ASSERT_TRUE(renewed.ok());
  EXPECT_FALSE(*renewed) << "a's term is over";
}

TEST_F(PgLeadershipTest, OfTwoContendersOnlyOneWins) {
  std::atomic<int> winners{0};
  std::vector<std::thread> contenders;
  for (const std::string replica : {"a", "b", "c", "d"}) {
    contenders.emplace_back([&, replica] {
      PgLeaderLeaseStore store(pool());
      auto lease = store.TryAcquire(replica, replica + ":1", kLease);
      if (lease.ok() && lease->holder == replica) ++winners;
    });
  }
  for (std::thread& t : contenders) t.join();
  EXPECT_EQ(winners.load(), 1);
}

TEST_F(PgLeadershipTest, ReleaseLetsTheNextReplicaTakeOverAtOnce) {
  auto a = store_->TryAcquire("a", "a:1", kLease);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(store_->Release("a", a->epoch).ok());
  auto b = store_->TryAcquire("b", "b:1", kLease);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->holder, "b");
}

TEST_F(PgLeadershipTest, WritesUnderASupersededTermAreFencedInsideTheTransaction) {
  std::vector<std::string> fenced;
  LeaderFence a_fence("a", [&](const absl::Status& s) { fenced.push_back(std::string(s.message())); });
  auto a = store_->TryAcquire("a", "a:1", kLease);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(FencedWrite(a_fence).ok()) << "no term entered yet";
  a_fence.Enter(a->epoch);
  EXPECT_TRUE(FencedWrite(a_fence).ok());
  ExpireLease();
  EXPECT_TRUE(FencedWrite(a_fence).ok()) << "expired but not taken: still the only writer";
  ASSERT_TRUE(store_->TryAcquire("b", "b:1", kLease).ok());
  absl::Status s = FencedWrite(a_fence);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find(absl::StrCat("fenced: epoch ", a->epoch, " of replica a superseded by epoch ",
                                          a->epoch + 1, " of replica b")),
            absl::string_view::npos)
      << s;
  EXPECT_EQ(fenced.size(), 2u);
}

}  // namespace
}  // namespace evc::central
