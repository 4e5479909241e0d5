#include "services/evcctl/panel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_format.h"

namespace evc::evcctl {
namespace {

using common::v1::CpState;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

central::v1::ChargingPointStatus Cp(const std::string& id, const std::string& city, CpState state) {
  central::v1::ChargingPointStatus s;
  s.mutable_charging_point()->set_cp_id(id);
  s.mutable_charging_point()->mutable_location()->set_city(city);
  s.mutable_charging_point()->set_price_millieuros_per_kwh(350);
  s.set_state(state);
  return s;
}

// The network: 35 CPs, 20 in Madrid (3 FAULTED), 15 in Valencia, and
// more messages than fit.
WatchPanel ThirtyFiveCps() {
  central::v1::NetworkUpdate snapshot;
  for (int i = 0; i < 35; ++i) {
    const CpState state = i < 3    ? common::v1::CP_STATE_FAULTED
                          : i < 20 ? common::v1::CP_STATE_ACTIVE
                                   : common::v1::CP_STATE_OUT_OF_SERVICE;
    *snapshot.mutable_snapshot()->add_charging_points() =
        Cp(absl::StrFormat("CP-%03d", i), i < 20 ? "Madrid" : "Valencia", state);
  }
  WatchPanel panel;
  panel.Apply(snapshot);
  for (int i = 0; i < 12; ++i) {
    central::v1::NetworkUpdate message;
    message.mutable_message()->set_text(absl::StrFormat("message %d", i));
    panel.Apply(message);
  }
  return panel;
}

// Characters a terminal shows: colour codes and UTF-8 continuation bytes aside.
size_t VisibleWidth(const std::string& line) {
  size_t width = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\033') {
      i = line.find('m', i);
    } else if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) {
      ++width;
    }
  }
  return width;
}

std::string Screen(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(EvcctlPanel, FitsThirtyFiveCpsIntoThirtyLinesWithTheCountsOnTop) {
  WatchPanel panel = ThirtyFiveCps();
  const PanelView view{.rows = 30, .cols = 80};
  const std::vector<std::string> lines = panel.Lines(view);
  EXPECT_EQ(lines.size(), 30u);
  EXPECT_EQ(lines[1],
            "35 CPs:  17 ACTIVE  0 SUPPLYING  15 OUT_OF_SERVICE  3 FAULTED  0 DISCONNECTED");
  EXPECT_THAT(lines[2], HasSubstr("page 1/2"));
  for (const auto& line : lines) EXPECT_LE(VisibleWidth(line), 80u) << line;
  EXPECT_THAT(Screen(lines),
              AllOf(HasSubstr("CP-000"), HasSubstr("message 11"), Not(HasSubstr("CP-034"))));

  const std::vector<std::string> last = panel.Lines({.rows = 30, .cols = 80, .page = 1});
  EXPECT_EQ(last.size(), 30u);
  EXPECT_EQ(last[1], lines[1]) << "the counts stay whatever the page";
  EXPECT_THAT(Screen(last),
              AllOf(HasSubstr("CP-034"), Not(HasSubstr("CP-000")), HasSubstr("page 2/2")));
}

TEST(EvcctlPanel, EveryCpIsOnExactlyOnePage) {
  WatchPanel panel = ThirtyFiveCps();
  for (int rows : {6, 10, 30, 50}) {
    PanelView view{.rows = rows, .cols = 120};
    std::string all;
    for (view.page = 0; view.page < panel.PageCount(view); ++view.page) {
      const std::vector<std::string> lines = panel.Lines(view);
      EXPECT_LE(static_cast<int>(lines.size()), rows);
      EXPECT_THAT(lines[1], HasSubstr("35 CPs")) << rows << " rows";
      all += Screen(lines);
    }
    for (int i = 0; i < 35; ++i) {
      const std::string id = absl::StrFormat("CP-%03d ", i);
      EXPECT_EQ(all.find(id), all.rfind(id)) << id << " twice with " << rows << " rows";
      EXPECT_NE(all.find(id), std::string::npos) << id << " missing with " << rows << " rows";
    }
  }
}

TEST(EvcctlPanel, TheContinuedPartsOfASnapshotAddToItsFirstPart) {
  WatchPanel panel = ThirtyFiveCps();
  central::v1::NetworkUpdate first, rest;
  *first.mutable_snapshot()->add_charging_points() = Cp("CP-A", "Madrid", common::v1::CP_STATE_ACTIVE);
  rest.mutable_snapshot()->set_continued(true);
  *rest.mutable_snapshot()->add_charging_points() = Cp("CP-B", "Madrid", common::v1::CP_STATE_ACTIVE);
  panel.Apply(first);
  panel.Apply(rest);
  const std::string screen = Screen(panel.Lines(PanelView{.rows = 30, .cols = 120}));
  EXPECT_THAT(screen, HasSubstr("2 CPs")) << screen;
  EXPECT_THAT(screen, HasSubstr("CP-A"));
  EXPECT_THAT(screen, HasSubstr("CP-B"));
}

TEST(EvcctlPanel, FiltersByStateAndCityButCountsTheWholeNetwork) {
  WatchPanel panel = ThirtyFiveCps();
  const auto faulted =
      Screen(panel.Lines({.rows = 30, .cols = 100, .state = common::v1::CP_STATE_FAULTED}));
  EXPECT_THAT(faulted, AllOf(HasSubstr("CP-000"), HasSubstr("CP-002"), Not(HasSubstr("CP-003")),
                             HasSubstr("showing FAULTED, every city: 3 CPs, page 1/1"),
                             HasSubstr("35 CPs:")));

  const auto valencia = Screen(panel.Lines({.rows = 40, .cols = 100, .city = "valencia"}));
  EXPECT_THAT(valencia, AllOf(HasSubstr("CP-020"), HasSubstr("CP-034"), Not(HasSubstr("CP-019")),
                              HasSubstr("valencia: 15 CPs")));
}

TEST(EvcctlPanel, KeysPageAndCycleTheFilters) {
  WatchPanel panel = ThirtyFiveCps();
  PanelView view{.rows = 30, .cols = 80};
  EXPECT_TRUE(PanelKey('n', panel, view));
  EXPECT_EQ(view.page, 1);
  PanelKey('n', panel, view);
  EXPECT_EQ(view.page, 1) << "no page past the last";
  PanelKey('p', panel, view);
  EXPECT_EQ(view.page, 0);

  PanelKey('s', panel, view);
  EXPECT_EQ(view.state, common::v1::CP_STATE_ACTIVE);
  for (int i = 0; i < 4; ++i) PanelKey('s', panel, view);
  EXPECT_EQ(view.state, common::v1::CP_STATE_DISCONNECTED);
  PanelKey('s', panel, view);
  EXPECT_EQ(view.state, common::v1::CP_STATE_UNSPECIFIED);

  PanelKey('c', panel, view);
  EXPECT_EQ(view.city, "Madrid");
  PanelKey('c', panel, view);
  EXPECT_EQ(view.city, "Valencia");
  PanelKey('c', panel, view);
  EXPECT_EQ(view.city, "");
  EXPECT_FALSE(PanelKey('x', panel, view));
}

TEST(EvcctlPanel, LinesFitTheWidthWithoutCountingColours) {
  EXPECT_EQ(FitWidth("abcdef", 3), "abc");
  EXPECT_EQ(FitWidth("\033[31mabcdef\033[0m", 2), "\033[31mab\033[0m");
  EXPECT_EQ(FitWidth("a—b", 2), "a—");
  WatchPanel panel = ThirtyFiveCps();
  for (const auto& line : panel.Lines({.rows = 30, .cols = 20, .colour = true})) {
    EXPECT_LE(VisibleWidth(line), 20u) << line;
  }
}

TEST(EvcctlPanel, ShowsABrokenStreamUntilTheNextUpdate) {
  WatchPanel panel = ThirtyFiveCps();
  panel.SetProblem("stream ended (central away); reconnecting");
  const std::vector<std::string> broken = panel.Lines({.rows = 30, .cols = 200});
  EXPECT_EQ(broken.size(), 30u);
  EXPECT_THAT(broken[2], HasSubstr("! stream ended (central away); reconnecting"));
  panel.Apply(central::v1::NetworkUpdate());
  EXPECT_THAT(panel.Lines({.rows = 30, .cols = 200})[2], Not(HasSubstr("stream ended")));
}

TEST(EvcctlPanel, ParsesStateFilters) {
  CpState state;
  EXPECT_TRUE(ParseStateFilter("faulted", &state));
  EXPECT_EQ(state, common::v1::CP_STATE_FAULTED);
  EXPECT_TRUE(ParseStateFilter("CP_STATE_OUT_OF_SERVICE", &state));
  EXPECT_EQ(state, common::v1::CP_STATE_OUT_OF_SERVICE);
  EXPECT_TRUE(ParseStateFilter("", &state));
  EXPECT_EQ(state, common::v1::CP_STATE_UNSPECIFIED);
  EXPECT_FALSE(ParseStateFilter("broken", &state));
  EXPECT_FALSE(ParseStateFilter("unspecified", &state));
}

}  // namespace
}  // namespace evc::evcctl
