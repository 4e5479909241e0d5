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
#include <utility>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/common/grpc_server.h"
#include "services/edge/http_status.h"
#include "services/edge/json_cache.h"
#include "services/edge/routes.h"
#include "services/edge/shared_stream.h"
#include "services/edge/stream_fold.h"
#include "services/edge/stream_sink.h"

namespace evc::edge {

// What every call carries from the HTTP request.
struct CallMetadata {
  std::string bearer_token;  // "" for none
  std::string client_address;
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

  // A server stream to `sink`. Central decides what a caller sees from its
  // token, so only callers without one are owed the same messages: they
  // share one upstream call per stream (method and request) when a
  // StreamFold can bring a late joiner level (stream_fold.h). Every other
  // stream has a call of its own.
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
  // Method path and request bytes.
  using SharedKey = std::pair<std::string, std::string>;

  std::shared_ptr<StreamHandle> JoinShared(const Route& route, grpc::GenericStub& stub, std::string request_bytes,
                                           std::unique_ptr<StreamFold> fold, std::shared_ptr<StreamSink> sink);
  // Starts the upstream call behind `stream`.
  void Begin(const Route& route, grpc::GenericStub& stub, std::string request_bytes, const CallMetadata& metadata,
             const std::shared_ptr<SharedStream>& stream);
  void Forget(const SharedKey& key, const SharedStream* stream);
  void Track(const std::shared_ptr<StreamCall>& call);
  void Untrack(StreamCall* call);

  const absl::Duration unary_timeout_;
  JsonCache json_;
  std::map<std::string, Backend> backends_;
  absl::Mutex mu_;
  std::map<StreamCall*, std::weak_ptr<StreamCall>> streams_ ABSL_GUARDED_BY(mu_);
  absl::Mutex shared_mu_;
  // The shared streams that take joiners.
  absl::flat_hash_map<SharedKey, std::shared_ptr<SharedStream>> shared_ ABSL_GUARDED_BY(shared_mu_);
};

}  // namespace evc::edge
