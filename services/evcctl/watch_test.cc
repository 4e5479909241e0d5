// `evcctl watch`: its plain lines and its refusal of a state that is none.

#include "services/evcctl/watch.h"

#include <gtest/gtest.h>

#include "services/evcctl/panel.h"
#include "services/evcctl/test_network.h"

namespace evc::evcctl {
namespace {

TEST(EvcctlWatch, PlainLinesSayWhatEachUpdateCarries) {
  CapturedOutput out;
  central::v1::NetworkUpdate snapshot;
  snapshot.mutable_snapshot()->add_charging_points()->mutable_charging_point()->set_cp_id("MAD-1");
  snapshot.mutable_snapshot()->add_charging_points()->mutable_charging_point()->set_cp_id("ALC-1");
  central::v1::NetworkUpdate change;
  change.mutable_charging_point()->mutable_charging_point()->set_cp_id("MAD-1");
  change.mutable_charging_point()->set_state(common::v1::CP_STATE_FAULTED);
  central::v1::NetworkUpdate removal;
  removal.set_removed_cp_id("ALC-1");
  PrintPlain(out.file(), snapshot);
  PrintPlain(out.file(), change);
  PrintPlain(out.file(), removal);
  EXPECT_EQ(out.Text(), "snapshot: 2 charging points\n" +
                            StatusLine(change.charging_point(), false) + "\nremoved: ALC-1\n");
}

TEST(EvcctlWatch, AStateFilterThatIsNoStateFailsBeforeConnecting) {
  TestNetwork network{};
  network.options.state = "SLEEPING";
  EXPECT_EQ(Watch(network.context()), 1);
  EXPECT_EQ(network.Err(),
            "evcctl: INVALID_ARGUMENT: --state=SLEEPING is not a state: give ACTIVE, SUPPLYING, "
            "OUT_OF_SERVICE, FAULTED or DISCONNECTED\n");
  EXPECT_TRUE(network.connections().opened.empty());
}

}  // namespace
}  // namespace evc::evcctl
