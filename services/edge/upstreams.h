#pragma once
// The edge's side of gRPC: one channel per upstream service, and calls made
// with the generic stub on bytes the transcoder produced, so the edge needs
// no generated stubs for the RPCs it exposes. All calls are asynchronous
// (callback API): no thread waits on an upstream.

#include <functional>
#include <map>
#include <vector>
#include <memory>
#include <string>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/common/grpc_server.h"
#include "services/edge/http_status.h"
#include "services/edge/json_cache.h"
#include "services/edge/routes.h"

namespace evc::edge {

// What every call carries from the HTTP request.
struct CallMetadata {
  std::string bearer_token;  // "" for none
  std::string client_address;
};

// Receives a server stream's messages (as JSON) on gRPC threads.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // One message as a stream line ({"result": ...}), shared by every client
  // that receives the same bytes. False stops the stream (the client went
  // away or is too slow).
  virtual bool OnMessage(std::shared_ptr<const std::string> line) = 0;
  // How the stream ended: the upstream's status (OK when it finished), or
  // the edge's own error for a message it could not read.
  virtual void OnEnd(const HttpError& end) = 0;
};

// Lets the HTTP side cancel a running stream at any time, even after it ended.
class StreamHandle {
 public:
  virtual ~StreamHandle() = default;
  virtual void Cancel() = 0;
};

class Upstreams {
 public:
  explicit Upstreams(absl::Duration unary_timeout) : unary_timeout_(unary_timeout) {}

  // Every response's JSON goes through it.
  JsonCache& json() { return json_; }

  // `target` "host:port"; TLS as configured for the process. With
  // `leader_service`, `target` may name several replicas and calls go to the
  // one reporting that service SERVING (MakeLeaderChannel): central's leader.
  void Add(const std::string& backend, const std::string& target, const std::string& leader_service = "");
  bool Has(const std::string& backend) const { return backends_.count(backend) > 0; }

  using UnaryDone = std::function<void(const grpc::Status& status, std::string response_bytes)>;
  void Unary(const Route& route, std::string request_bytes, const CallMetadata& metadata, UnaryDone done);

  std::shared_ptr<StreamHandle> Stream(const Route& route, std::string request_bytes,
                                       const CallMetadata& metadata, std::shared_ptr<StreamSink> sink);

  // Backends whose channel is failing to connect, for /readyz.
  std::vector<std::string> Unreachable() const;

  // Cancels every running stream and waits (up to `grace`) for them to end.
  void CancelAll(absl::Duration grace);

 private:
  struct Backend {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<grpc::GenericStub> stub;
  };
  class StreamCall;
  friend class StreamCall;
  void Track(const std::shared_ptr<StreamCall>& call);
  void Untrack(StreamCall* call);

  const absl::Duration unary_timeout_;
  JsonCache json_;
  std::map<std::string, Backend> backends_;
  absl::Mutex mu_;
  std::map<StreamCall*, std::weak_ptr<StreamCall>> streams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evc::edge
