#include "tests/integration/test_postgres.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/integration/stack.h"

namespace evc::testing {

absl::Status StartPostgres(const std::string& source_dir, const std::string& dir, int port) {
  const std::string cmd = absl::StrCat(source_dir, "/evc _pg start ", dir, "/pg ", port, " > ",
                                       dir, "/pg-start.log 2>&1");
  if (std::system(cmd.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("could not start postgres: see ", dir, "/pg-start.log"));
  }
  return absl::OkStatus();
}

absl::Status StopPostgres(const std::string& source_dir, const std::string& dir) {
  const std::string cmd = absl::StrCat(source_dir, "/evc _pg stop ", dir, "/pg > /dev/null 2>&1");
  if (std::system(cmd.c_str()) != 0) return absl::InternalError("postgres stop failed");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<TestPostgres>> TestPostgres::Start(const std::string& name) {
  const char* source = std::getenv("EVC_SOURCE_DIR");
  if (source == nullptr) return absl::FailedPreconditionError("EVC_SOURCE_DIR must be set (ctest sets it)");
  std::unique_ptr<TestPostgres> pg(new TestPostgres());
  pg->source_dir_ = source;
  std::string tmpl = absl::StrCat("/tmp/evc-", name, "-XXXXXX");
  pg->dir_ = mkdtemp(tmpl.data());
  chmod(pg->dir_.c_str(), 0755);  // Postgres may run as another user (see `evc _pg`)
  // A cluster that did not start or migrate keeps its directory, for its logs.
  auto failed = [&pg](absl::Status s) {
    pg->keep_ = true;
    return s;
  };
  const int port = FreePort();
  if (absl::Status s = StartPostgres(pg->source_dir_, pg->dir_, port); !s.ok()) return failed(s);
  pg->started_ = true;
  auto pool = PgPool::Connect(absl::StrCat("postgresql://evc@127.0.0.1:", port, "/evc"), 4,
                              absl::Seconds(30));
  if (!pool.ok()) return failed(pool.status());
  if (absl::Status s = ApplyMigrations(**pool); !s.ok()) return failed(s);
  pg->pool_ = std::move(*pool);
  return pg;
}

TestPostgres::~TestPostgres() {
  pool_.reset();
  if (started_) {
    if (absl::Status s = StopPostgres(source_dir_, dir_); !s.ok()) std::fprintf(stderr, "%s\n", s.ToString().c_str());
  }
  if (!keep_ && !::testing::Test::HasFailure() && std::getenv("EVC_KEEP_TEST_DIRS") == nullptr) {
    std::system(absl::StrCat("rm -rf ", dir_).c_str());
  } else {
    std::fprintf(stderr, "postgres of the test kept in %s\n", dir_.c_str());
  }
}

}  // namespace evc::testing
