#include "services/edge/shared_stream.h"

#include <optional>
#include <string>
#include <utility>

namespace evc::edge {
namespace {

// How a client's stream ends when it leaves or is dropped on its own: as
// cancelling a call of its own ended it.
HttpError ClientLeft() { return HttpError(grpc::Status(grpc::StatusCode::CANCELLED, "the client left the stream")); }

// Lines replayed after a snapshot, sent to a joiner at once: well inside a
// client's queue (--stream_queue_limit, 4096 by default).
constexpr size_t kMaxReplay = 256;

}  // namespace

// A client's place in the stream: weak, so cancelling after the end is a no-op.
class SharedStream::Membership : public StreamHandle {
 public:
  Membership(std::weak_ptr<SharedStream> stream, StreamSink* sink) : stream_(std::move(stream)), sink_(sink) {}
  void Cancel() override {
    if (std::shared_ptr<SharedStream> stream = stream_.lock()) stream->Leave(sink_);
  }

 private:
  std::weak_ptr<SharedStream> stream_;
  StreamSink* const sink_;  // only a key: the stream holds the sink
};

SharedStream::SharedStream(JsonCache& json, const google::protobuf::Descriptor& type,
                           std::unique_ptr<StreamFold> fold, OnClosed on_closed)
    : json_(json), type_(type), on_closed_(std::move(on_closed)), fold_(std::move(fold)) {}

std::shared_ptr<StreamHandle> SharedStream::Join(std::shared_ptr<StreamSink> sink) {
  StreamSink* const key = sink.get();
  bool refused_catch_up = false;
  {
    absl::MutexLock lock(&mu_);
    Lines catch_up;
    if (!CatchUp(&catch_up)) return nullptr;
    // Under the lock: no message slips in between the catch-up and the
    // joiner's place among the sinks.
    for (const auto& line : catch_up) {
      refused_catch_up = !sink->OnMessage(line);
      if (refused_catch_up) break;
    }
    if (!refused_catch_up) sinks_.emplace(key, sink);
  }
  if (refused_catch_up) sink->OnEnd(ClientLeft());
  return std::make_shared<Membership>(weak_from_this(), key);
}

void SharedStream::Start(std::shared_ptr<StreamHandle> upstream) {
  bool nobody_left;
  {
    absl::MutexLock lock(&mu_);
    upstream_ = upstream;
    nobody_left = closing_;
  }
  if (nobody_left) upstream->Cancel();
}

bool SharedStream::Deliver(const std::string& bytes, std::shared_ptr<const std::string> line) {
  Sinks dropped;
  bool closed = false;
  {
    absl::MutexLock lock(&mu_);
    if (closing_) return false;
    flowed_ = true;
    if (fold_ != nullptr) {
      fold_->Apply(bytes);
      if (snapshot_ != nullptr && replay_.size() < kMaxReplay) {
        replay_.push_back(line);
      } else {
        snapshot_.reset();  // printed again for the next joiner
        replay_.clear();
      }
    }
    // Sinks only queue the line: calling them under the lock blocks nothing.
    for (auto it = sinks_.begin(); it != sinks_.end();) {
      if (it->second->OnMessage(line)) {
        ++it;
        continue;
      }
      dropped.push_back(std::move(it->second));
      sinks_.erase(it++);
    }
    closed = sinks_.empty() && Close();
  }
  EndAll(dropped, ClientLeft());
  if (closed) on_closed_(this);
  return !closed;
}

void SharedStream::End(const HttpError& end) {
  Sinks ending;
  bool closed;
  {
    absl::MutexLock lock(&mu_);
    closed = Close();
    for (auto& [key, sink] : sinks_) ending.push_back(std::move(sink));
    sinks_.clear();
  }
  if (closed) on_closed_(this);
  EndAll(ending, end);
}

void SharedStream::Leave(StreamSink* sink) {
  std::shared_ptr<StreamSink> gone;
  std::shared_ptr<StreamHandle> upstream;
  bool closed = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = sinks_.find(sink);
    if (it == sinks_.end()) return;  // already ended or dropped
    gone = std::move(it->second);
    sinks_.erase(it);
    closed = sinks_.empty() && Close();
    if (closed) upstream = upstream_;
  }
  gone->OnEnd(ClientLeft());
  if (!closed) return;
  on_closed_(this);
  // Outside the lock: gRPC may end the call inside Cancel, which calls End.
  if (upstream != nullptr) upstream->Cancel();
}

bool SharedStream::CatchUp(Lines* lines) {
  if (closing_) return false;
  if (!flowed_) return true;  // the joiner waits for the first message with the others
  if (fold_ == nullptr) return false;
  if (snapshot_ == nullptr) {
    std::optional<std::string> bytes = fold_->CatchUp();
    if (!bytes) return false;
    // Printed as every message of the stream is, so it reads as the first
    // message of a stream of one's own would.
    auto line = json_.Get(type_, *bytes, /*stream_result=*/true);
    if (!line.ok()) return false;
    snapshot_ = *std::move(line);
  }
  lines->push_back(snapshot_);
  lines->insert(lines->end(), replay_.begin(), replay_.end());
  return true;
}

bool SharedStream::Close() {
  if (closing_) return false;
  closing_ = true;
  snapshot_.reset();
  replay_.clear();
  return true;
}

void SharedStream::EndAll(const Sinks& sinks, const HttpError& end) {
  for (const auto& sink : sinks) sink->OnEnd(end);
}

}  // namespace evc::edge
