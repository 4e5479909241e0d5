#pragma once
// A Postgres cluster of a test's own, through `evc _pg`: the integration
// stack starts one with its services, and store tests (pg_*_test.cc) start one
// migrated for their suite alone.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/common/postgres.h"

namespace evc::testing {

// `evc _pg start DIR/pg PORT` (its output in DIR/pg-start.log), and stop.
absl::Status StartPostgres(const std::string& source_dir, const std::string& dir, int port);
absl::Status StopPostgres(const std::string& source_dir, const std::string& dir);

// A migrated Postgres for one test suite, in a fresh /tmp/evc-NAME-XXXXXX
// directory (EVC_SOURCE_DIR must be set: ctest sets it). Destroying it stops
// the cluster and removes the directory, unless a test failed or
// EVC_KEEP_TEST_DIRS is set.
class TestPostgres {
 public:
  static absl::StatusOr<std::unique_ptr<TestPostgres>> Start(const std::string& name);
  ~TestPostgres();
  PgPool& pool() { return *pool_; }

 private:
  TestPostgres() = default;
  std::string source_dir_, dir_;
  bool started_ = false;
  bool keep_ = false;
  std::unique_ptr<PgPool> pool_;
};

// A fixture whose suite shares one TestPostgres, named by Suite::kPostgresName
// (CRTP, so that each suite has its own). A cluster that did not start fails
// every test (SetUp) rather than turning them into skips.
template <typename Suite>
class PostgresSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pg = TestPostgres::Start(Suite::kPostgresName);
    if (pg.ok()) {
      pg_ = std::move(*pg);
    } else {
      setup_error_ = pg.status();
    }
  }
  static void TearDownTestSuite() { pg_.reset(); }
  void SetUp() override { ASSERT_TRUE(setup_error_.ok()) << setup_error_; }
  static PgPool& pool() { return pg_->pool(); }

 private:
  static inline std::unique_ptr<TestPostgres> pg_;
  static inline absl::Status setup_error_;
};

}  // namespace evc::testing
