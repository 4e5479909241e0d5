#include "services/central/network_flags.h"

#include <gtest/gtest.h>

namespace evc::central {
namespace {

// Without flags, evc-central runs with the timings the state machine documents.
TEST(NetworkFlagsTest, DefaultsAreTheConfigDefaults) {
  const NetworkConfig flags = NetworkConfigFromFlags();
  const NetworkConfig defaults;
  EXPECT_EQ(flags.link_timeout, defaults.link_timeout);
  EXPECT_EQ(flags.restart_grace, defaults.restart_grace);
  EXPECT_EQ(flags.plug_timeout, defaults.plug_timeout);
  EXPECT_EQ(flags.stop_timeout, defaults.stop_timeout);
  EXPECT_EQ(flags.reconcile_grace, defaults.reconcile_grace);
  EXPECT_EQ(flags.telemetry_timeout, defaults.telemetry_timeout);
  EXPECT_EQ(flags.command_resend_interval, defaults.command_resend_interval);
  EXPECT_EQ(flags.queue.offer_timeout, defaults.queue.offer_timeout);
  EXPECT_EQ(flags.queue.typical_session_wh, defaults.queue.typical_session_wh);
}

}  // namespace
}  // namespace evc::central
