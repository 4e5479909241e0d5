#pragma once
// A fixed set of threads with a bounded queue, for work that blocks (database,
// slow hashing) so that gRPC's callback threads never do. A full queue is
// refused, not grown: the caller answers RESOURCE_EXHAUSTED.

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/common/grpc_server.h"

namespace evc {

class WorkerPool {
 public:
  WorkerPool(int threads, size_t max_queued);
  ~WorkerPool();

  // Runs what is queued, then joins the threads; later submissions are refused.
  // Idempotent; one caller at a time (the owner).
  void Stop();

  // False when the queue is full or the pool is stopping.
  bool TrySubmit(std::function<void()> task);

 private:
  void Work();

  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// Serves a unary callback RPC by running `handler` (returning absl::Status,
// filling the response) on `pool`.
template <typename Handler>
grpc::ServerUnaryReactor* ServeOnPool(grpc::CallbackServerContext* context, WorkerPool& pool,
                                      Handler handler) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  bool queued = pool.TrySubmit(
      [reactor, handler = std::move(handler)]() mutable { reactor->Finish(ToGrpcStatus(handler())); });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "server busy: too many requests queued, retry with backoff"));
  }
  return reactor;
}

}  // namespace evc
