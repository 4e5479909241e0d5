// The lease and the fence against a private Postgres (`evc _pg`), like the
// integration tests' stack.

#include "services/central/pg_leadership.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/stack.h"

namespace evc::central {
namespace {

constexpr absl::Duration kLease = absl::Seconds(3);

class PgLeadershipTest : public ::testing::Test {
 protected:
  // A failure here is reported by every test (SetUp), not turned into skips.
  static void SetUpTestSuite() {
    const char* source = std::getenv("EVC_SOURCE_DIR");
    if (source == nullptr) {
      setup_error_ = new std::string("EVC_SOURCE_DIR must be set (ctest sets it)");
      return;
    }
    char tmpl[] = "/tmp/evc-pg-leadership-XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl));
    chmod(dir_->c_str(), 0755);  // Postgres may run as another user (see `evc _pg`)
    evc_ = new std::string(absl::StrCat(source, "/evc"));
    const int port = testing::FreePort();
    const std::string start = absl::StrCat(*evc_, " _pg start ", *dir_, "/pg ", port, " > ",
                                           *dir_, "/pg-start.log 2>&1");
    if (std::system(start.c_str()) != 0) {
      setup_error_ = new std::string("postgres did not start: see " + *dir_ + "/pg-start.log");
      return;
    }
    auto pool = PgPool::Connect(absl::StrCat("postgresql://evc@127.0.0.1:", port, "/evc"), 4,
                                absl::Seconds(30));
    absl::Status migrated = pool.ok() ? ApplyMigrations(**pool) : pool.status();
    if (!migrated.ok()) {
      setup_error_ = new std::string(migrated.ToString());
      return;
    }
    pool_ = pool->release();
  }
  static void TearDownTestSuite() {
    delete pool_;
    if (dir_ == nullptr) return;
    const bool keep = setup_error_ != nullptr || ::testing::Test::HasFailure();
    std::system(absl::StrCat(*evc_, " _pg stop ", *dir_, "/pg >/dev/null 2>&1", keep ? "" : absl::StrCat("; rm -rf ", *dir_))
                    .c_str());
  }
  void SetUp() override {
    ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
    store_.emplace(*pool_);
    ASSERT_TRUE(pool_->Transact([](pqxx::work& tx) {
      tx.exec("UPDATE central_leader SET holder = '', advertise_address = '',"
              " expires_at = '-infinity'");
    }).ok());
  }
  // Makes the current lease expired, as if its holder had stopped renewing.
  static void ExpireLease() {
    ASSERT_TRUE(pool_->Transact([](pqxx::work& tx) {
      tx.exec("UPDATE central_leader SET expires_at = now() - interval '1 second'");
    }).ok());
  }
  // A write transaction of the journal under `fence`.
  static absl::Status FencedWrite(const LeaderFence& fence) {
    return pool_->Transact([&](pqxx::work& tx) {
      CheckLeaderFence(tx, &fence);
      tx.exec("SELECT 1");
    });
  }

  static std::string* setup_error_;
  static std::string* dir_;
  static std::string* evc_;
  static PgPool* pool_;
  std::optional<PgLeaderLeaseStore> store_;  // once SetUp found the database
};

std::string* PgLeadershipTest::setup_error_ = nullptr;
std::string* PgLeadershipTest::dir_ = nullptr;
std::string* PgLeadershipTest::evc_ = nullptr;
PgPool* PgLeadershipTest::pool_ = nullptr;

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
      PgLeaderLeaseStore store(*pool_);
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
