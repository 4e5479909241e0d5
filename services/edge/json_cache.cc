#include "services/edge/json_cache.h"

#include <google/protobuf/util/json_util.h>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "services/edge/transcoder.h"

namespace evc::edge {

absl::StatusOr<std::string> BytesToJson(const google::protobuf::Descriptor& type, const std::string& bytes) {
  // Parsed first, not streamed from the bytes: protobuf's binary-to-JSON
  // stream, given malformed bytes, can allocate without bound (31 bytes took
  // 13 GB, found by edge_transcode_fuzz).
  std::unique_ptr<google::protobuf::Message> message = NewMessage(type);
  if (!message->ParseFromString(bytes)) {
    return absl::InternalError(absl::StrCat("the ", type.full_name(), " received does not parse"));
  }
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(*message, &out, ResponsePrintOptions());
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print the ", type.full_name(), " received: ", status.message().as_string()));
  }
  return out;
}

JsonCache::JsonCache(size_t max_bytes) : max_shard_bytes_(std::max<size_t>(max_bytes / kShards, 1)) {}

absl::StatusOr<std::shared_ptr<const std::string>> JsonCache::Get(const google::protobuf::Descriptor& type,
                                                                  const std::string& bytes, bool stream_result) {
  // Type names cannot contain '|': the prefix is unambiguous.
  std::string key = absl::StrCat(type.full_name(), stream_result ? "|s|" : "|u|", bytes);
  Shard& shard = shards_[absl::HashOf(key) % kShards];
  {
    absl::MutexLock lock(&shard.mu);
    auto it = shard.entries.find(key);
    if (it != shard.entries.end()) {
      ++shard.hits;
      return it->second;
    }
  }
  // Converted outside the lock; two threads may both convert the same new
  // message, which is harmless.
  absl::StatusOr<std::string> json = BytesToJson(type, bytes);
  if (!json.ok()) return json.status();
  auto value = std::make_shared<const std::string>(stream_result ? absl::StrCat("{\"result\":", *json, "}")
                                                                 : std::move(*json));
  const size_t cost = key.size() + value->size();
  absl::MutexLock lock(&shard.mu);
  ++shard.conversions;
  if (cost > max_shard_bytes_) return value;  // too big to keep
  auto [it, fresh] = shard.entries.emplace(key, value);
  if (!fresh) return it->second;
  shard.bytes += cost;
  shard.order.push_back(std::move(key));
  while (shard.bytes > max_shard_bytes_ && !shard.order.empty()) {
    auto old = shard.entries.find(shard.order.front());
    shard.bytes -= old->first.size() + old->second->size();
    shard.entries.erase(old);
    shard.order.pop_front();
  }
  return value;
}

JsonCache::Counters JsonCache::counters() {
  Counters c;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    c.hits += shard.hits;
    c.conversions += shard.conversions;
  }
  return c;
}

}  // namespace evc::edge
