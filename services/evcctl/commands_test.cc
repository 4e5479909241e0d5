#include "services/evcctl/commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/flags/flag.h"

ABSL_FLAG(bool, commands_test_all, false, "stop: every charging point");

namespace evc::evcctl {
namespace {

using ::testing::HasSubstr;

const std::vector<Command>& Table() {
  static const auto* table = new std::vector<Command>{
      {"stop",
       "stop ID | --all",
       "operator stop",
       "evcctl stop --all",
       {"commands_test_all"},
       0,
       nullptr},
      {"watch", "watch [--state=S]", "live panel", "evcctl watch --state=FAULTED", {}, 0, nullptr},
  };
  return *table;
}

TEST(EvcctlCommands, OverviewGivesEveryCommandASummaryAndAnExample) {
  const std::string text = CommandsOverview(Table());
  EXPECT_THAT(text,
              HasSubstr("  stop ID | --all\n      operator stop\n      e.g. evcctl stop --all\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "  watch [--state=S]\n      live panel\n      e.g. evcctl watch --state=FAULTED\n"));
}

TEST(EvcctlCommands, DetailsListTheCommandsFlagsWithDefaultsAndVariables) {
  const std::string text = CommandDetails(Table()[0]);
  EXPECT_THAT(text, HasSubstr("usage: evcctl [--flag=value ...] stop ID | --all\noperator stop\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "--commands_test_all=false   (EVC_COMMANDS_TEST_ALL)\n      stop: every charging point"));
  EXPECT_THAT(text, HasSubstr("example:\n  evcctl stop --all\n"));
}

TEST(EvcctlCommands, FindsTheCommandAHelpFlagIsAbout) {
  std::vector<std::string> args = {"evcctl", "--user=admin", "watch", "--help"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  const Command* asked = CommandAskedAbout(Table(), static_cast<int>(argv.size()), argv.data());
  ASSERT_NE(asked, nullptr);
  EXPECT_EQ(asked->name, "watch");
  EXPECT_EQ(FindCommand(Table(), "nope"), nullptr);
  EXPECT_EQ(CommandAskedAbout(Table(), 2, argv.data()), nullptr);
}

}  // namespace
}  // namespace evc::evcctl
