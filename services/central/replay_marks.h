#pragma once
// Central's replay marks in Postgres.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/central/replay_mark_store.h"
#include "services/common/postgres.h"

namespace evc::central {

class PgReplayMarkStore : public ReplayMarkStore {
 public:
  explicit PgReplayMarkStore(PgPool& pool) : pool_(pool) {}
  absl::StatusOr<std::vector<ReplayMark>> LoadReplayMarks() override;
  absl::Status SaveReplayMarks(const std::vector<ReplayMark>& marks) override;

 private:
  PgPool& pool_;
};

}  // namespace evc::central
