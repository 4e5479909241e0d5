// evcctl's dispatch of a parsed command line through the real command table.

#include "services/evcctl/command_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "services/evcctl/test_network.h"

namespace evc::evcctl {
namespace {

using ::testing::HasSubstr;

constexpr char kUsage[] =
    "usage: evcctl [--flag=value ...] COMMAND [ARGS]: evcctl --help lists the commands, "
    "evcctl help COMMAND explains one\n";

class CommandTableTest : public ::testing::Test {
 protected:
  int Run(const std::vector<std::string>& args) {
    return RunCommandLine(commands, args, About(commands), context);
  }

  TestNetwork network{};
  Context& context = network.context();
  const std::vector<Command> commands = Commands(context);
};

TEST_F(CommandTableTest, NoCommandOrAnUnknownOneIsAUsageError) {
  EXPECT_EQ(Run({}), 2);
  EXPECT_EQ(Run({"launch"}), 2);
  EXPECT_EQ(network.Err(), std::string(kUsage) + kUsage);
}

TEST_F(CommandTableTest, AMissingArgumentShowsTheCommandsSynopsis) {
  EXPECT_EQ(Run({"unregister"}), 2);
  EXPECT_EQ(network.Err(), "usage: evcctl unregister ID (evcctl help unregister explains it)\n");
  EXPECT_TRUE(network.connections().opened.empty());
}

TEST_F(CommandTableTest, HelpAboutAnUnknownCommandFails) {
  EXPECT_EQ(Run({"help", "launch"}), 1);
  EXPECT_EQ(network.Err(), "evcctl: NOT_FOUND: no command 'launch': evcctl --help lists them\n");
}

TEST_F(CommandTableTest, CommandsRunWithTheirNameAndArguments) {
  EXPECT_EQ(Run({"resume"}), 1);
  EXPECT_EQ(Run({"weather", "forecast"}), 2);
  EXPECT_THAT(network.Err(), HasSubstr("resume needs a CP id or --all (evcctl help resume)"));
  EXPECT_THAT(network.Err(), HasSubstr("usage: evcctl weather [cities]"));
}

TEST_F(CommandTableTest, EveryCommandHasOneNameAndIsInTheOverview) {
  std::set<std::string> names;
  const std::string about = About(commands);
  for (const Command& command : commands) {
    EXPECT_TRUE(names.insert(command.name).second) << command.name;
    EXPECT_THAT(about, HasSubstr("  " + command.synopsis + "\n")) << command.name;
    EXPECT_TRUE(command.run != nullptr) << command.name;
  }
  EXPECT_EQ(names.size(), 21u);  // + queues, site-cap, site-caps, config, update (issue 20)
}

}  // namespace
}  // namespace evc::evcctl
