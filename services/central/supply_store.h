#pragma once
// Central's durable state: supplies, telemetry samples, tickets (with their
// outbox mark), holds of CPs and audit events.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "evc/central/v1/config.pb.h"
#include "services/central/effects.h"
#include "services/central/power_allocation.h"

namespace evc::central {

// One transaction's worth of writes.
struct JournalBatch {
  std::vector<SupplyRecord> opened;
  // Latest state per supply (coalesced).
  std::vector<SupplyRecord> changed;
  std::vector<common::v1::Ticket> tickets;
  std::vector<AuditRecord> audit;
  // In the order they happened.
  std::vector<HoldChange> holds;
  std::vector<std::string> published_tickets;
  // Queued drivers (issue 20), in the order they changed.
  std::vector<QueueChange> queue;
  bool empty() const {
    return opened.empty() && changed.empty() && tickets.empty() && audit.empty() &&
           holds.empty() && published_tickets.empty() && queue.empty();
  }
};

class SupplyStore {
 public:
  virtual ~SupplyStore() = default;
  // One transaction. UNAVAILABLE (or ABORTED) when the database cannot take
  // writes now: the journal retries. Any other error means the rows
  // themselves were refused: the journal isolates and quarantines them.
  virtual absl::Status Write(const JournalBatch& batch) = 0;
  // Keeps a refused row where an operator sees it (and audits it). Stores
  // without a quarantine (test fakes) drop it.
  virtual absl::Status Quarantine(const QuarantinedRow& row) { return absl::OkStatus(); }
  virtual absl::StatusOr<std::vector<SupplyRecord>> LoadOpenSupplies() = 0;
  virtual absl::StatusOr<std::vector<common::v1::Ticket>> LoadUnpublishedTickets() = 0;
  // The holds in force (operator stops, weather alerts).
  virtual absl::StatusOr<std::vector<HoldChange>> LoadHolds() = 0;
  // The drivers queued at busy locations (issue 20). Stores that keep no
  // queue (test fakes, fuzzing) have none.
  virtual absl::StatusOr<std::vector<QueueEntry>> LoadQueue() {
    return std::vector<QueueEntry>();
  }
  // Site power caps (issue 20), written when an operator sets one (cap_w 0
  // deletes it) and loaded at start. Stores without them (test fakes) keep
  // none: central then starts with no cap.
  virtual absl::Status SaveSiteCap(const std::string& site_key, const SiteCap& cap,
                                   const std::string& actor) {
    return absl::OkStatus();
  }
  virtual absl::StatusOr<std::vector<SiteCap>> LoadSiteCaps() { return std::vector<SiteCap>(); }
  // Central's live settings (config.proto), written whole when an operator
  // changes one, with who did (updated_by/updated_at are set by the store) and
  // loaded at start. Stores without them (test fakes) keep none: central then
  // runs on its flags.
  virtual absl::Status SaveConfig(const central::v1::CentralConfig& config, const std::string& actor) {
    return absl::OkStatus();
  }
  virtual absl::StatusOr<std::optional<central::v1::CentralConfig>> LoadConfig() {
    return std::optional<central::v1::CentralConfig>();
  }
  virtual absl::StatusOr<std::optional<common::v1::Ticket>> GetTicket(const std::string& supply_id) = 0;
  virtual absl::StatusOr<std::vector<common::v1::Ticket>> ListTickets(const std::string& driver_id,
                                                                      const std::string& cp_id,
                                                                      int limit) = 0;
};

}  // namespace evc::central
