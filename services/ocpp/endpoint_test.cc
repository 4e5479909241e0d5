#include "services/ocpp/endpoint.h"

#include <gtest/gtest.h>

#include <vector>

#include "absl/strings/str_cat.h"

namespace evc::ocpp {
namespace {

using nlohmann::json;

class EchoHandler : public RpcHandler {
 public:
  std::variant<json, RpcError> OnCall(const std::string& action, const json& payload) override {
    calls.push_back(action);
    if (action == "Heartbeat") return json{{"currentTime", "2026-12-06T22:00:00.000Z"}};
    if (action == "DataTransfer") return json{{"status", "Wrong"}};  // does not conform
    return RpcError{errc::kNotSupported, action + " is not supported"};
  }
  bool OnCallLater(const std::string& action, const json&, Reply& reply) override {
    if (action != "Authorize") return false;
    later.push_back(std::move(reply));
    return true;
  }
  std::vector<std::string> calls;
  std::vector<Reply> later;
};

class EndpointTest : public ::testing::Test {
 protected:
  EndpointTest()
      : endpoint_(Schemas::Ocpp16(), handler_, [this](std::string t) { sent_.push_back(json::parse(t)); },
                  EndpointOptions{.call_timeout = absl::Seconds(5), .max_queued_calls = 2}) {}

  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  EchoHandler handler_;
  std::vector<json> sent_;
  RpcEndpoint endpoint_;
};

TEST_F(EndpointTest, AnswersConformingCall) {
  endpoint_.OnMessage(R"([2,"h1","Heartbeat",{}])", now_);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0][0], 3);
  EXPECT_EQ(sent_[0][1], "h1");
  EXPECT_TRUE(sent_[0][2].contains("currentTime"));
}

TEST_F(EndpointTest, SchemaViolationNeverReachesTheHandler) {
  endpoint_.OnMessage(R"([2,"b1","BootNotification",{"chargePointVendor":"V"}])", now_);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0], json::parse(sent_[0].dump()));
  EXPECT_EQ(sent_[0][0], 4);
  EXPECT_EQ(sent_[0][1], "b1");
  EXPECT_EQ(sent_[0][2], errc::kOccurenceConstraintViolation);
  EXPECT_TRUE(sent_[0][4].is_object());
  EXPECT_TRUE(handler_.calls.empty());
}

TEST_F(EndpointTest, UnknownActionIsNotImplemented) {
  endpoint_.OnMessage(R"([2,"u1","SelfDestruct",{}])", now_);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0][2], errc::kNotImplemented);
}

TEST_F(EndpointTest, HandlerRefusalAndNonConformingAnswer) {
  endpoint_.OnMessage(R"([2,"r1","Reset",{"type":"Soft"}])", now_);
  endpoint_.OnMessage(R"([2,"d1","DataTransfer",{"vendorId":"x"}])", now_);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[0][2], errc::kNotSupported);
  EXPECT_EQ(sent_[1][2], errc::kInternalError);
}

TEST_F(EndpointTest, AnswersGivenLaterGoBackWithTheirCallsIdsAndAreCheckedToo) {
  endpoint_.OnMessage(R"([2,"a1","Authorize",{"idTag":"T1"}])", now_);
  endpoint_.OnMessage(R"([2,"a2","Authorize",{"idTag":"T2"}])", now_);
  endpoint_.OnMessage(R"([2,"h1","Heartbeat",{}])", now_);
  ASSERT_EQ(sent_.size(), 1u) << "the Heartbeat is not held up by the Authorizes";
  ASSERT_EQ(handler_.later.size(), 2u);
  EXPECT_EQ(handler_.calls, std::vector<std::string>{"Heartbeat"}) << "OnCall is not asked for what is answered later";
  handler_.later[1](json{{"idTagInfo", {{"status", "Accepted"}}}});
  handler_.later[0](json{{"idTagInfo", {{"status", "Maybe"}}}});  // does not conform
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_EQ(sent_[1], json::parse(R"([3,"a2",{"idTagInfo":{"status":"Accepted"}}])"));
  EXPECT_EQ(sent_[2][0], 4);
  EXPECT_EQ(sent_[2][1], "a1");
  EXPECT_EQ(sent_[2][2], errc::kInternalError);
}

TEST_F(EndpointTest, GarbageGetsFormationViolationWithMinusOne) {
  endpoint_.OnMessage("\x01\x02 not json", now_);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0], json::parse(R"([4,"-1","FormationViolation","message is not valid JSON",{}])"));
}

TEST_F(EndpointTest, OutgoingCallsOneAtATime) {
  std::vector<std::string> results;
  auto record = [&](absl::StatusOr<json> r) { results.push_back(r.ok() ? r->dump() : r.status().ToString()); };
  ASSERT_TRUE(endpoint_.Call("RemoteStopTransaction", json{{"transactionId", 5}}, record, now_).ok());
  ASSERT_TRUE(endpoint_.Call("Reset", json{{"type", "Hard"}}, record, now_).ok());
  ASSERT_EQ(sent_.size(), 1u);  // the second waits
  EXPECT_EQ(sent_[0][0], 2);
  EXPECT_EQ(sent_[0][2], "RemoteStopTransaction");
  const std::string first = sent_[0][1];
  endpoint_.OnMessage(R"([3,"not-it",{"status":"Accepted"}])", now_);  // ignored
  EXPECT_TRUE(results.empty());
  endpoint_.OnMessage(absl::StrCat(R"([3,")", first, R"(",{"status":"Accepted"}])"), now_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0], R"({"status":"Accepted"})");
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1][2], "Reset");
  const std::string second = sent_[1][1];
  endpoint_.OnMessage(absl::StrCat(R"([4,")", second, R"(","NotSupported","no resets here",{}])"), now_);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_NE(results[1].find("UNIMPLEMENTED"), std::string::npos) << results[1];
  EXPECT_NE(results[1].find("no resets here"), std::string::npos);
}

TEST_F(EndpointTest, TimeoutQueueBoundAndClose) {
  std::vector<absl::StatusCode> codes;
  auto record = [&](absl::StatusOr<json> r) { codes.push_back(r.status().code()); };
  ASSERT_TRUE(endpoint_.Call("Reset", json{{"type", "Soft"}}, record, now_).ok());
  ASSERT_TRUE(endpoint_.Call("Reset", json{{"type", "Soft"}}, record, now_).ok());
  ASSERT_TRUE(endpoint_.Call("Reset", json{{"type", "Soft"}}, record, now_).ok());
  EXPECT_EQ(endpoint_.Call("Reset", json{{"type", "Soft"}}, record, now_).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(endpoint_.Call("Reset", json{{"type", "Warm"}}, record, now_).code(), absl::StatusCode::kInvalidArgument);
  endpoint_.Tick(now_ + absl::Seconds(4));
  EXPECT_TRUE(codes.empty());
  endpoint_.Tick(now_ + absl::Seconds(5));
  ASSERT_EQ(codes.size(), 1u);
  EXPECT_EQ(codes[0], absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(sent_.size(), 2u);  // the next one went out
  // A non-conforming answer is refused.
  endpoint_.OnMessage(absl::StrCat(R"([3,")", sent_[1][1].get<std::string>(), R"(",{"status":"Maybe"}])"), now_);
  ASSERT_EQ(codes.size(), 2u);
  EXPECT_EQ(codes[1], absl::StatusCode::kInvalidArgument);
  endpoint_.Close();
  ASSERT_EQ(codes.size(), 3u);
  EXPECT_EQ(codes[2], absl::StatusCode::kUnavailable);
  EXPECT_EQ(endpoint_.Call("Reset", json{{"type", "Soft"}}, record, now_).code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace evc::ocpp
