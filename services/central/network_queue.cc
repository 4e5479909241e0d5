// The charging network's side of the queues (issue 20): what the queue sees
// of the CPs, and where its rules meet the charge requests. The rules
// themselves are in queue.{h,cc}.

#include "absl/strings/str_cat.h"
#include "services/central/network.h"
#include "services/common/proto_time.h"

namespace evc::central {

absl::StatusOr<std::string> QueueViewedFor(const Caller& caller, const std::string& driver_id) {
  if (caller.is_operator()) {
    if (driver_id.empty()) {
      return absl::InvalidArgumentError(
          "driver_id is required: name the driver whose place to see");
    }
    return driver_id;
  }
  if (!caller.is_driver()) {
    return absl::UnauthenticatedError("log in as a driver to see your place in a queue");
  }
  if (!driver_id.empty() && driver_id != caller.name) {
    return absl::PermissionDeniedError(
        absl::StrCat("'", caller.name, "' may not see the queue place of '", driver_id, "'"));
  }
  return caller.name;
}

namespace {

// How the queue sees one CP; `Record` is the network's record of it, `state`
// its derived state. Every field is set: `q` may be reused.
template <typename Record>
void Describe(const std::string& id, const Record& cp, common::v1::CpState state, QueueCp& q) {
  q.cp_id = id;
  q.city = cp.info.location().city();
  q.address = cp.info.location().address();
  q.max_power_w = cp.info.max_power_w();
  q.supply_driver.clear();
  q.energy_wh = 0;
  q.power_w = 0;
  if (cp.supply) {
    // Linked or not (after a restart, until its monitor is back), it runs.
    q.use = QueueCp::Use::kBusy;
    q.supply_driver = cp.supply->driver_id;
    q.energy_wh = cp.supply->energy_wh;
    q.power_w = cp.supply->power_w;
  } else if (!cp.linked) {
    q.use = QueueCp::Use::kOffline;
  } else {
    q.use = state == common::v1::CP_STATE_ACTIVE ? QueueCp::Use::kFree : QueueCp::Use::kUnavailable;
  }
}

}  // namespace

std::vector<QueueCp> ChargingNetwork::QueueCps(const std::string& also_city) const {
  absl::flat_hash_set<std::string> cities = queues_.Cities();
  if (!also_city.empty()) cities.insert(also_city);
  std::vector<QueueCp> out;
  if (cities.empty()) return out;
  for (const auto& [id, cp] : cps_) {
    if (!cities.contains(cp.info.location().city())) continue;
    Describe(id, cp, DeriveState(cp), out.emplace_back());
  }
  return out;
}

void ChargingNetwork::UpdateQueues(absl::Time now, Effects& fx) {
  if (queues_.empty()) return;
  // Every tick (each 20 ms) comes here. The queue acts only on a change of
  // its own, an offer falling due or a change in how it sees the CPs; checked
  // in one pass with one reused QueueCp, so that a quiet tick builds no view.
  const auto seen_alike = [&] {
    const absl::flat_hash_set<std::string> cities = queues_.Cities();
    const std::vector<QueueCp>& seen = queues_.seen();
    QueueCp q;
    size_t i = 0;
    for (const auto& [id, cp] : cps_) {
      if (!cities.contains(cp.info.location().city())) continue;
      if (i == seen.size()) return false;
      Describe(id, cp, DeriveState(cp), q);
      if (!WaitingQueues::SeesAlike(q, seen[i++])) return false;
    }
    return i == seen.size();
  };
  if (!queues_.UpdateDue(now) && seen_alike()) return;
  queues_.Update(QueueCps(), now, fx);
}

std::optional<std::string> ChargingNetwork::HeldForQueue(const std::string& cp_id,
                                                         const std::string& driver_id,
                                                         absl::Time now, Effects& fx) {
  // A CP freed since the last tick goes to the queue before anyone else.
  UpdateQueues(now, fx);
  std::optional<std::string> holder = queues_.HolderOf(cp_id);
  if (!holder || *holder == driver_id) return std::nullopt;
  return absl::StrCat("charging point ", cp_id,
                      " is held for the next driver in its queue: join the queue (the app, or "
                      "evc-driver --queue_city) or choose another charging point");
}

absl::StatusOr<common::v1::QueueStatus> ChargingNetwork::JoinQueue(const Caller& driver,
                                                                   const std::string& city,
                                                                   const std::string& address,
                                                                   int64_t energy_wh,
                                                                   absl::Time now, Effects& fx) {
  if (!driver.is_driver()) {
    return absl::PermissionDeniedError("only drivers join queues, for themselves");
  }
  return queues_.Join(driver.name, city, address, energy_wh, driver_supply_.contains(driver.name),
                      QueueCps(city), now, fx);
}

absl::StatusOr<common::v1::QueueStatus> ChargingNetwork::LeaveQueue(const std::string& driver_id,
                                                                    const Caller& actor,
                                                                    absl::Time now, Effects& fx) {
  absl::StatusOr<common::v1::QueueStatus> left =
      queues_.Leave(driver_id, actor.AuditName(), now, fx);
  // An offer the driver held goes to the next at once.
  if (left.ok()) UpdateQueues(now, fx);
  return left;
}

absl::StatusOr<common::v1::QueueStatus> ChargingNetwork::QueueView(const std::string& driver_id,
                                                                   absl::Time now) const {
  return queues_.View(driver_id, QueueCps(), now);
}

std::vector<common::v1::QueueStatus> ChargingNetwork::ListQueues(absl::Time now) const {
  return queues_.List(QueueCps(), now);
}

}  // namespace evc::central
