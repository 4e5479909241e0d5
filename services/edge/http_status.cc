#include "services/edge/http_status.h"

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

}  // namespace evc::edge
