#pragma once

#include "services/central/leader_fence.h"
#include "services/central/supply_store.h"
#include "services/common/postgres.h"

namespace evc::central {

class PgSupplyStore : public SupplyStore {
 public:
  // Writes only under `fence`'s term, when given (see CheckLeaderFence).
  explicit PgSupplyStore(PgPool& pool, const LeaderFence* fence = nullptr)
      : pool_(pool), fence_(fence) {}
  // Ordered so that a batch is valid whatever it mixes: supplies being
  // completed close before new ones open (one open supply per CP), a supply
  // opened and completed in the same batch is inserted closed.
  absl::Status Write(const JournalBatch& batch) override;
  absl::Status Quarantine(const QuarantinedRow& row) override;
  absl::StatusOr<std::vector<SupplyRecord>> LoadOpenSupplies() override;
  absl::StatusOr<std::vector<common::v1::Ticket>> LoadUnpublishedTickets() override;
  absl::StatusOr<std::vector<HoldChange>> LoadHolds() override;
  absl::StatusOr<std::vector<QueueEntry>> LoadQueue() override;
  absl::Status SaveSiteCap(const std::string& site_key, const SiteCap& cap,
                           const std::string& actor) override;
  absl::StatusOr<std::vector<SiteCap>> LoadSiteCaps() override;
  absl::Status SaveConfig(const central::v1::CentralConfig& config, const std::string& actor) override;
  absl::StatusOr<std::optional<central::v1::CentralConfig>> LoadConfig() override;
  absl::StatusOr<std::optional<common::v1::Ticket>> GetTicket(const std::string& supply_id) override;
  absl::StatusOr<std::vector<common::v1::Ticket>> ListTickets(const std::string& driver_id,
                                                              const std::string& cp_id,
                                                              int limit) override;

 private:
  PgPool& pool_;
  const LeaderFence* const fence_;
};

}  // namespace evc::central
