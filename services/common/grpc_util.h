#pragma once
// Glue between logic (absl::StatusOr) and gRPC (out-parameters, contexts).

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/grpc_server.h"

namespace evc {

// Moves a StatusOr's value into `out`, returning its status.
template <typename T, typename Out>
absl::Status Fill(absl::StatusOr<T> result, Out* out) {
  if (!result.ok()) return result.status();
  *out = std::move(*result);
  return absl::OkStatus();
}

// A blocking unary call with a deadline, e.g.
//   CallUnary(&Stub::GetDriver, *stub, request, absl::Seconds(2))
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> CallUnary(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                                Response*),
                                   Stub& stub, const Request& request, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  Response response;
  grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

}  // namespace evc
