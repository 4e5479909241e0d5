#pragma once
// One upstream server stream fanned out to the clients that watch it (issue
// 19): each message is printed once and the same line goes to every client;
// a client that cannot keep up leaves alone; the last one out cancels the
// call; when the call ends, every client's stream ends the same way.
//
// Upstreams shares a stream only when every client is owed the same
// messages (see Upstreams::Stream) and a StreamFold can bring a late joiner
// level; every other stream is a SharedStream with one client, so both take
// one path.

#include <functional>
#include <memory>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "services/edge/http_status.h"
#include "services/edge/json_cache.h"
#include "services/edge/stream_fold.h"
#include "services/edge/stream_sink.h"

namespace evc::edge {

class SharedStream : public std::enable_shared_from_this<SharedStream> {
 public:
  // Runs once, when the stream stops taking joiners (its last client left,
  // or it ended).
  using OnClosed = std::function<void(const SharedStream*)>;

  // `type`: the stream's message type, whose lines `json` prints. `fold`
  // null: no one joins once messages have flowed.
  SharedStream(JsonCache& json, const google::protobuf::Descriptor& type, std::unique_ptr<StreamFold> fold,
               OnClosed on_closed);

  // Adds `sink`: once messages have flowed it first gets a snapshot from
  // the fold and the messages that came after it was taken, then every
  // message, with no gap and nothing twice. Null when it cannot be brought
  // level or the stream is closing: open another. The handle's Cancel takes
  // `sink` out.
  std::shared_ptr<StreamHandle> Join(std::shared_ptr<StreamSink> sink);

  // The upstream call, cancelled once no client is left (at once if none is).
  void Start(std::shared_ptr<StreamHandle> upstream);

  // From the upstream call, one at a time. False once no client is left:
  // the call should stop.
  bool Deliver(const std::string& bytes, std::shared_ptr<const std::string> line);
  // The upstream call ended: every client ends with `end`.
  void End(const HttpError& end);

 private:
  class Membership;
  using Sinks = std::vector<std::shared_ptr<StreamSink>>;
  using Lines = std::vector<std::shared_ptr<const std::string>>;

  void Leave(StreamSink* sink);
  // Whether a joiner can be brought level now; appends to `lines` what it
  // must get first (nothing while nothing has flowed).
  bool CatchUp(Lines* lines) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks the stream closing; true for the call that did.
  bool Close() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void EndAll(const Sinks& sinks, const HttpError& end);

  JsonCache& json_;
  const google::protobuf::Descriptor& type_;
  const OnClosed on_closed_;
  absl::Mutex mu_;
  const std::unique_ptr<StreamFold> fold_ ABSL_PT_GUARDED_BY(mu_);
  absl::flat_hash_map<StreamSink*, std::shared_ptr<StreamSink>> sinks_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<StreamHandle> upstream_ ABSL_GUARDED_BY(mu_);
  bool flowed_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  // What joiners get first: the fold's snapshot as a line, then the lines
  // that came after it was taken. Printing a large network takes a while,
  // so one print serves the joiners until kMaxReplay lines came after it.
  std::shared_ptr<const std::string> snapshot_ ABSL_GUARDED_BY(mu_);
  Lines replay_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evc::edge
