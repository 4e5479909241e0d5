#include "services/driver/requests_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace evc::driver {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(RequestsFileTest, ValidIdsInOrderWithoutCommentsBlanksOrBadLines) {
  const std::string path = ::testing::TempDir() + "/requests.txt";
  std::ofstream(path) << "# the morning round\nALC-1\n\n  MAD-2  \nnot a cp id!\n#MAD-3\nVLC-4\n";
  std::FILE* warnings = std::tmpfile();
  auto ids = ReadRequests(path, warnings);
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_THAT(*ids, ElementsAre("ALC-1", "MAD-2", "VLC-4"));
  std::rewind(warnings);
  char line[256] = {};
  ASSERT_NE(std::fgets(line, sizeof(line), warnings), nullptr);
  EXPECT_THAT(std::string(line), HasSubstr(path + ":5: skipped: "));
  std::fclose(warnings);
  std::remove(path.c_str());
}

TEST(RequestsFileTest, AMissingFileIsNotFound) {
  auto ids = ReadRequests("/nonexistent/requests.txt");
  EXPECT_EQ(ids.status(), absl::NotFoundError("cannot read '/nonexistent/requests.txt'"));
}

}  // namespace
}  // namespace evc::driver
