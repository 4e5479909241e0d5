#pragma once
// What a decision of the charging network asks the outside world to do. The
// state machine only decides; Central applies effects (persist, then send).

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "evc/central/v1/central.pb.h"
#include "evc/common/v1/types.pb.h"
#include "evc/events/v1/events.pb.h"
#include "nlohmann/json.hpp"
#include "services/common/audit.h"
#include "services/common/price.h"

namespace evc::central {

struct SupplyRecord {
  std::string supply_id;
  std::string cp_id;
  std::string driver_id;  // empty: anonymous walk-in
  std::string request_id;
  common::v1::SupplyPhase phase = common::v1::SUPPLY_PHASE_AUTHORIZED;
  absl::Time authorized_at;
  absl::Time started_at = absl::InfinitePast();  // InfinitePast: not plugged yet
  int64_t energy_wh = 0;
  int64_t power_w = 0;
  int64_t price_millieuros_per_kwh = 0;
  // The CP's energy register when the supply began (an OCPP charger's
  // meterStart; 0 for CPs that count each supply from zero).
  int64_t meter_start_wh = 0;
  uint64_t last_seq = 0;
  absl::Time last_reading_at = absl::InfinitePast();
  // While STOPPING: why, and since when.
  common::v1::EndReason stop_reason = common::v1::END_REASON_UNSPECIFIED;
  absl::Time stop_requested_at = absl::InfinitePast();
  // Set by the power allocation (power_allocation.h); 0: no limit.
  int64_t power_limit_w = 0;
};

// A hold added to or lifted from a CP, to be made durable (holds survive a
// restart of central).
struct HoldChange {
  std::string cp_id;
  common::v1::HoldReason reason = common::v1::HOLD_REASON_UNSPECIFIED;
  bool held = false;
  std::string detail;
  absl::Time since;
};

// A driver waiting in a location's queue (issue 20, queue.h), as the journal
// keeps it: a site (city and address) or a whole city (address empty).
struct QueueEntry {
  std::string driver_id;
  std::string city;
  std::string address;
  absl::Time joined_at;
  int64_t requested_energy_wh = 0;  // 0: a typical session
  // The CP held for the driver, and until when (empty: waiting).
  std::string offered_cp;
  absl::Time offer_expires_at = absl::InfinitePast();
};

// A queue row written, or deleted when `removed`.
struct QueueChange {
  QueueEntry entry;
  bool removed = false;
};

struct Effects {
  // Persisted first, in one transaction.
  std::vector<SupplyRecord> supplies_opened;
  std::vector<SupplyRecord> supplies_changed;
  std::vector<common::v1::Ticket> tickets;
  std::vector<AuditRecord> audit;
  std::vector<HoldChange> holds_changed;
  std::vector<QueueChange> queue_changed;
  // Sent once the above is durable, in order.
  std::vector<events::v1::EngineCommand> commands;
  std::vector<events::v1::DriverNotification> notices;
  // Sent at once: live views, not state.
  std::vector<central::v1::NetworkUpdate> updates;
  std::vector<events::v1::DriverNotification> readings;

  bool NeedsDurability() const {
    return !supplies_opened.empty() || !tickets.empty() || !commands.empty() || !notices.empty() ||
           !holds_changed.empty() || !queue_changed.empty();
  }
};

// The formula lives in common/ (the engine prices with it too); named here
// for central's callers (central::AmountMillieuros).
using ::evc::AmountMillieuros;

}  // namespace evc::central
