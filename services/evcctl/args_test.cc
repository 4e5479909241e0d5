#include "services/evcctl/args.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace evc::evcctl {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Fixed(std::vector<std::string> words) {
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  std::vector<std::string> fixed;
  for (char* arg : NegativeNumbersAsArguments(static_cast<int>(argv.size()), argv.data())) {
    fixed.push_back(arg);
  }
  return fixed;
}

TEST(EvcctlArgs, NegativeNumbersMoveBehindADoubleDash) {
  EXPECT_THAT(Fixed({"evcctl", "--weather=w:1", "weather", "set", "Oslo", "-8"}),
              ElementsAre("evcctl", "--weather=w:1", "weather", "set", "Oslo", "--", "-8"));
  EXPECT_THAT(Fixed({"evcctl", "weather", "set", "Oslo", "-7.5", "--plain"}),
              ElementsAre("evcctl", "weather", "set", "Oslo", "--plain", "--", "-7.5"));
}

TEST(EvcctlArgs, ACommandLineWithoutNegativeNumbersOrWithADoubleDashStaysAsItIs) {
  EXPECT_THAT(Fixed({"evcctl", "--all", "stop"}), ElementsAre("evcctl", "--all", "stop"));
  EXPECT_THAT(Fixed({"evcctl", "weather", "set", "Oslo", "--", "-8"}),
              ElementsAre("evcctl", "weather", "set", "Oslo", "--", "-8"));
}

TEST(EvcctlArgs, ACityMayNameItsCountry) {
  EXPECT_EQ(CityArg("Alicante"), std::make_pair(std::string("Alicante"), std::string()));
  EXPECT_EQ(CityArg("Alicante,ES"), std::make_pair(std::string("Alicante"), std::string("ES")));
}

}  // namespace
}  // namespace evc::evcctl
