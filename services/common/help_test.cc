#include "services/common/help.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/flags/flag.h"

ABSL_FLAG(absl::Duration, help_test_patience, absl::Seconds(7),
          "how long the test waits for nothing");
ABSL_FLAG(std::string, help_test_empty, "", "a flag whose default is the empty string");

namespace evc {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Help, ListsEveryProjectFlagWithItsDefaultAndVariable) {
  const std::string text = HelpText("help_test: what it does");
  EXPECT_THAT(text, HasSubstr("help_test: what it does\n"));
  EXPECT_THAT(text, HasSubstr("  --help_test_patience=7s   (EVC_HELP_TEST_PATIENCE)\n"
                              "      how long the test waits for nothing\n"));
  EXPECT_THAT(text, HasSubstr("  --help_test_empty=\"\"   (EVC_HELP_TEST_EMPTY)"));
}

// This test's flags live under services/common/, like the shared ones: they
// are listed under the shared heading, and no empty "own" section is printed.
TEST(Help, SharedFlagsHaveTheirOwnHeading) {
  const std::string text = HelpText("about");
  const size_t heading = text.find("Common flags");
  ASSERT_NE(heading, std::string::npos);
  EXPECT_GT(text.find("--tls_ca="), heading) << "services/common/grpc_server.cc is linked in";
  EXPECT_GT(text.find("--help_test_patience="), heading);
  EXPECT_THAT(text, Not(HasSubstr("Flags (each also")));
  EXPECT_THAT(text, Not(HasSubstr("--flagfile="))) << "Abseil's own flags are for --helpfull";
}

TEST(Help, FlagEntriesNameOnlyTheFlagsAsked) {
  const std::string entries = FlagEntries({"help_test_empty", "no_such_flag"});
  EXPECT_THAT(entries, HasSubstr("--help_test_empty"));
  EXPECT_THAT(entries, Not(HasSubstr("--help_test_patience")));
  EXPECT_THAT(entries, Not(HasSubstr("no_such_flag")));
}

TEST(Help, RecognisesHelpBeforeTheEndOfFlags) {
  auto asks = [](std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return AsksForHelp(static_cast<int>(argv.size()), argv.data());
  };
  EXPECT_TRUE(asks({"evcctl", "--help"}));
  EXPECT_TRUE(asks({"evcctl", "weather", "-h"}));
  EXPECT_FALSE(asks({"evcctl", "status"}));
  EXPECT_FALSE(asks({"evcctl", "weather", "set", "--", "-h"}));
}

}  // namespace
}  // namespace evc
