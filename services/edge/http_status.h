#pragma once
// The one table from gRPC status codes to HTTP statuses (grpc-gateway's
// mapping), and the JSON error body every failed request gets:
//   {"code": 5, "status": "NOT_FOUND", "message": "...", "details": []}
// shaped like google.rpc.Status, plus the code's name for people.
//
// Every error the edge answers is an HttpError, whether an upstream returned
// it or the edge refused the request itself: both take their HTTP status and
// body from this table, so a client gets the same answer for the same code
// wherever it arose. The edge's own refusals are gRPC codes too (as
// absl::Status, whose codes are gRPC's), except the few for which HTTP has a
// more precise status than any code's row (HttpOnlyStatus); those have rows
// of their own giving both the HTTP status and the code of the body, as
// grpc-gateway's HTTPStatusError does for its 405.

#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace evc::edge {

int HttpStatusFromGrpc(grpc::StatusCode code);
// "NOT_FOUND", ...
absl::string_view GrpcCodeName(grpc::StatusCode code);
std::string ErrorJson(grpc::StatusCode code, absl::string_view message);

// Refusals the edge makes itself that HTTP names and gRPC does not. The code
// each body carries is in the table (http_status.cc).
enum class HttpOnlyStatus {
  kMethodNotAllowed,              // 405
  kPayloadTooLarge,               // 413
  kUriTooLong,                    // 414
  kRequestHeaderFieldsTooLarge,   // 431
  kBadGateway,                    // 502: an upstream's answer the edge cannot read
};

// An error as the edge answers it: HTTP status, gRPC code and message.
class HttpError {
 public:
  // The table's row for the status's code: an upstream's status, or the
  // edge's own (absl's codes are gRPC's, number for number).
  explicit HttpError(const grpc::Status& status);
  explicit HttpError(const absl::Status& status);
  // The row of an HTTP-only status: its code comes from the table.
  HttpError(HttpOnlyStatus status, std::string message);

  // OK is 200 and no error: how a stream that finished ends.
  bool ok() const { return code_ == grpc::StatusCode::OK; }
  int http_status() const { return http_status_; }
  grpc::StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The response body (ErrorJson).
  std::string Json() const;

 private:
  HttpError(grpc::StatusCode code, std::string message, int http_status);

  grpc::StatusCode code_;
  std::string message_;
  int http_status_;
};

}  // namespace evc::edge
