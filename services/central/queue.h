#pragma once
// Queues of drivers at busy locations (issue 20), owned by the charging
// network's state machine (network.h): the rules of who waits where, who is
// offered a freed CP and for how long, every way out of a queue, and the
// estimated wait. Pure logic: the network hands it a view of the CPs at the
// queued cities (QueueCp) and applies nothing itself; changes go out as
// Effects (queue rows to the journal, sealed notices to drivers, audit).
//
// A location is a site (CPs sharing an address in a city) or a whole city
// (address empty). A driver waits in one queue at a time. Drivers are served
// in the order they joined, across the queues that share a CP: a freed CP is
// offered to the earliest waiting driver whose location includes it.

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/central/effects.h"

namespace evc::central {

struct QueueConfig {
  // How long a freed CP is held for the head of the queue.
  absl::Duration offer_timeout = absl::Seconds(120);
  // The energy of a session whose driver said nothing (Wh).
  int64_t typical_session_wh = 20000;
  // The power assumed for a CP that has never reported one and has no
  // max_power_w (W).
  int64_t default_power_w = 11000;
  // Bound on the drivers queued in the whole network.
  size_t max_queued = 10000;
};

// What the queue needs to know of one CP.
struct QueueCp {
  // kOffline: no monitor link (yet: after a restart of central every CP is
  // offline until its monitor reconnects). An offer of an offline CP stands
  // until it expires; an offer of an unavailable one (held, faulted) is
  // withdrawn at once.
  enum class Use { kFree, kBusy, kUnavailable, kOffline };
  std::string cp_id;
  std::string city;
  std::string address;
  Use use = Use::kUnavailable;
  // While busy: who charges (empty: a walk-in), whether energy flows yet, and
  // the supply's figures.
  std::string supply_driver;
  int64_t energy_wh = 0;
  int64_t power_w = 0;
  int64_t max_power_w = 0;
};

// Why a waiting time can or cannot be estimated.
struct WaitEstimate {
  std::optional<absl::Duration> wait;
  std::string detail;
};

class WaitingQueues {
 public:
  explicit WaitingQueues(QueueConfig config = {}) : config_(config) {}
  // Live settings: offers already made keep their expiry.
  void Reconfigure(const QueueConfig& config) { config_ = config; }

  // `driver` joins the queue of (city, address); `cps` are the CPs of the
  // city. INVALID_ARGUMENT for a malformed location or energy; NOT_FOUND for
  // a location with no CP; FAILED_PRECONDITION when `charging` (a driver who
  // charges cannot queue), when a CP there is free (charge now), or when
  // queued elsewhere; the same queue again returns the driver's place.
  absl::StatusOr<common::v1::QueueStatus> Join(const std::string& driver, const std::string& city,
                                               const std::string& address, int64_t energy_wh,
                                               bool charging, const std::vector<QueueCp>& cps,
                                               absl::Time now, Effects& fx);
  // NOT_FOUND when not queued. An offer the driver held goes to the next.
  absl::StatusOr<common::v1::QueueStatus> Leave(const std::string& driver, const std::string& actor,
                                                absl::Time now, Effects& fx);
  // The driver's place with a fresh estimate; NOT_FOUND when not queued.
  absl::StatusOr<common::v1::QueueStatus> View(const std::string& driver,
                                               const std::vector<QueueCp>& cps,
                                               absl::Time now) const;
  // Everyone queued, by city, address and position.
  std::vector<common::v1::QueueStatus> List(const std::vector<QueueCp>& cps, absl::Time now) const;

  // The driver queued for this CP's location who holds it now, if any: other
  // charge requests at the CP are refused meanwhile.
  std::optional<std::string> HolderOf(const std::string& cp_id) const;
  // A supply opened for `driver` at `cp`: the driver leaves the queue
  // (SERVED at the offered CP, CHARGING_ELSEWHERE at another).
  void OnCharging(const std::string& driver, const std::string& cp_id, absl::Time now, Effects& fx);

  // Time and state: offers that expired (the driver leaves, OFFER_EXPIRED),
  // offers of CPs out of service or taken (withdrawn; the driver keeps the
  // head), and free CPs offered to the earliest waiting driver. `cps`: at
  // least every CP of Cities(); kept as seen().
  void Update(std::vector<QueueCp> cps, absl::Time now, Effects& fx);
  // The CPs the last Update saw.
  const std::vector<QueueCp>& seen() const { return seen_; }
  // Whether Update could act even on the CPs it saw last: the queue changed
  // since (someone joined or left), or an offer expires by `now`. Otherwise it
  // acts only if what it sees of the CPs changed (SeesAlike).
  bool UpdateDue(absl::Time now) const;
  // Whether `a` and `b` are alike for Update: the same CP, location, use and
  // power (a busy CP's energy and driver change nothing in it).
  static bool SeesAlike(const QueueCp& a, const QueueCp& b);

  // After a restart: the queue as the journal kept it.
  void Restore(const QueueEntry& entry);

  bool empty() const { return entries_.empty(); }
  // Cities with someone queued.
  absl::flat_hash_set<std::string> Cities() const;
  // The estimate for `driver`'s place (exposed for tests).
  WaitEstimate Estimate(const QueueEntry& entry, const std::vector<QueueCp>& cps,
                        absl::Time now) const;

 private:
  // Order of service: who joined first (driver id breaks ties).
  static bool Before(const QueueEntry& a, const QueueEntry& b);
  // Whether two queued drivers compete for a CP (same site, or one of them
  // waits for the whole city).
  static bool Overlap(const QueueEntry& a, const QueueEntry& b);
  static bool Covers(const QueueEntry& e, const QueueCp& cp);
  // Entries overlapping `e`, in order of service (e included).
  std::vector<const QueueEntry*> Competing(const QueueEntry& e) const;
  common::v1::QueueStatus StatusOf(const QueueEntry& e, const std::vector<QueueCp>* cps,
                                   absl::Time now) const;
  double NominalPowerW(const QueueCp& cp) const;
  // Removes the driver's entry, journals, audits and tells the driver.
  void Exit(const std::string& driver, common::v1::QueueEvent why, const std::string& detail,
            const std::string& actor, absl::Time now, Effects& fx);
  void Notify(const QueueEntry& e, common::v1::QueueEvent event, const std::string& detail,
              absl::Time now, Effects& fx);
  // Tells every driver in `city` whose position changed.
  void NotifyPositions(const std::string& city, absl::Time now, Effects& fx);
  void Journal(const QueueEntry& e, bool removed, Effects& fx) const;
  void UpdateOn(const std::vector<QueueCp>& cps, absl::Time now, Effects& fx);

  QueueConfig config_;
  absl::flat_hash_map<std::string, QueueEntry> entries_;  // by driver
  // The last position each driver was told.
  absl::flat_hash_map<std::string, int> told_position_;
  // A supply started from the queue: its driver's requested energy, for the
  // estimates of those behind (cp -> driver, energy).
  absl::flat_hash_map<std::string, std::pair<std::string, int64_t>> targets_;
  // The power each CP last delivered (the next session's likely power).
  absl::flat_hash_map<std::string, int64_t> last_power_;
  // What the last Update saw, and whether the queue changed since.
  std::vector<QueueCp> seen_;
  bool changed_ = true;
};

}  // namespace evc::central
