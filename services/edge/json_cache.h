#pragma once
// The JSON of upstream messages, converted once per distinct message: many
// clients watching the same stream receive byte-identical updates, and
// identical bytes of one type always print the same JSON. Bounded by bytes;
// the oldest entries go first. Thread-safe (sharded locks).

#include <deque>
#include <memory>
#include <string>

#include <google/protobuf/descriptor.h>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace evc::edge {

class JsonCache {
 public:
  explicit JsonCache(size_t max_bytes = 32 << 20);

  // The JSON of `bytes` read as `type`; as a stream line ({"result": ...})
  // when `stream_result`. INTERNAL when the bytes are not a valid `type`.
  absl::StatusOr<std::shared_ptr<const std::string>> Get(const google::protobuf::Descriptor& type,
                                                         const std::string& bytes, bool stream_result);

  struct Counters {
    int64_t hits = 0;
    int64_t conversions = 0;
  };
  Counters counters();

 private:
  static constexpr int kShards = 16;
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, std::shared_ptr<const std::string>> entries ABSL_GUARDED_BY(mu);
    std::deque<std::string> order ABSL_GUARDED_BY(mu);
    size_t bytes ABSL_GUARDED_BY(mu) = 0;
    int64_t hits ABSL_GUARDED_BY(mu) = 0;
    int64_t conversions ABSL_GUARDED_BY(mu) = 0;
  };
  const size_t max_shard_bytes_;
  Shard shards_[kShards];
};

// Protobuf's JSON mapping of `bytes` as `type`, straight from the wire form
// (the same output as ToJson of the parsed message).
absl::StatusOr<std::string> BytesToJson(const google::protobuf::Descriptor& type, const std::string& bytes);

}  // namespace evc::edge
