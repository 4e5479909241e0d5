// The replay marks against a private Postgres (`evc _pg`), like the
// integration tests' stack.

#include "services/central/replay_marks.h"

#include <map>
#include <optional>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "tests/integration/test_postgres.h"

namespace evc::central {
namespace {

class PgReplayMarksTest : public testing::PostgresSuite<PgReplayMarksTest> {
 public:
  static constexpr char kPostgresName[] = "pg-replay-marks";

 protected:
  void SetUp() override {
    PostgresSuite::SetUp();
    if (HasFatalFailure()) return;
    store_.emplace(pool());
    ASSERT_TRUE(pool().Transact([](pqxx::work& tx) { tx.exec("DELETE FROM replay_marks"); }).ok());
  }

  std::map<std::string, ReplayMark> Saved() {
    absl::StatusOr<std::vector<ReplayMark>> marks = store_->LoadReplayMarks();
    EXPECT_TRUE(marks.ok()) << marks.status();
    std::map<std::string, ReplayMark> by_cp;
    if (marks.ok()) {
      for (const ReplayMark& m : *marks) by_cp[m.cp_id] = m;
    }
    return by_cp;
  }

  std::optional<PgReplayMarkStore> store_;  // once SetUp found the database
};

// One statement saves a whole batch: every CP of it, counters past int64.
TEST_F(PgReplayMarksTest, ABatchOfMarksIsSavedWhole) {
  std::vector<ReplayMark> batch;
  for (int i = 0; i < 1500; ++i) {
    batch.push_back({absl::StrFormat("CP-%04d", i), 18446744073709550000ull + i, i % 8, 1000 + i});
  }
  ASSERT_TRUE(store_->SaveReplayMarks(batch).ok());
  std::map<std::string, ReplayMark> saved = Saved();
  ASSERT_EQ(saved.size(), batch.size());
  for (const ReplayMark& m : batch) {
    const ReplayMark& s = saved.at(m.cp_id);
    EXPECT_EQ(s.counter, m.counter) << m.cp_id;
    EXPECT_EQ(s.partition, m.partition) << m.cp_id;
    EXPECT_EQ(s.offset, m.offset) << m.cp_id;
  }
}

// A mark only moves forward: a lower counter (a late writer) leaves it.
TEST_F(PgReplayMarksTest, AMarkOnlyMovesForward) {
  ASSERT_TRUE(store_->SaveReplayMarks({{"A", 10, 1, 100}, {"B", 10, 2, 200}}).ok());
  ASSERT_TRUE(store_->SaveReplayMarks({{"A", 9, 1, 90}, {"B", 11, 3, 300}, {"C", 1, 0, 5}}).ok());
  std::map<std::string, ReplayMark> saved = Saved();
  ASSERT_EQ(saved.size(), 3u);
  EXPECT_EQ(saved["A"].counter, 10u);
  EXPECT_EQ(saved["A"].offset, 100);
  EXPECT_EQ(saved["B"].counter, 11u);
  EXPECT_EQ(saved["B"].partition, 3);
  EXPECT_EQ(saved["B"].offset, 300);
  EXPECT_EQ(saved["C"].counter, 1u);
}

}  // namespace
}  // namespace evc::central
