#pragma once
// The term central's journal writes under. Every write transaction checks it
// against the lease inside the transaction (CheckLeaderFence in
// pg_leadership.h), so a replica whose term is over (paused, partitioned,
// superseded) writes nothing, whatever its own clock says.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"

namespace evc::central {

class LeaderFence {
 public:
  // `on_fenced` hears of every write refused because the term is over.
  LeaderFence(std::string replica_id, std::function<void(const absl::Status&)> on_fenced)
      : replica_id_(std::move(replica_id)), on_fenced_(std::move(on_fenced)) {}

  // Writes are allowed under `epoch` from now on (0: none).
  void Enter(int64_t epoch) { epoch_.store(epoch); }
  int64_t epoch() const { return epoch_.load(); }
  const std::string& replica_id() const { return replica_id_; }
  void Fenced(const absl::Status& why) const {
    if (on_fenced_) on_fenced_(why);
  }

 private:
  const std::string replica_id_;
  const std::function<void(const absl::Status&)> on_fenced_;
  std::atomic<int64_t> epoch_{0};
};

}  // namespace evc::central
