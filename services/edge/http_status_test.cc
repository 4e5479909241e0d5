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

}  // namespace
}  // namespace evc::edge
