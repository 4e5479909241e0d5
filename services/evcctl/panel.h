#pragma once
// The live panel of `evcctl watch`, kept apart from the terminal so that it can
// be rendered into any size: the network's state (from WatchNetwork updates)
// and a screenful of it, with the counts by state always on top whatever the
// filter or page.

#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "evc/central/v1/central.pb.h"

namespace evc::evcctl {

std::string Euros(int64_t millieuros);
std::string Kwh(int64_t wh);
// One CP as `evcctl status` and the panel show it; `colour` adds ANSI colours.
std::string StatusLine(const central::v1::ChargingPointStatus& s, bool colour);
// The column heads of StatusLine.
std::string StatusHeader();

// "12:00:05  text": a network message as the panel and `watch --plain` show it.
std::string MessageLine(const central::v1::NetworkMessage& message);

// What part of the network the panel shows, in a terminal of `rows` x `cols`.
struct PanelView {
  int rows = 24;
  int cols = 80;
  common::v1::CpState state = common::v1::CP_STATE_UNSPECIFIED;  // unspecified: every state
  std::string city = {};  // empty: every city (compared without case)
  int page = 0;           // from 0; past the last page shows the last
  bool colour = false;
};

// Whether the view's state and city filters let `cp` through.
bool Matches(const PanelView& view, const central::v1::ChargingPointStatus& cp);

class WatchPanel {
 public:
  // A snapshot, a CP change, a removal or a message; the stream works again,
  // so it also clears the problem.
  void Apply(const central::v1::NetworkUpdate& update);
  // Why the panel may be stale (the stream to central broke), shown under the
  // counts until the next update.
  void SetProblem(std::string problem) { problem_ = std::move(problem); }

  // Exactly what fits: at most view.rows lines, none wider than view.cols
  // (colour codes aside). First the counts by state of the whole network, then
  // the filter and page, then the page's CPs, then the latest messages.
  std::vector<std::string> Lines(const PanelView& view) const;
  int PageCount(const PanelView& view) const;

  // The cities of the known CPs, sorted: what the city filter cycles through.
  std::vector<std::string> Cities() const;

 private:
  std::vector<const central::v1::ChargingPointStatus*> Shown(const PanelView& view) const;
  std::string CountsLine() const;
  int MessageLines(const PanelView& view) const;
  int CpLinesPerPage(const PanelView& view) const;

  std::map<std::string, central::v1::ChargingPointStatus> cps_;
  std::deque<std::string> messages_;
  std::string problem_;
};

// A key pressed under the panel: n/space/j next page, p/b/k previous page,
// s next state filter, c next city filter (each cycling back to "every").
// Returns whether the view changed.
bool PanelKey(char key, const WatchPanel& panel, PanelView& view);

// "FAULTED" (any case, CP_STATE_ prefix optional) -> its state; "" -> every state.
bool ParseStateFilter(const std::string& text, common::v1::CpState* state);

// `line` cut to `cols` visible characters; ANSI colour codes do not count.
std::string FitWidth(const std::string& line, int cols);

}  // namespace evc::evcctl
