#include "services/evcctl/panel.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "services/common/names.h"
#include "services/common/proto_time.h"

namespace evc::evcctl {
namespace {

using central::v1::ChargingPointStatus;
using common::v1::CpState;

// The order of the counts line: what needs an operator's eye comes last, where
// it is easiest to find, and every state is always there so columns stay put.
constexpr CpState kStatesInOrder[] = {common::v1::CP_STATE_ACTIVE, common::v1::CP_STATE_SUPPLYING,
                                      common::v1::CP_STATE_OUT_OF_SERVICE,
                                      common::v1::CP_STATE_FAULTED,
                                      common::v1::CP_STATE_DISCONNECTED};
constexpr size_t kMessagesKept = 10;
// Title, counts, filter/page line, column heads.
constexpr int kHeaderLines = 4;

const char* Colour(CpState s) {
  switch (s) {
    case common::v1::CP_STATE_ACTIVE:
    case common::v1::CP_STATE_SUPPLYING:
      return "\033[32m";
    case common::v1::CP_STATE_OUT_OF_SERVICE:
      return "\033[33m";
    case common::v1::CP_STATE_FAULTED:
      return "\033[31m";
    default:
      return "\033[90m";
  }
}

std::string SupplyOrDetail(const ChargingPointStatus& s) {
  std::string extra;
  if (s.has_supply()) {
    const auto& sup = s.supply();
    extra = absl::StrFormat("%-14s %9s kWh %8s EUR %s",
                            sup.driver_id().empty() ? "(walk-in)" : sup.driver_id(),
                            Kwh(sup.energy_wh()), Euros(sup.amount_millieuros()),
                            common::v1::SupplyPhase_Name(sup.phase()).substr(13));
  } else if (!s.fault_detail().empty()) {
    extra = s.fault_detail();
  }
  if (s.hold_details_size() > 0) {
    std::vector<std::string> why;
    for (const auto& h : s.hold_details()) why.push_back(h.detail());
    absl::StrAppend(&extra, extra.empty() ? "" : "  ",
                    s.has_supply() ? "then held: " : "held: ", absl::StrJoin(why, "; "));
  }
  return extra;
}

bool SameCity(const std::string& a, const std::string& b) {
  return absl::AsciiStrToLower(a) == absl::AsciiStrToLower(b);
}

}  // namespace

bool Matches(const PanelView& view, const ChargingPointStatus& cp) {
  return (view.state == common::v1::CP_STATE_UNSPECIFIED || cp.state() == view.state) &&
         (view.city.empty() || SameCity(cp.charging_point().location().city(), view.city));
}

std::string Euros(int64_t millieuros) { return absl::StrFormat("%.2f", millieuros / 1000.0); }
std::string Kwh(int64_t wh) { return absl::StrFormat("%.3f", wh / 1000.0); }

std::string StatusLine(const ChargingPointStatus& s, bool colour) {
  const auto& cp = s.charging_point();
  return absl::StrFormat("%-12s %s%-15s%s %-12s %7s  %s", cp.cp_id(),
                         colour ? Colour(s.state()) : "", StateName(s.state()),
                         colour ? "\033[0m" : "", cp.location().city(),
                         Euros(cp.price_millieuros_per_kwh()), SupplyOrDetail(s));
}

std::string StatusHeader() {
  return absl::StrFormat("%-12s %-15s %-12s %7s  %s", "CP", "STATE", "CITY", "EUR/kWh",
                         "SUPPLY / DETAIL");
}

std::string FitWidth(const std::string& line, int cols) {
  std::string out;
  int visible = 0;
  bool coloured = false;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\033') {
      const size_t end = line.find('m', i);
      if (end == std::string::npos) break;
      out.append(line, i, end - i + 1);
      coloured = line.compare(i, end - i + 1, "\033[0m") != 0;
      i = end;
      continue;
    }
    const bool continuation = (static_cast<unsigned char>(line[i]) & 0xC0) == 0x80;
    if (!continuation && visible++ == cols) {
      if (coloured) out += "\033[0m";
      return out;
    }
    out += line[i];
  }
  return out;
}

std::string MessageLine(const central::v1::NetworkMessage& message) {
  return absl::StrCat(absl::FormatTime("%H:%M:%S", FromProto(message.at()), absl::LocalTimeZone()),
                      "  ", message.text());
}

void WatchPanel::Apply(const central::v1::NetworkUpdate& u) {
  problem_.clear();
  if (u.has_snapshot()) {
    if (!u.snapshot().continued()) cps_.clear();
    for (const auto& s : u.snapshot().charging_points()) cps_[s.charging_point().cp_id()] = s;
  } else if (u.has_charging_point()) {
    cps_[u.charging_point().charging_point().cp_id()] = u.charging_point();
  } else if (u.has_removed_cp_id()) {
    cps_.erase(u.removed_cp_id());
  } else if (u.has_message()) {
    messages_.push_back(MessageLine(u.message()));
    if (messages_.size() > kMessagesKept) messages_.pop_front();
  }
}

std::vector<const ChargingPointStatus*> WatchPanel::Shown(const PanelView& view) const {
  std::vector<const ChargingPointStatus*> shown;
  for (const auto& [id, s] : cps_) {
    if (Matches(view, s)) shown.push_back(&s);
  }
  return shown;
}

std::string WatchPanel::CountsLine() const {
  std::map<CpState, int> counts;
  for (const auto& [id, s] : cps_) ++counts[s.state()];
  std::string line = absl::StrCat(cps_.size(), " CPs:");
  for (CpState state : kStatesInOrder)
    absl::StrAppend(&line, "  ", counts[state], " ", StateName(state));
  return line;
}

// Messages get what the CPs leave over, up to 3 lines: on a short screen the
// CPs matter more.
int WatchPanel::MessageLines(const PanelView& view) const {
  const int spare = view.rows - kHeaderLines - 1 - 2;  // one CP line, "messages" and a gap
  return std::clamp(std::min<int>(3, messages_.size()), 0, std::max(0, spare));
}

int WatchPanel::CpLinesPerPage(const PanelView& view) const {
  const int messages = MessageLines(view);
  return std::max(1, view.rows - kHeaderLines - (messages > 0 ? 2 + messages : 0));
}

int WatchPanel::PageCount(const PanelView& view) const {
  const int shown = static_cast<int>(Shown(view).size());
  const int per_page = CpLinesPerPage(view);
  return std::max(1, (shown + per_page - 1) / per_page);
}

std::vector<std::string> WatchPanel::Cities() const {
  std::set<std::string> cities;
  for (const auto& [id, s] : cps_) cities.insert(s.charging_point().location().city());
  return std::vector<std::string>(cities.begin(), cities.end());
}

std::vector<std::string> WatchPanel::Lines(const PanelView& view) const {
  const std::vector<const ChargingPointStatus*> shown = Shown(view);
  const int per_page = CpLinesPerPage(view);
  const int pages = PageCount(view);
  const int page = std::clamp(view.page, 0, pages - 1);
  const std::string filter =
      absl::StrCat("showing ",
                   view.state == common::v1::CP_STATE_UNSPECIFIED ? "every state"
                                                                  : StateName(view.state),
                   ", ", view.city.empty() ? "every city" : view.city, ": ", shown.size(),
                   " CPs, page ", page + 1, "/", pages, problem_.empty() ? "" : "   ! ", problem_);
  std::vector<std::string> lines = {
      "EVCharging Network — monitoring panel   keys: n/p page  s state  c city  q quit",
      CountsLine(), filter, StatusHeader()};
  const size_t first = static_cast<size_t>(page) * per_page;
  for (size_t i = first; i < shown.size() && i < first + per_page; ++i) {
    lines.push_back(StatusLine(*shown[i], view.colour));
  }
  if (const int messages = MessageLines(view); messages > 0) {
    lines.resize(kHeaderLines + per_page +
                 1);  // a gap after a short last page, and before the messages
    lines.push_back("messages");
    for (size_t i = messages_.size() - messages; i < messages_.size(); ++i)
      lines.push_back("  " + messages_[i]);
  }
  if (static_cast<int>(lines.size()) > view.rows) lines.resize(std::max(0, view.rows));
  for (std::string& line : lines) line = FitWidth(line, view.cols);
  return lines;
}

bool PanelKey(char key, const WatchPanel& panel, PanelView& view) {
  switch (key) {
    case 'n':
    case ' ':
    case 'j':
      view.page = std::min(view.page + 1, panel.PageCount(view) - 1);
      return true;
    case 'p':
    case 'b':
    case 'k':
      view.page = std::max(view.page - 1, 0);
      return true;
    case 's': {
      const auto* next =
          std::find(std::begin(kStatesInOrder), std::end(kStatesInOrder), view.state);
      view.state = next == std::end(kStatesInOrder)       ? kStatesInOrder[0]
                   : next + 1 == std::end(kStatesInOrder) ? common::v1::CP_STATE_UNSPECIFIED
                                                          : *(next + 1);
      view.page = 0;
      return true;
    }
    case 'c': {
      const std::vector<std::string> cities = panel.Cities();
      auto at = std::find_if(cities.begin(), cities.end(),
                             [&](const auto& c) { return SameCity(c, view.city); });
      view.city = view.city.empty() ? (cities.empty() ? "" : cities.front())
                  : at == cities.end() || at + 1 == cities.end() ? ""
                                                                 : *(at + 1);
      view.page = 0;
      return true;
    }
    default:
      return false;
  }
}

bool ParseStateFilter(const std::string& text, common::v1::CpState* state) {
  if (text.empty()) {
    *state = common::v1::CP_STATE_UNSPECIFIED;
    return true;
  }
  std::string name = absl::AsciiStrToUpper(text);
  if (name.rfind("CP_STATE_", 0) != 0) name = "CP_STATE_" + name;
  return common::v1::CpState_Parse(name, state) && *state != common::v1::CP_STATE_UNSPECIFIED;
}

}  // namespace evc::evcctl
