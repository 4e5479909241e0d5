#include "services/edge/http_status.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace evc::edge {
namespace {

TEST(HttpStatusTest, TheTableOfEveryCode) {
  const std::pair<grpc::StatusCode, int> expected[] = {
      {grpc::StatusCode::OK, 200},
      {grpc::StatusCode::CANCELLED, 499},
      {grpc::StatusCode::UNKNOWN, 500},
      {grpc::StatusCode::INVALID_ARGUMENT, 400},
      {grpc::StatusCode::DEADLINE_EXCEEDED, 504},
      {grpc::StatusCode::NOT_FOUND, 404},
      {grpc::StatusCode::ALREADY_EXISTS, 409},
      {grpc::StatusCode::PERMISSION_DENIED, 403},
      {grpc::StatusCode::RESOURCE_EXHAUSTED, 429},
      {grpc::StatusCode::FAILED_PRECONDITION, 400},
      {grpc::StatusCode::ABORTED, 409},
      {grpc::StatusCode::OUT_OF_RANGE, 400},
      {grpc::StatusCode::UNIMPLEMENTED, 501},
      {grpc::StatusCode::INTERNAL, 500},
      {grpc::StatusCode::UNAVAILABLE, 503},
      {grpc::StatusCode::DATA_LOSS, 500},
      {grpc::StatusCode::UNAUTHENTICATED, 401},
  };
  for (const auto& [code, http] : expected) {
    EXPECT_EQ(HttpStatusFromGrpc(code), http) << GrpcCodeName(code);
    EXPECT_NE(GrpcCodeName(code), "") << static_cast<int>(code);
  }
  // A code gRPC does not define (it maps wire codes above 16 to UNKNOWN; 20
  // stays within the enum's range, where a cast is defined behaviour).
  EXPECT_EQ(HttpStatusFromGrpc(static_cast<grpc::StatusCode>(20)), 500);
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(20)), "UNKNOWN");
}

TEST(HttpStatusTest, ErrorBodyIsStatusShaped) {
  auto body = nlohmann::json::parse(ErrorJson(grpc::StatusCode::NOT_FOUND, "no supply \"s-1\""));
  EXPECT_EQ(body["code"], 5);
  EXPECT_EQ(body["status"], "NOT_FOUND");
  EXPECT_EQ(body["message"], "no supply \"s-1\"");
  EXPECT_TRUE(body["details"].is_array());
}

TEST(HttpErrorTest, UpstreamAndEdgeStatusesTakeTheirCodesRow) {
  for (int number = 1; number <= 16; ++number) {
    const auto code = static_cast<grpc::StatusCode>(number);
    const HttpError upstream(grpc::Status(code, "why"));
    const HttpError edge(absl::Status(static_cast<absl::StatusCode>(number), "why"));
    for (const HttpError& error : {upstream, edge}) {
      EXPECT_EQ(error.http_status(), HttpStatusFromGrpc(code)) << GrpcCodeName(code);
      EXPECT_EQ(error.code(), code);
      EXPECT_EQ(error.message(), "why");
      EXPECT_EQ(error.Json(), ErrorJson(code, "why"));
    }
  }
}

// The statuses HTTP names and gRPC does not: one row each, giving the HTTP
// status and the code the body carries.
TEST(HttpErrorTest, HttpOnlyStatusesHaveRowsOfTheirOwn) {
  struct Row {
    HttpOnlyStatus status;
    int http;
    grpc::StatusCode code;
  };
  const Row expected[] = {
      {HttpOnlyStatus::kMethodNotAllowed, 405, grpc::StatusCode::UNIMPLEMENTED},
      {HttpOnlyStatus::kPayloadTooLarge, 413, grpc::StatusCode::RESOURCE_EXHAUSTED},
      {HttpOnlyStatus::kUriTooLong, 414, grpc::StatusCode::RESOURCE_EXHAUSTED},
      {HttpOnlyStatus::kRequestHeaderFieldsTooLarge, 431, grpc::StatusCode::RESOURCE_EXHAUSTED},
      {HttpOnlyStatus::kBadGateway, 502, grpc::StatusCode::INTERNAL},
  };
  for (const Row& row : expected) {
    const HttpError error(row.status, "too big");
    EXPECT_EQ(error.http_status(), row.http);
    EXPECT_EQ(error.code(), row.code) << row.http;
    auto body = nlohmann::json::parse(error.Json());
    EXPECT_EQ(body["code"], static_cast<int>(row.code)) << row.http;
    EXPECT_EQ(body["status"], std::string(GrpcCodeName(row.code))) << row.http;
    EXPECT_EQ(body["message"], "too big");
  }
}

}  // namespace
}  // namespace evc::edge
