#pragma once
// A SupplyStore that takes every write and holds nothing (tests, fuzz
// targets): fakes override what they need.

#include "services/central/supply_store.h"

namespace evc::central {

class EmptySupplyStore : public SupplyStore {
 public:
  absl::Status Write(const JournalBatch&) override { return absl::OkStatus(); }
  absl::StatusOr<std::vector<SupplyRecord>> LoadOpenSupplies() override {
    return std::vector<SupplyRecord>();
  }
  absl::StatusOr<std::vector<common::v1::Ticket>> LoadUnpublishedTickets() override {
    return std::vector<common::v1::Ticket>();
  }
  absl::StatusOr<std::vector<HoldChange>> LoadHolds() override { return std::vector<HoldChange>(); }
  absl::StatusOr<std::optional<common::v1::Ticket>> GetTicket(const std::string&) override {
    return std::optional<common::v1::Ticket>();
  }
  absl::StatusOr<std::vector<common::v1::Ticket>> ListTickets(const std::string&,
                                                              const std::string&, int) override {
    return std::vector<common::v1::Ticket>();
  }
};

}  // namespace evc::central
