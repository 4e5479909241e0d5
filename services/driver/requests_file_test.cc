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

TEST(ChooseCpsTest, ASingleCpWinsOverTheFile) {
  CpChoice choice = ChooseCps("MAD-1", "/nonexistent/requests.txt");
  ASSERT_TRUE(choice.error.ok()) << choice.error;
  EXPECT_THAT(choice.cp_ids, ElementsAre("MAD-1"));
}

TEST(ChooseCpsTest, AnInvalidCpIdNamesTheCpFlag) {
  CpChoice choice = ChooseCps("not a cp id!", "");
  EXPECT_EQ(choice.bad_flag, "--cp");
  EXPECT_TRUE(absl::IsInvalidArgument(choice.error)) << choice.error;
  EXPECT_TRUE(choice.cp_ids.empty());
}

TEST(ChooseCpsTest, WithoutACpTheFileIsRead) {
  const std::string path = ::testing::TempDir() + "/choose.txt";
  std::ofstream(path) << "ALC-1\nVLC-4\n";
  CpChoice choice = ChooseCps("", path);
  ASSERT_TRUE(choice.error.ok()) << choice.error;
  EXPECT_THAT(choice.cp_ids, ElementsAre("ALC-1", "VLC-4"));
  std::remove(path.c_str());
}

TEST(ChooseCpsTest, NeitherSaysWhatToGive) {
  CpChoice choice = ChooseCps("", "");
  EXPECT_EQ(choice.bad_flag, "usage");
  EXPECT_EQ(choice.error, absl::InvalidArgumentError("give --cp=ID or --requests=FILE"));
}

TEST(ChooseCpsTest, AnUnreadableOrUselessFileNamesTheRequestsFlag) {
  CpChoice missing = ChooseCps("", "/nonexistent/requests.txt");
  EXPECT_EQ(missing.bad_flag, "--requests");
  EXPECT_TRUE(absl::IsNotFound(missing.error)) << missing.error;

  const std::string path = ::testing::TempDir() + "/useless.txt";
  std::ofstream(path) << "# nothing but comments\nnot a cp id!\n";
  std::FILE* warnings = std::tmpfile();
  CpChoice useless = ChooseCps("", path, warnings);
  std::fclose(warnings);
  EXPECT_EQ(useless.bad_flag, "--requests");
  EXPECT_EQ(useless.error, absl::InvalidArgumentError("no valid CP ids in the file"));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace evc::driver
