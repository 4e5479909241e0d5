#include "services/central/queue.h"

#include <algorithm>
#include <cmath>
#include <queue>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "services/common/proto_time.h"

namespace evc::central {
namespace {

using common::v1::QueueEvent;

// Longer than any real address; keeps rows and notices small.
constexpr size_t kMaxLocationText = 200;
// A session of more than 1 MWh is a typo.
constexpr int64_t kMaxRequestedWh = 1000000;

absl::Status ValidateLocationText(absl::string_view field, absl::string_view text, bool required) {
  if (required && text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  }
  if (text.size() > kMaxLocationText) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is longer than ", kMaxLocationText, " bytes"));
  }
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat(field, " contains a control character"));
    }
  }
  return absl::OkStatus();
}

std::string LocationName(const std::string& city, const std::string& address) {
  return address.empty() ? city : absl::StrCat(address, ", ", city);
}

std::string QueueEventName(QueueEvent e) {
  std::string name = common::v1::QueueEvent_Name(e);
  constexpr absl::string_view kPrefix = "QUEUE_EVENT_";
  return name.substr(std::min(name.size(), kPrefix.size()));
}

}  // namespace

bool WaitingQueues::Before(const QueueEntry& a, const QueueEntry& b) {
  if (a.joined_at != b.joined_at) return a.joined_at < b.joined_at;
  return a.driver_id < b.driver_id;
}

bool WaitingQueues::Overlap(const QueueEntry& a, const QueueEntry& b) {
  return a.city == b.city && (a.address.empty() || b.address.empty() || a.address == b.address);
}

bool WaitingQueues::Covers(const QueueEntry& e, const QueueCp& cp) {
  return cp.city == e.city && (e.address.empty() || cp.address == e.address);
}

std::vector<const QueueEntry*> WaitingQueues::Competing(const QueueEntry& e) const {
  std::vector<const QueueEntry*> out;
  for (const auto& [driver, other] : entries_) {
    if (Overlap(e, other)) out.push_back(&other);
  }
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) { return Before(*a, *b); });
  return out;
}

absl::flat_hash_set<std::string> WaitingQueues::Cities() const {
  absl::flat_hash_set<std::string> out;
  for (const auto& [driver, e] : entries_) out.insert(e.city);
  return out;
}

double WaitingQueues::NominalPowerW(const QueueCp& cp) const {
  if (cp.use == QueueCp::Use::kBusy && cp.power_w > 0) return static_cast<double>(cp.power_w);
  if (auto it = last_power_.find(cp.cp_id); it != last_power_.end()) {
    return static_cast<double>(it->second);
  }
  if (cp.max_power_w > 0) return static_cast<double>(cp.max_power_w);
  return static_cast<double>(config_.default_power_w);
}

// The estimate simulates the location as a set of servers (its CPs in
// service), each free at some time from now:
//   free now, not offered        -> 0
//   offered to a driver ahead    -> that driver's session: E / P
//   busy                         -> (E_target - E_so_far) / P_now, at least 0
// where E_target is the energy the supply's driver asked for when they came
// through the queue, else a typical session; P is the power the CP delivers
// (or last delivered, its max_power_w, a default). Each driver ahead, in
// order of service, takes the CP free first and holds it for their own
// session (their requested energy or a typical one, at that CP's power); the
// driver's wait is when the first CP is free after them. CPs out of service
// are left out (they free nobody).
WaitEstimate WaitingQueues::Estimate(const QueueEntry& me, const std::vector<QueueCp>& cps,
                                     absl::Time now) const {
  WaitEstimate out;
  const std::string where = LocationName(me.city, me.address);
  if (!me.offered_cp.empty()) {
    out.wait = absl::ZeroDuration();
    out.detail = absl::StrCat("charging point ", me.offered_cp, " is held for you");
    return out;
  }
  const auto session_s = [&](int64_t energy_wh, const QueueCp& cp) {
    const double wh = static_cast<double>(energy_wh > 0 ? energy_wh : config_.typical_session_wh);
    return wh * 3600.0 / NominalPowerW(cp);
  };
  // (seconds until free, index in cps)
  using Server = std::pair<double, size_t>;
  std::priority_queue<Server, std::vector<Server>, std::greater<>> servers;
  absl::flat_hash_set<std::string> offered_here;
  for (size_t i = 0; i < cps.size(); ++i) {
    const QueueCp& cp = cps[i];
    if (!Covers(me, cp) || cp.use == QueueCp::Use::kUnavailable ||
        cp.use == QueueCp::Use::kOffline) {
      continue;
    }
    if (cp.use == QueueCp::Use::kFree) {
      std::optional<std::string> holder = HolderOf(cp.cp_id);
      if (holder) {
        offered_here.insert(*holder);
        servers.push({session_s(entries_.at(*holder).requested_energy_wh, cp), i});
      } else {
        servers.push({0.0, i});
      }
      continue;
    }
    int64_t target = config_.typical_session_wh;
    if (auto t = targets_.find(cp.cp_id);
        t != targets_.end() && t->second.first == cp.supply_driver && t->second.second > 0) {
      target = t->second.second;
    }
    const double remaining_wh = static_cast<double>(std::max<int64_t>(0, target - cp.energy_wh));
    servers.push({remaining_wh * 3600.0 / NominalPowerW(cp), i});
  }
  if (servers.empty()) {
    out.detail = absl::StrCat("no charging point at ", where, " is in service");
    return out;
  }
  int ahead = 0;
  for (const QueueEntry* e : Competing(me)) {
    if (e->driver_id == me.driver_id) break;
    // Served by the CP held for them (counted above) or elsewhere in the city.
    if (!e->offered_cp.empty()) continue;
    ++ahead;
    auto [free_at, i] = servers.top();
    servers.pop();
    servers.push({free_at + session_s(e->requested_energy_wh, cps[i]), i});
  }
  out.wait = absl::Seconds(std::ceil(servers.top().first));
  out.detail = absl::StrCat(
      ahead, ahead == 1 ? " driver" : " drivers", " ahead at ", where, ", ", servers.size(),
      servers.size() == 1 ? " charging point" : " charging points", " in service");
  return out;
}

common::v1::QueueStatus WaitingQueues::StatusOf(const QueueEntry& e,
                                                const std::vector<QueueCp>* cps,
                                                absl::Time now) const {
  common::v1::QueueStatus s;
  s.set_driver_id(e.driver_id);
  s.set_city(e.city);
  s.set_address(e.address);
  const std::vector<const QueueEntry*> competing = Competing(e);
  for (size_t i = 0; i < competing.size(); ++i) {
    if (competing[i]->driver_id == e.driver_id) s.set_position(static_cast<int32_t>(i + 1));
  }
  s.set_queue_length(static_cast<int32_t>(competing.size()));
  *s.mutable_joined_at() = ToProto(e.joined_at);
  s.set_requested_energy_wh(e.requested_energy_wh);
  if (!e.offered_cp.empty()) {
    s.set_offered_cp_id(e.offered_cp);
    *s.mutable_offer_expires_at() = ToProto(e.offer_expires_at);
  }
  if (cps != nullptr) {
    WaitEstimate est = Estimate(e, *cps, now);
    if (est.wait) s.set_estimated_wait_seconds(absl::ToInt64Seconds(*est.wait));
    s.set_estimate_detail(est.detail);
  }
  return s;
}

void WaitingQueues::Journal(const QueueEntry& e, bool removed, Effects& fx) const {
  fx.queue_changed.push_back({e, removed});
}

void WaitingQueues::Notify(const QueueEntry& e, QueueEvent event, const std::string& detail,
                           absl::Time now, Effects& fx) {
  events::v1::DriverNotification n;
  n.set_driver_id(e.driver_id);
  *n.mutable_at() = ToProto(now);
  common::v1::QueueStatus* s = n.mutable_queue();
  *s = StatusOf(e, nullptr, now);
  s->set_event(event);
  s->set_detail(detail);
  if (entries_.contains(e.driver_id)) {
    told_position_[e.driver_id] = s->position();
  } else {
    s->set_position(0);
  }
  fx.notices.push_back(std::move(n));
}

void WaitingQueues::NotifyPositions(const std::string& city, absl::Time now, Effects& fx) {
  std::vector<const QueueEntry*> changed;
  for (const auto& [driver, e] : entries_) {
    if (e.city != city) continue;
    const common::v1::QueueStatus s = StatusOf(e, nullptr, now);
    auto told = told_position_.find(driver);
    if (told == told_position_.end() || told->second != s.position()) changed.push_back(&e);
  }
  std::sort(changed.begin(), changed.end(),
            [](const auto* a, const auto* b) { return Before(*a, *b); });
  for (const QueueEntry* e : changed) {
    Notify(*e, common::v1::QUEUE_EVENT_POSITION_CHANGED,
           "someone ahead of you left the queue or was served", now, fx);
  }
}

absl::StatusOr<common::v1::QueueStatus> WaitingQueues::Join(const std::string& driver,
                                                            const std::string& city,
                                                            const std::string& address,
                                                            int64_t energy_wh, bool charging,
                                                            const std::vector<QueueCp>& cps,
                                                            absl::Time now, Effects& fx) {
  if (absl::Status s = ValidateLocationText("city", city, true); !s.ok()) return s;
  if (absl::Status s = ValidateLocationText("address", address, false); !s.ok()) return s;
  if (energy_wh < 0 || energy_wh > kMaxRequestedWh) {
    return absl::InvalidArgumentError(absl::StrCat(
        "requested_energy_wh must be between 0 (a typical session) and ", kMaxRequestedWh));
  }
  const std::string where = LocationName(city, address);
  if (charging) {
    return absl::FailedPreconditionError(absl::StrCat(
        "driver '", driver, "' is charging: a driver who charges cannot join a queue"));
  }
  if (auto it = entries_.find(driver); it != entries_.end()) {
    if (it->second.city == city && it->second.address == address) {
      return StatusOf(it->second, &cps, now);
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "driver '", driver, "' already waits at ",
        LocationName(it->second.city, it->second.address), ": leave that queue first"));
  }
  QueueEntry e;
  e.driver_id = driver;
  e.city = city;
  e.address = address;
  e.joined_at = now;
  e.requested_energy_wh = energy_wh;
  bool any = false;
  for (const QueueCp& cp : cps) {
    if (!Covers(e, cp)) continue;
    any = true;
    if (cp.use == QueueCp::Use::kFree && !HolderOf(cp.cp_id)) {
      return absl::FailedPreconditionError(absl::StrCat("charging point ", cp.cp_id, " at ", where,
                                                        " is free: request a charge there now"));
    }
  }
  if (!any) return absl::NotFoundError(absl::StrCat("no charging point at ", where));
  if (entries_.size() >= config_.max_queued) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the network's queues are full (", config_.max_queued, " drivers): try again later"));
  }
  const QueueEntry& added = entries_.emplace(driver, std::move(e)).first->second;
  changed_ = true;
  Journal(added, false, fx);
  common::v1::QueueStatus status = StatusOf(added, &cps, now);
  told_position_[driver] = status.position();
  status.set_event(common::v1::QUEUE_EVENT_JOINED);
  fx.audit.push_back(
      {now,
       AuditCategory::kCharge,
       "queue_joined",
       driver,
       "",
       "OK",
       {{"location", where},
        {"position", status.position()},
        {"estimated_wait_s",
         status.has_estimated_wait_seconds() ? status.estimated_wait_seconds() : -1}}});
  return status;
}

void WaitingQueues::Exit(const std::string& driver, QueueEvent why, const std::string& detail,
                         const std::string& actor, absl::Time now, Effects& fx) {
  auto it = entries_.find(driver);
  if (it == entries_.end()) return;
  const QueueEntry e = it->second;
  entries_.erase(it);
  changed_ = true;
  told_position_.erase(driver);
  Journal(e, true, fx);
  fx.audit.push_back({now,
                      AuditCategory::kCharge,
                      "queue_exit",
                      actor,
                      e.offered_cp,
                      "OK",
                      {{"driver_id", driver},
                       {"location", LocationName(e.city, e.address)},
                       {"reason", QueueEventName(why)}}});
  Notify(e, why, detail, now, fx);
  NotifyPositions(e.city, now, fx);
}

absl::StatusOr<common::v1::QueueStatus> WaitingQueues::Leave(const std::string& driver,
                                                             const std::string& actor,
                                                             absl::Time now, Effects& fx) {
  auto it = entries_.find(driver);
  if (it == entries_.end()) {
    return absl::NotFoundError(absl::StrCat("driver '", driver, "' is not in any queue"));
  }
  common::v1::QueueStatus last = StatusOf(it->second, nullptr, now);
  Exit(driver, common::v1::QUEUE_EVENT_LEFT, "you left the queue", actor, now, fx);
  last.set_position(0);
  last.set_event(common::v1::QUEUE_EVENT_LEFT);
  last.set_detail("left the queue");
  return last;
}

absl::StatusOr<common::v1::QueueStatus> WaitingQueues::View(const std::string& driver,
                                                            const std::vector<QueueCp>& cps,
                                                            absl::Time now) const {
  auto it = entries_.find(driver);
  if (it == entries_.end()) {
    return absl::NotFoundError(absl::StrCat("driver '", driver, "' is not in any queue"));
  }
  common::v1::QueueStatus s = StatusOf(it->second, &cps, now);
  s.set_event(common::v1::QUEUE_EVENT_VIEW);
  return s;
}

std::vector<common::v1::QueueStatus> WaitingQueues::List(const std::vector<QueueCp>& cps,
                                                         absl::Time now) const {
  std::vector<common::v1::QueueStatus> out;
  for (const auto& [driver, e] : entries_) {
    out.push_back(StatusOf(e, &cps, now));
    out.back().set_event(common::v1::QUEUE_EVENT_VIEW);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(a.city(), a.address(), a.position(), a.driver_id()) <
           std::make_tuple(b.city(), b.address(), b.position(), b.driver_id());
  });
  return out;
}

std::optional<std::string> WaitingQueues::HolderOf(const std::string& cp_id) const {
  for (const auto& [driver, e] : entries_) {
    if (e.offered_cp == cp_id) return driver;
  }
  return std::nullopt;
}

void WaitingQueues::OnCharging(const std::string& driver, const std::string& cp_id, absl::Time now,
                               Effects& fx) {
  auto it = entries_.find(driver);
  if (it == entries_.end()) return;
  targets_[cp_id] = {driver, it->second.requested_energy_wh};
  if (it->second.offered_cp == cp_id) {
    Exit(driver, common::v1::QUEUE_EVENT_SERVED,
         absl::StrCat("charging at ", cp_id, ", the charging point offered to you"), driver, now,
         fx);
  } else {
    Exit(driver, common::v1::QUEUE_EVENT_CHARGING_ELSEWHERE,
         absl::StrCat("you charge at ", cp_id, ": no longer queued"), driver, now, fx);
  }
}

bool WaitingQueues::SeesAlike(const QueueCp& a, const QueueCp& b) {
  return a.use == b.use && a.power_w == b.power_w && a.cp_id == b.cp_id && a.city == b.city &&
         a.address == b.address;
}

bool WaitingQueues::UpdateDue(absl::Time now) const {
  if (changed_) return true;
  for (const auto& [driver, e] : entries_) {
    if (!e.offered_cp.empty() && now >= e.offer_expires_at) return true;
  }
  return false;
}

void WaitingQueues::Update(std::vector<QueueCp> cps, absl::Time now, Effects& fx) {
  UpdateOn(cps, now, fx);
  seen_ = std::move(cps);
  changed_ = false;
}

void WaitingQueues::UpdateOn(const std::vector<QueueCp>& cps, absl::Time now, Effects& fx) {
  absl::flat_hash_map<std::string, const QueueCp*> by_id;
  for (const QueueCp& cp : cps) {
    by_id[cp.cp_id] = &cp;
    if (cp.use == QueueCp::Use::kBusy && cp.power_w > 0) last_power_[cp.cp_id] = cp.power_w;
    if (cp.use != QueueCp::Use::kBusy) {
      if (auto t = targets_.find(cp.cp_id); t != targets_.end()) targets_.erase(t);
    }
  }
  if (entries_.empty()) return;
  // Offers that ended: expired, or their CP is no longer free.
  std::vector<std::string> expired;
  for (auto& [driver, e] : entries_) {
    if (e.offered_cp.empty()) continue;
    auto cp = by_id.find(e.offered_cp);
    const bool stands = cp != by_id.end() && (cp->second->use == QueueCp::Use::kFree ||
                                              cp->second->use == QueueCp::Use::kOffline);
    if (!stands) {
      const std::string cp_id = e.offered_cp;
      e.offered_cp.clear();
      e.offer_expires_at = absl::InfinitePast();
      Journal(e, false, fx);
      fx.audit.push_back({now,
                          AuditCategory::kCharge,
                          "queue_offer_withdrawn",
                          "central",
                          cp_id,
                          "OK",
                          {{"driver_id", driver}}});
      Notify(e, common::v1::QUEUE_EVENT_OFFER_WITHDRAWN,
             absl::StrCat("charging point ", cp_id,
                          " went out of service before you took it; you keep your place"),
             now, fx);
    } else if (now >= e.offer_expires_at) {
      expired.push_back(driver);
    }
  }
  std::sort(expired.begin(), expired.end());
  for (const std::string& driver : expired) {
    const std::string cp_id = entries_.at(driver).offered_cp;
    Exit(driver, common::v1::QUEUE_EVENT_OFFER_EXPIRED,
         absl::StrCat("the offer of charging point ", cp_id,
                      " expired without a charge request; join again to queue"),
         "central", now, fx);
  }
  // Free CPs to the earliest waiting driver whose location includes them.
  std::vector<const QueueCp*> free;
  for (const QueueCp& cp : cps) {
    if (cp.use == QueueCp::Use::kFree && !HolderOf(cp.cp_id)) free.push_back(&cp);
  }
  std::sort(free.begin(), free.end(),
            [](const auto* a, const auto* b) { return a->cp_id < b->cp_id; });
  for (const QueueCp* cp : free) {
    QueueEntry* next = nullptr;
    for (auto& [driver, e] : entries_) {
      if (e.offered_cp.empty() && Covers(e, *cp) && (next == nullptr || Before(e, *next))) {
        next = &e;
      }
    }
    if (next == nullptr) continue;
    next->offered_cp = cp->cp_id;
    next->offer_expires_at = now + config_.offer_timeout;
    Journal(*next, false, fx);
    fx.audit.push_back({now,
                        AuditCategory::kCharge,
                        "queue_offer",
                        "central",
                        cp->cp_id,
                        "OK",
                        {{"driver_id", next->driver_id},
                         {"expires_in_s", absl::ToInt64Seconds(config_.offer_timeout)}}});
    Notify(*next, common::v1::QUEUE_EVENT_OFFERED,
           absl::StrCat("charging point ", cp->cp_id, " is held for you for ",
                        absl::FormatDuration(config_.offer_timeout), ": request a charge there"),
           now, fx);
  }
}

void WaitingQueues::Restore(const QueueEntry& entry) {
  entries_[entry.driver_id] = entry;
  changed_ = true;
  // Positions are told again after a restart: the first change notifies all.
}

}  // namespace evc::central
