#pragma once
// Central's replay marks in Postgres.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/central/leader_fence.h"
#include "services/central/replay_mark_store.h"
#include "services/common/postgres.h"

namespace evc::central {

class PgReplayMarkStore : public ReplayMarkStore {
 public:
  // Saves only under `fence`'s term, when given (see CheckLeaderFence).
  explicit PgReplayMarkStore(PgPool& pool, const LeaderFence* fence = nullptr)
      : pool_(pool), fence_(fence) {}
  absl::StatusOr<std::vector<ReplayMark>> LoadReplayMarks() override;
  absl::Status SaveReplayMarks(const std::vector<ReplayMark>& marks) override;

 private:
  PgPool& pool_;
  const LeaderFence* const fence_;
};

}  // namespace evc::central
