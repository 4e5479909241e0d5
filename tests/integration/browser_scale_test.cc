// The web apps at scale (issue 20): a fleet of EVC_BROWSER_CPS simulated CPs
// (default 5,000) with supplies running, then tests/browser/scale.mjs in
// Debian's Chromium: the driver finds a free CP by city, charges and edits
// their profile, joins the queue of a full city (one CP, busy) and sees the
// estimate; the operator filters the dashboard, switches to the table,
// stops and resumes all, adds and removes a CP. The script prints time to
// first render and the frame work per update; speed bounds are asserted only
// by ./evc bench browser (EVC_BROWSER_BOUNDS=1), not by ctest.

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/integration/backlog.h"
#include "tests/integration/stack.h"

namespace evc::testing {
namespace {

int CpCount() {
  const char* v = std::getenv("EVC_BROWSER_CPS");
  return v != nullptr && std::atoi(v) > 0 ? std::atoi(v) : 5000;
}

// CPs charging while the browser looks: a stream of live updates to draw.
constexpr int kSupplies = 100;
constexpr char kQueueCp[] = "RONDA-1";
constexpr char kQueueCity[] = "Ronda";

TEST(BrowserScaleTest, DriverAndOperatorAtScale) {
  const int cps = CpCount();
  Stack::Options o;
  // As in the fleet benchmark: enrolling thousands of CPs would measure scrypt,
  // and a busy machine delays health reports.
  o.registry_flags = {"--secret_hash_cost=10"};
  o.link_timeout = absl::Seconds(10);
  o.restart_grace = absl::Minutes(30);
  auto stack = Stack::Start(o);
  ASSERT_TRUE(stack.ok()) << stack.status();
  Stack& s = **stack;
  // One more driver keeps the queue's city full.
  ASSERT_TRUE(AddFleetDrivers(s, kSupplies + 1).ok());
  const absl::Time enrol_start = absl::Now();
  auto fleet = StartFleet(s, cps);
  ASSERT_TRUE(WaitConnected(s, cps, absl::Minutes(10)).ok());
  const absl::Duration enrolled = absl::Now() - enrol_start;
  std::printf("fleet of %d CPs enrolled and linked in %.1f s\n", cps, absl::ToDoubleSeconds(enrolled));
  // CPs 5, 10, 15, ...: all in the fleet's first city (Alicante), so the
  // driver's city (Valencia) is all free and the stream carries telemetry.
  for (int i = 1; i <= kSupplies && 5 * i <= cps; ++i) {
    auto id = RequestChargeAs(s, FleetCpId(5 * i), FleetDriverId(i));
    ASSERT_TRUE(id.ok()) << id.status();
  }
  // A city with one CP, busy: the driver queues there.
  ASSERT_TRUE(s.RegisterCp(kQueueCp, 22000, kQueueCity).ok());
  s.StartEngine(kQueueCp);
  s.StartMonitor(kQueueCp);
  ASSERT_TRUE(s.WaitForState(kQueueCp, common::v1::CP_STATE_ACTIVE, absl::Seconds(60)));
  auto busy = RequestChargeAs(s, kQueueCp, FleetDriverId(kSupplies + 1));
  ASSERT_TRUE(busy.ok()) << busy.status();
  ASSERT_TRUE(s.StartWeather({"--poll_interval=5s"}).ok());
  auto port = s.StartEdge({"--weather=" + s.weather_address()});
  ASSERT_TRUE(port.ok()) << port.status();

  const std::string source = std::getenv("EVC_SOURCE_DIR");
  // ./evc bench browser: the speed bounds too.
  const char* bounds_env = std::getenv("EVC_BROWSER_BOUNDS");
  const bool bounds = bounds_env != nullptr && std::string(bounds_env) == "1";
  const std::string artifacts = std::string(std::getenv("EVC_BIN_DIR")) + "/../test-artifacts/browser-scale";
  const std::string log = s.dir() + "/browser-scale.log";
  const std::string command = absl::StrCat(
      "cd '", source, "/tests/browser' && BASE_URL=http://127.0.0.1:", *port, " ADMIN_PASSWORD_FILE='",
      s.PasswordFile("admin"), "' CPS=", cps, " CITY=Valencia QUEUE_CITY=", kQueueCity, " QUEUE_CP=", kQueueCp, " SCALE_BOUNDS=", bounds ? "1" : "0", " OUT_DIR='", artifacts,
      "' timeout 300 node scale.mjs > '", log, "' 2>&1");
  const int code = std::system(command.c_str());
  std::stringstream output;
  output << std::ifstream(log).rdbuf();
  std::printf("%s", output.str().c_str());
  EXPECT_EQ(code, 0) << output.str() << "\nscreenshots: " << artifacts;
  EXPECT_THAT(output.str(), ::testing::HasSubstr("browser at scale: OK"));
  fleet->Stop();
}

}  // namespace
}  // namespace evc::testing
