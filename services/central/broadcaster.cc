#include "services/central/broadcaster.h"

#include <vector>

namespace evc::central {

central::v1::ChargingPointStatus PublicView(central::v1::ChargingPointStatus status,
                                            const NetworkViewer& viewer) {
  if (viewer.is_operator || !status.has_supply()) return status;
  const common::v1::Supply& supply = status.supply();
  if (!viewer.driver_id.empty() && supply.driver_id() == viewer.driver_id) return status;
  common::v1::Supply shown;
  shown.set_cp_id(supply.cp_id());
  shown.set_phase(supply.phase());
  shown.set_power_w(supply.power_w());
  shown.set_price_millieuros_per_kwh(supply.price_millieuros_per_kwh());
  // How fresh the live figures are; it says nothing of who charges.
  if (supply.has_last_reading_at()) *shown.mutable_last_reading_at() = supply.last_reading_at();
  *status.mutable_supply() = std::move(shown);
  return status;
}

std::optional<central::v1::NetworkUpdate> PublicView(const central::v1::NetworkUpdate& update,
                                                     const NetworkViewer& viewer) {
  if (viewer.is_operator) return update;
  central::v1::NetworkUpdate shown;
  switch (update.kind_case()) {
    case central::v1::NetworkUpdate::kSnapshot:
      for (const auto& cp : update.snapshot().charging_points()) {
        *shown.mutable_snapshot()->add_charging_points() = PublicView(cp, viewer);
      }
      shown.mutable_snapshot()->set_continued(update.snapshot().continued());
      return shown;
    case central::v1::NetworkUpdate::kChargingPoint:
      *shown.mutable_charging_point() = PublicView(update.charging_point(), viewer);
      return shown;
    case central::v1::NetworkUpdate::kRemovedCpId:
      return update;
    case central::v1::NetworkUpdate::kTicket:
      if (!viewer.driver_id.empty() && update.ticket().driver_id() == viewer.driver_id) return update;
      return std::nullopt;
    default:  // messages, and whatever kind comes later: operators only
      return std::nullopt;
  }
}

void Broadcaster::Add(Watcher* w) {
  absl::MutexLock lock(&mu_);
  watchers_.insert(w);
}

void Broadcaster::Remove(Watcher* w) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(w);
}

void Broadcaster::EndAll() {
  // Under the lock: a watcher frees itself only after Remove, which waits.
  absl::MutexLock lock(&mu_);
  for (Watcher* w : watchers_) w->End();
}

size_t Broadcaster::size() const {
  absl::MutexLock lock(&mu_);
  return watchers_.size();
}

void Broadcaster::Send(const SharedUpdate& update) {
  absl::MutexLock lock(&mu_);
  std::vector<Watcher*> too_slow;
  for (Watcher* w : watchers_) {
    if (!w->Offer(update)) too_slow.push_back(w);
  }
  for (Watcher* w : too_slow) watchers_.erase(w);
}

}  // namespace evc::central
