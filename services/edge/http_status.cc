#include "services/edge/http_status.h"

#include <iterator>
#include <utility>

#include <nlohmann/json.hpp>

namespace evc::edge {
namespace {

struct Row {
  grpc::StatusCode code;
  absl::string_view name;
  int http;
};

// 499 is nginx's "client closed request", as grpc-gateway uses for CANCELLED.
constexpr Row kTable[] = {
    {grpc::StatusCode::OK, "OK", 200},
    {grpc::StatusCode::CANCELLED, "CANCELLED", 499},
    {grpc::StatusCode::UNKNOWN, "UNKNOWN", 500},
    {grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT", 400},
    {grpc::StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", 504},
    {grpc::StatusCode::NOT_FOUND, "NOT_FOUND", 404},
    {grpc::StatusCode::ALREADY_EXISTS, "ALREADY_EXISTS", 409},
    {grpc::StatusCode::PERMISSION_DENIED, "PERMISSION_DENIED", 403},
    {grpc::StatusCode::RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED", 429},
    {grpc::StatusCode::FAILED_PRECONDITION, "FAILED_PRECONDITION", 400},
    {grpc::StatusCode::ABORTED, "ABORTED", 409},
    {grpc::StatusCode::OUT_OF_RANGE, "OUT_OF_RANGE", 400},
    {grpc::StatusCode::UNIMPLEMENTED, "UNIMPLEMENTED", 501},
    {grpc::StatusCode::INTERNAL, "INTERNAL", 500},
    {grpc::StatusCode::UNAVAILABLE, "UNAVAILABLE", 503},
    {grpc::StatusCode::DATA_LOSS, "DATA_LOSS", 500},
    {grpc::StatusCode::UNAUTHENTICATED, "UNAUTHENTICATED", 401},
};

// What HTTP names more precisely than a code's row. The body's code is the
// one a gRPC client would get for the same problem: gRPC answers a message
// or metadata over its limits with RESOURCE_EXHAUSTED, an unparsable
// response with INTERNAL; a method the path lacks is UNIMPLEMENTED (as in
// grpc-gateway).
struct HttpOnlyRow {
  HttpOnlyStatus status;
  grpc::StatusCode code;
  int http;
};

constexpr HttpOnlyRow kHttpOnlyTable[] = {
    {HttpOnlyStatus::kMethodNotAllowed, grpc::StatusCode::UNIMPLEMENTED, 405},
    {HttpOnlyStatus::kPayloadTooLarge, grpc::StatusCode::RESOURCE_EXHAUSTED, 413},
    {HttpOnlyStatus::kUriTooLong, grpc::StatusCode::RESOURCE_EXHAUSTED, 414},
    {HttpOnlyStatus::kRequestHeaderFieldsTooLarge, grpc::StatusCode::RESOURCE_EXHAUSTED, 431},
    {HttpOnlyStatus::kBadGateway, grpc::StatusCode::INTERNAL, 502},
};

// Looked up by position: one row per enumerator, in its order.
constexpr bool RowsInEnumOrder() {
  for (size_t i = 0; i < std::size(kHttpOnlyTable); ++i) {
    if (static_cast<size_t>(kHttpOnlyTable[i].status) != i) return false;
  }
  return true;
}
static_assert(RowsInEnumOrder(), "kHttpOnlyTable needs one row per HttpOnlyStatus, in the enum's order");

const HttpOnlyRow& Find(HttpOnlyStatus status) { return kHttpOnlyTable[static_cast<size_t>(status)]; }

const Row* Find(grpc::StatusCode code) {
  for (const Row& row : kTable) {
    if (row.code == code) return &row;
  }
  return nullptr;
}

}  // namespace

int HttpStatusFromGrpc(grpc::StatusCode code) {
  const Row* row = Find(code);
  return row == nullptr ? 500 : row->http;
}

absl::string_view GrpcCodeName(grpc::StatusCode code) {
  const Row* row = Find(code);
  return row == nullptr ? "UNKNOWN" : row->name;
}

std::string ErrorJson(grpc::StatusCode code, absl::string_view message) {
  nlohmann::json body = {{"code", static_cast<int>(code)},
                         {"status", std::string(GrpcCodeName(code))},
                         {"message", std::string(message)},
                         {"details", nlohmann::json::array()}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpError::HttpError(grpc::StatusCode code, std::string message, int http_status)
    : code_(code), message_(std::move(message)), http_status_(http_status) {}

HttpError::HttpError(const grpc::Status& status)
    : HttpError(status.error_code(), status.error_message(), HttpStatusFromGrpc(status.error_code())) {}

HttpError::HttpError(const absl::Status& status)
    : HttpError(grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()))) {}

HttpError::HttpError(HttpOnlyStatus status, std::string message)
    : HttpError(Find(status).code, std::move(message), Find(status).http) {}

std::string HttpError::Json() const { return ErrorJson(code_, message_); }

}  // namespace evc::edge
