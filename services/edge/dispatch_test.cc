#include "services/edge/dispatch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "evc/central/v1/central.pb.h"
#include "evc/proto_files.h"
#include "services/edge/http_status.h"

namespace evc::edge {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using ::testing::HasSubstr;

// The edge's own refusals answer as the status table says: the HTTP status
// of the body's code (or of the HTTP-only row), never one chosen by hand.
void ExpectFromTheTable(const Reply& reply, http::status status, grpc::StatusCode code, absl::string_view what) {
  EXPECT_EQ(reply.status, status) << what << ": " << reply.body;
  EXPECT_EQ(reply.content_type, "application/json") << what;
  auto body = nlohmann::json::parse(reply.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << what << ": " << reply.body;
  EXPECT_EQ(body["code"], static_cast<int>(code)) << what;
  EXPECT_EQ(body["status"], std::string(GrpcCodeName(code))) << what;
  EXPECT_TRUE(body["details"].is_array()) << what;
}

TEST(RequestTargetTest, OriginFormIsSplitOnce) {
  auto t = ParseRequestTarget("/v1/tickets?limit=3&x=?");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->path, "/v1/tickets");
  EXPECT_EQ(t->query, "limit=3&x=?");
  auto root = ParseRequestTarget("/");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->path, "/");
  EXPECT_EQ(root->query, "");
}

TEST(RequestTargetTest, AnythingElseIsRefusedSayingWhatToSend) {
  auto message = [](absl::string_view target) {
    auto t = ParseRequestTarget(target);
    EXPECT_FALSE(t.ok()) << target;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << target;
    return std::string(t.status().message());
  };
  EXPECT_THAT(message("?x"), HasSubstr("must start with '/'"));  // issue 15, point 1
  EXPECT_THAT(message("?"), HasSubstr("must start with '/'"));
  EXPECT_THAT(message("x"), HasSubstr("must start with '/'"));
  EXPECT_THAT(message(""), HasSubstr("empty request target"));
  EXPECT_THAT(message("*"), HasSubstr("asterisk-form"));
  EXPECT_THAT(message("http://127.0.0.1/healthz"), HasSubstr("absolute-form"));
  EXPECT_THAT(message("/app#top"), HasSubstr("fragment"));
  EXPECT_THAT(message("/app/%zz"), HasSubstr("bad %-escape"));
  EXPECT_THAT(message("/app/%4"), HasSubstr("bad %-escape"));
  // Echoed targets are bounded.
  EXPECT_LT(message(std::string(10000, 'x')).size(), 300u);
}

TEST(StaticFilePathTest, StaysUnderTheWebRoot) {
  EXPECT_EQ(*StaticFilePath("/app/"), "app/index.html");
  EXPECT_EQ(*StaticFilePath("/app/main%2Ejs"), "app/main.js");
  for (const char* bad : {"/../etc/passwd", "/app/%2e%2e/%2e%2e/etc/passwd", "//etc/passwd", "/app/%00.html",
                          "/app/..%5c..%5cetc", "", "x", "/app/%zz"}) {
    auto file = StaticFilePath(bad);
    ASSERT_FALSE(file.ok()) << bad << " -> " << *file;
    EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound) << bad;
  }
}

// Feeds `bytes` to a parser with the edge's limits, as the edge does; the
// request as far as it got.
beast::error_code Parse(const EdgeConfig& config, const std::string& bytes, HttpRequest* partial = nullptr) {
  http::request_parser<http::string_body> parser;
  ConfigureParser(config, parser);
  parser.eager(true);
  beast::error_code ec;
  parser.put(boost::asio::buffer(bytes), ec);
  if (partial != nullptr) *partial = parser.get();
  return ec;
}

TEST(ReadErrorReplyTest, OversizedHeadersAreRefusedByTheParserWith431Or414) {
  EdgeConfig config;
  const std::string big_field = "GET / HTTP/1.1\r\nX-Big: " + std::string(20 << 10, 'a') + "\r\n\r\n";
  HttpRequest partial;
  beast::error_code ec = Parse(config, big_field, &partial);
  ASSERT_EQ(ec, http::error::header_limit);
  std::optional<Reply> reply = ReadErrorReply(config, ec, partial);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, http::status::request_header_fields_too_large);
  EXPECT_THAT(reply->body, HasSubstr("header fields larger than 16384 bytes"));
  EXPECT_TRUE(reply->close);

  const std::string long_line = "GET /" + std::string(64 << 10, 'a') + " HTTP/1.1\r\n\r\n";
  ec = Parse(config, long_line, &partial);
  ASSERT_EQ(ec, http::error::header_limit);
  reply = ReadErrorReply(config, ec, partial);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, http::status::uri_too_long);
  EXPECT_THAT(reply->body, HasSubstr("request line longer than"));

  // Within the limit: parsed.
  EXPECT_FALSE(Parse(config, "GET / HTTP/1.1\r\nX-Ok: " + std::string(8 << 10, 'a') + "\r\n\r\n"));
}

TEST(ReadErrorReplyTest, EveryOtherFailureIsA4xxOrAClose) {
  EdgeConfig config;
  config.max_body_bytes = 10;
  EXPECT_EQ(ReadErrorReply(config, http::error::body_limit, HttpRequest())->status, http::status::payload_too_large);
  EXPECT_EQ(ReadErrorReply(config, Parse(config, "\x16\x03\x01garbage\r\n\r\n"), HttpRequest())->status,
            http::status::bad_request);
  EXPECT_FALSE(ReadErrorReply(config, http::error::end_of_stream, HttpRequest()));
  EXPECT_FALSE(ReadErrorReply(config, beast::error::timeout, HttpRequest()));
}

TEST(ReadErrorReplyTest, EveryReadFailureIsARowOfTheStatusTable) {
  EdgeConfig config;
  HttpRequest partial;
  beast::error_code ec = Parse(config, "GET /" + std::string(64 << 10, 'a') + " HTTP/1.1\r\n\r\n", &partial);
  // Request line, headers and body over their limits: what gRPC answers a
  // message or metadata over its limits (was INVALID_ARGUMENT).
  ExpectFromTheTable(*ReadErrorReply(config, ec, partial), http::status::uri_too_long,
                     grpc::StatusCode::RESOURCE_EXHAUSTED, "a long request line");
  ec = Parse(config, "GET / HTTP/1.1\r\nX-Big: " + std::string(20 << 10, 'a') + "\r\n\r\n", &partial);
  ExpectFromTheTable(*ReadErrorReply(config, ec, partial), http::status::request_header_fields_too_large,
                     grpc::StatusCode::RESOURCE_EXHAUSTED, "large headers");
  ExpectFromTheTable(*ReadErrorReply(config, http::error::body_limit, HttpRequest()), http::status::payload_too_large,
                     grpc::StatusCode::RESOURCE_EXHAUSTED, "a large body");
  ExpectFromTheTable(*ReadErrorReply(config, Parse(config, "\x16\x03\x01garbage\r\n\r\n"), HttpRequest()),
                     http::status::bad_request, grpc::StatusCode::INVALID_ARGUMENT, "garbage");
}

TEST(ReadyReplyTest, ServingOrUnavailableFromTheTable) {
  Reply ready = ReadyReply({});
  EXPECT_EQ(ready.status, http::status::ok);
  EXPECT_EQ(ready.body, "{\"status\":\"SERVING\"}");
  Reply down = ReadyReply({"central", "weather"});
  ExpectFromTheTable(down, http::status::service_unavailable, grpc::StatusCode::UNAVAILABLE, "an upstream down");
  EXPECT_THAT(down.body, HasSubstr("cannot reach: central, weather"));
}

class PlanRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto table = ProjectRoutes();
    ASSERT_TRUE(table.ok()) << table.status();
    routes_ = std::move(*table);
    config_.allowed_origins = {"https://ops.example"};
  }

  Plan PlanOf(http::verb verb, const std::string& target, const HeaderList& headers = {}, std::string body = "") {
    HttpRequest req(verb, target, 11);
    req.set(http::field::host, "edge.example");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = std::move(body);
    req.prepare_payload();
    return PlanRequest(config_, routes_, docs_, req, "192.0.2.7");
  }

  EdgeConfig config_;
  RouteTable routes_;
  StaticDocuments docs_{"{\"openapi\":\"3.0.3\"}", "<html>api</html>"};
};

TEST_F(PlanRequestTest, ATargetWithoutAPathIsABadRequest) {
  for (const char* target : {"?x", "x", "*", "http://edge.example/healthz"}) {
    Plan plan = PlanOf(http::verb::get, target);
    EXPECT_EQ(plan.kind, Plan::Kind::kReply) << target;
    EXPECT_EQ(plan.reply.status, http::status::bad_request) << target;
    EXPECT_TRUE(plan.reply.close) << target;
  }
}

// Issue 15, point 6: a 9 KB token went to gRPC (8 KiB of metadata at most).
TEST_F(PlanRequestTest, AnOversizedTokenIsRefusedBeforeAnyUpstreamCall) {
  const std::string huge(9 << 10, 'a');
  for (const HeaderList& headers : {HeaderList{{"Authorization", "Bearer " + huge}},
                                    HeaderList{{"Cookie", std::string(kSessionCookie) + "=" + huge}}}) {
    Plan plan = PlanOf(http::verb::get, "/v1/charging-points", headers);
    EXPECT_EQ(plan.kind, Plan::Kind::kReply);
    EXPECT_EQ(plan.reply.status, http::status::unauthorized);
    EXPECT_THAT(plan.reply.body, HasSubstr("log in again"));
  }
  Plan ws = PlanOf(http::verb::get, "/v1/network:watch",
                   {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Version", "13"},
                    {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}, {"Authorization", "Bearer " + huge}});
  EXPECT_EQ(ws.kind, Plan::Kind::kReply);
  EXPECT_EQ(ws.reply.status, http::status::unauthorized);
  // A token of a sane size goes through.
  Plan fine = PlanOf(http::verb::get, "/v1/charging-points", {{"Authorization", "Bearer " + std::string(4096, 'a')}});
  EXPECT_EQ(fine.kind, Plan::Kind::kUnary);
  EXPECT_EQ(fine.metadata.bearer_token.size(), 4096u);
}

TEST_F(PlanRequestTest, ApiRequestsBecomeUpstreamCalls) {
  Plan plan = PlanOf(http::verb::get, "/v1/tickets?limit=3&cp_id=ALC-1", {{"Authorization", "Bearer tok"}});
  ASSERT_EQ(plan.kind, Plan::Kind::kUnary) << plan.reply.body;
  EXPECT_EQ(plan.route->grpc_path, "/evc.central.v1.CentralService/ListTickets");
  EXPECT_EQ(plan.metadata.bearer_token, "tok");
  EXPECT_EQ(plan.metadata.client_address, "192.0.2.7");
  central::v1::ListTicketsRequest request;
  ASSERT_TRUE(request.ParseFromString(plan.request_bytes));
  EXPECT_EQ(request.limit(), 3);
  EXPECT_EQ(request.cp_id(), "ALC-1");

  EXPECT_EQ(PlanOf(http::verb::get, "/v1/supplies/s-1:watch").kind, Plan::Kind::kNdjson);
  EXPECT_EQ(PlanOf(http::verb::get, "/v1/network:watch",
                   {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Version", "13"},
                    {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}})
                .kind,
            Plan::Kind::kWebSocket);
}

TEST_F(PlanRequestTest, RefusalsAre4xx) {
  EXPECT_EQ(PlanOf(http::verb::get, "/v1/nowhere").reply.status, http::status::not_found);
  EXPECT_EQ(PlanOf(http::verb::put, "/v1/charging-points").reply.status, http::status::method_not_allowed);
  EXPECT_EQ(PlanOf(http::verb::get, "/v1/tickets?limit=ten").reply.status, http::status::bad_request);
  EXPECT_EQ(PlanOf(http::verb::get, "/v1/registry/charging-points/%FF").reply.status, http::status::bad_request);
  EXPECT_EQ(PlanOf(http::verb::post, "/v1/auth/login", {{"Origin", "https://evil.example"}}, "{}").reply.status,
            http::status::forbidden);
  EXPECT_EQ(PlanOf(http::verb::post, "/healthz").reply.status, http::status::method_not_allowed);
  EXPECT_EQ(PlanOf(http::verb::get, "/app/%2e%2e/%2e%2e/etc/passwd").reply.status, http::status::not_found);
}

// The headers of a WebSocket handshake, plus `more`.
HeaderList Upgrade(HeaderList more = {}) {
  HeaderList headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Version", "13"},
                        {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}};
  headers.insert(headers.end(), more.begin(), more.end());
  return headers;
}

TEST_F(PlanRequestTest, EveryRefusalIsARowOfTheStatusTable) {
  using Code = grpc::StatusCode;
  const std::pair<std::string, std::string> huge_token = {"Authorization", "Bearer " + std::string(9 << 10, 'a')};
  const std::pair<std::string, std::string> evil = {"Origin", "https://evil.example"};
  struct Case {
    const char* what;
    Plan plan;
    http::status status;
    Code code;
  };
  const Case cases[] = {
      {"a target without a path", PlanOf(http::verb::get, "?x"), http::status::bad_request, Code::INVALID_ARGUMENT},
      {"an API call from a foreign origin", PlanOf(http::verb::post, "/v1/auth/login", {evil}, "{}"),
       http::status::forbidden, Code::PERMISSION_DENIED},
      {"no route", PlanOf(http::verb::get, "/v1/nowhere"), http::status::not_found, Code::NOT_FOUND},
      {"a route without that method", PlanOf(http::verb::put, "/v1/charging-points"),
       http::status::method_not_allowed, Code::UNIMPLEMENTED},
      {"a bad query parameter", PlanOf(http::verb::get, "/v1/tickets?limit=ten"), http::status::bad_request,
       Code::INVALID_ARGUMENT},
      {"an oversized token", PlanOf(http::verb::get, "/v1/charging-points", {huge_token}), http::status::unauthorized,
       Code::UNAUTHENTICATED},
      {"a WebSocket from a foreign origin", PlanOf(http::verb::get, "/v1/network:watch", Upgrade({evil})),
       http::status::forbidden, Code::PERMISSION_DENIED},
      {"a WebSocket to no stream", PlanOf(http::verb::get, "/v1/charging-points", Upgrade()), http::status::not_found,
       Code::NOT_FOUND},
      {"a WebSocket with a bad query parameter", PlanOf(http::verb::get, "/v1/network:watch?colour=red", Upgrade()),
       http::status::bad_request, Code::INVALID_ARGUMENT},
      {"a WebSocket with an oversized token", PlanOf(http::verb::get, "/v1/network:watch", Upgrade({huge_token})),
       http::status::unauthorized, Code::UNAUTHENTICATED},
      {"a preflight from a foreign origin", PlanOf(http::verb::options, "/v1/auth/login", {evil}),
       http::status::forbidden, Code::PERMISSION_DENIED},
      {"a page written to", PlanOf(http::verb::post, "/healthz"), http::status::method_not_allowed,
       Code::UNIMPLEMENTED},
      {"a page outside the web root", PlanOf(http::verb::get, "/app/%2e%2e/%2e%2e/etc/passwd"),
       http::status::not_found, Code::NOT_FOUND},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.plan.kind, Plan::Kind::kReply) << c.what;
    ExpectFromTheTable(c.plan.reply, c.status, c.code, c.what);
  }
}

TEST_F(PlanRequestTest, FixedPagesStaticFilesAndCors) {
  Plan health = PlanOf(http::verb::get, "/healthz");
  EXPECT_EQ(health.reply.status, http::status::ok);
  EXPECT_EQ(health.reply.body, "{\"status\":\"SERVING\"}");
  EXPECT_EQ(PlanOf(http::verb::get, "/readyz").kind, Plan::Kind::kReady);
  EXPECT_EQ(PlanOf(http::verb::get, "/openapi.json").reply.body, docs_.openapi_json);
  Plan app = PlanOf(http::verb::get, "/app/?x=1");
  EXPECT_EQ(app.kind, Plan::Kind::kStaticFile);
  EXPECT_EQ(app.file, "app/index.html");
  Plan preflight = PlanOf(http::verb::options, "/v1/auth/login", {{"Origin", "https://ops.example"}});
  EXPECT_EQ(preflight.reply.status, http::status::no_content);
  EXPECT_THAT(preflight.cors, ::testing::Contains(std::pair<std::string, std::string>(
                                  "Access-Control-Allow-Origin", "https://ops.example")));
}

}  // namespace
}  // namespace evc::edge
