#pragma once
// The one table from gRPC status codes to HTTP statuses (grpc-gateway's
// mapping), and the JSON error body every failed request gets:
//   {"code": 5, "status": "NOT_FOUND", "message": "...", "details": []}
// shaped like google.rpc.Status, plus the code's name for people.

#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/strings/string_view.h"

namespace evc::edge {

int HttpStatusFromGrpc(grpc::StatusCode code);
// "NOT_FOUND", ...
absl::string_view GrpcCodeName(grpc::StatusCode code);
std::string ErrorJson(grpc::StatusCode code, absl::string_view message);

}  // namespace evc::edge
