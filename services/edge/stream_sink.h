#pragma once
// Both ends of a server stream as the edge's HTTP side sees them: where its
// messages go, and how to stop it.

#include <memory>
#include <string>

#include "services/edge/http_status.h"

namespace evc::edge {

// Receives a server stream's messages (as JSON) on gRPC threads.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // One message as a stream line ({"result": ...}), shared by every client
  // that receives the same bytes. False stops the stream (the client went
  // away or is too slow). Must not block.
  virtual bool OnMessage(std::shared_ptr<const std::string> line) = 0;
  // How the stream ended: the upstream's status (OK when it finished), or
  // the edge's own error for a message it could not read. Called once.
  virtual void OnEnd(const HttpError& end) = 0;
};

// Lets the HTTP side cancel a running stream at any time, even after it ended.
class StreamHandle {
 public:
  virtual ~StreamHandle() = default;
  virtual void Cancel() = 0;
};

}  // namespace evc::edge
