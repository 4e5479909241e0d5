#pragma once
// A backlog of engine telemetry waiting for central, as after an outage: a
// simulated fleet with one supply open per CP, then readings produced while
// central is down, sealed like an engine's. The ingest benchmark and the
// restart integration test both build it here.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/integration/stack.h"

namespace evc::testing {

// Runs `fn(i)` for i in [0, n) on `threads` threads.
void Parallel(int n, int threads, const std::function<void(int)>& fn);

// The ids of the fleet's i-th CP (1-based) and of the driver who charges there.
std::string FleetCpId(int i);
std::string FleetDriverId(int i);

// Signs up FleetDriverId(1..n) (already existing ones are fine).
absl::Status AddFleetDrivers(Stack& stack, int n);

// evc-cp-fleet with `count` CPs FleetCpId(1..count) enrolled and linked to the stack.
std::unique_ptr<Process> StartFleet(Stack& stack, int count, std::vector<std::string> extra_flags = {});

// Waits until central sees `n` connected CPs; DEADLINE_EXCEEDED saying how many did.
absl::Status WaitConnected(Stack& stack, int n, absl::Duration timeout);

// RequestCharge as `driver` (with its token); the supply id.
absl::StatusOr<std::string> RequestChargeAs(Stack& stack, const std::string& cp, const std::string& driver);

struct OpenSupply {
  std::string supply_id;
  std::string cp_id;
  int64_t last_seq = 0;  // the number of the last reading produced for it
};

// The supplies open in the stack's database. Their numbering goes on 10 past
// what central journaled: an engine may have sent readings central applied
// but had not written down when it was killed.
std::vector<OpenSupply> OpenSupplies(Stack& stack);

// Produces `messages` readings on evc.engine-events, round-robin over
// `supplies`, keyed by CP id like an engine's (so spread over the topic's
// partitions), each sealed with its CP's key from auth (asked as central).
// Reading n of a supply delivers 10·n Wh; advances each supply's last_seq.
absl::Status ProduceTelemetry(Stack& stack, std::vector<OpenSupply>& supplies, int64_t messages);

// One partition of a topic as the broker holds it, against a group's committed offset.
struct PartitionBacklog {
  int32_t partition = 0;
  int64_t low = 0;         // the oldest offset the broker still keeps
  int64_t high = 0;        // the next offset to be written
  int64_t committed = -1;  // the group's committed offset; negative: none
  // Held and not read by the group yet.
  int64_t Unread() const { return high - std::max(low, committed); }
  // Deleted by retention before the group read them.
  int64_t Expired() const { return committed >= 0 && committed < low ? low - committed : 0; }
};

// The partition count of a project topic (ProjectTopics), 0 for another.
int PartitionCount(const std::string& topic);

// Every partition of `topic` (a project topic) against `group`.
absl::StatusOr<std::vector<PartitionBacklog>> BacklogOf(const std::string& brokers, const std::string& topic,
                                                        const std::string& group);

}  // namespace evc::testing
