#include "services/cp/console.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace evc::cp {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class Silent : public EngineOutput {
 public:
  void Send(const events::v1::EngineEvent&, const events::v1::SealedEnvelope&) override {}
  void Say(const std::string&, const std::string&) override {}
};

TEST(ConsoleTest, KeysDriveTheEngineAndStatusShowsIt) {
  Silent output;
  Engine engine(EngineOptions{}, output);
  std::istringstream in("s\n F \nS\nr\ns\n");
  std::ostringstream out;
  RunConsole(engine, in, out);
  EXPECT_EQ(out.str(),
            "activated=0 ok=1 supply=-\n"
            "activated=0 ok=0 supply=-\n"
            "activated=0 ok=1 supply=-\n");
}

TEST(ConsoleTest, UnknownKeysGetHelpAndQStops) {
  Silent output;
  Engine engine(EngineOptions{}, output);
  std::istringstream in("x\n\nq\nf\n");
  std::ostringstream out;
  RunConsole(engine, in, out);
  EXPECT_EQ(out.str(), "keys: p plug, u unplug, f fault, r repair, w walk-in, s status, q quit\n");
  EXPECT_TRUE(engine.Check().ok()) << "a key after q was read";
}

TEST(ConsoleTest, TheConsumerGroupIsNamedAfterTheAddress) {
  EXPECT_EQ(EngineGroupId("127.0.0.1:50100"), "evc-engine-127-0-0-1-50100");
  EXPECT_EQ(EngineGroupId("cp-7.evc:50100"), "evc-engine-cp-7-evc-50100");
}

}  // namespace
}  // namespace evc::cp
