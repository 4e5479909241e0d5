#pragma once
// Where central's replay high-water marks persist: a sealed engine envelope
// accepted before a restart must stay refused after it (issue 15, point 8).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace evc::central {

// The largest counter accepted from a CP, and where on Kafka that envelope
// was (a record at or before this position is one central has read before).
struct ReplayMark {
  std::string cp_id;
  uint64_t counter = 0;
  int32_t partition = 0;
  int64_t offset = 0;
};

class ReplayMarkStore {
 public:
  virtual ~ReplayMarkStore() = default;
  virtual absl::StatusOr<std::vector<ReplayMark>> LoadReplayMarks() = 0;
  // Raises the stored marks (never lowers one).
  virtual absl::Status SaveReplayMarks(const std::vector<ReplayMark>& marks) = 0;
};

}  // namespace evc::central
