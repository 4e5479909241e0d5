// The edge's HTTP server in-process, in front of fake gRPC services: REST
// errors, streams over NDJSON and WebSocket, cookies, origins, slow clients.

#include "services/edge/http_server.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <grpcpp/alarm.h>
#include <fstream>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_split.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "evc/auth/v1/auth.grpc.pb.h"
#include "evc/central/v1/central.grpc.pb.h"
#include "evc/proto_files.h"
#include "services/common/grpc_server.h"
#include "services/edge/openapi.h"
#include "services/edge/test_http_client.h"

namespace evc::edge {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using ::testing::HasSubstr;

std::string BearerOf(grpc::CallbackServerContext* c) {
  auto it = c->client_metadata().find("authorization");
  return it == c->client_metadata().end() ? "" : std::string(it->second.data(), it->second.size());
}

// Writes `count` updates (each naming its index), pausing 2 ms after every
// `burst` of them: a steady feed that a reading client keeps up with. With a
// `pace`, it also keeps at most `pace->window` updates ahead of what the pacing
// client has read, whatever the machine's speed; if that client stops advancing
// for `pace->patience`, the stream ends in DEADLINE_EXCEEDED rather than hanging.
struct Pace {
  std::atomic<int> read{0};
  int window = 64;
  absl::Duration patience = absl::Seconds(30);
};

class UpdateWriter : public grpc::ServerWriteReactor<central::v1::NetworkUpdate> {
 public:
  UpdateWriter(int count, size_t padding, int burst, const Pace* pace) : count_(count), burst_(burst), pace_(pace) {
    update_.mutable_message()->set_text(std::string(padding, 'x'));
    Next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::CANCELLED);
    if (burst_ > 0 && sent_ % burst_ == 0) return After(absl::Milliseconds(2));
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void After(absl::Duration pause) {
    pause_.Set(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(pause), [this](bool) { Next(); });
  }
  void Next() {
    if (sent_ == count_) return Finish(grpc::Status::OK);
    if (pace_ != nullptr && sent_ >= pace_->read.load() + pace_->window) {
      if (absl::Now() - gated_since_ > pace_->patience) {
        return Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "the pacing reader stopped advancing"));
      }
      return After(absl::Milliseconds(1));
    }
    gated_since_ = absl::Now();
    update_.mutable_message()->set_cp_id("cp-" + std::to_string(sent_++));
    StartWrite(&update_);
  }
  const int count_;
  const int burst_;
  const Pace* const pace_;
  int sent_ = 0;
  absl::Time gated_since_ = absl::Now();
  grpc::Alarm pause_;
  central::v1::NetworkUpdate update_;
};

// One snapshot, then nothing until the client leaves: a network stream that
// stays open while others join it.
class SnapshotThenHold : public grpc::ServerWriteReactor<central::v1::NetworkUpdate> {
 public:
  SnapshotThenHold() {
    snapshot_.mutable_snapshot()->add_charging_points()->mutable_charging_point()->set_cp_id("ALC-001");
    StartWrite(&snapshot_);
  }
  void OnCancel() override { Finish(grpc::Status::CANCELLED); }
  void OnDone() override { delete this; }

 private:
  central::v1::NetworkUpdate snapshot_;
};

class FakeCentral : public central::v1::CentralService::CallbackService {
 public:
  int updates = 3;
  size_t padding = 10;
  int burst = 0;  // 0: no pauses
  bool paced = false;  // the feed keeps pace with the reader that counts in `pace`
  Pace pace;
  bool hold_network_open = false;  // SnapshotThenHold instead of `updates`
  std::atomic<int> watch_calls{0};

  grpc::ServerUnaryReactor* ListChargingPoints(grpc::CallbackServerContext* c, const central::v1::ListChargingPointsRequest*,
                                               central::v1::ListChargingPointsResponse* resp) override {
    auto* cp = resp->add_charging_points();
    cp->mutable_charging_point()->set_cp_id("ALC-001");
    cp->set_state(common::v1::CP_STATE_ACTIVE);
    auto* r = c->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
  // Echoes the caller's credentials as the driver, or fails for "missing".
  grpc::ServerUnaryReactor* GetSupply(grpc::CallbackServerContext* c, const central::v1::GetSupplyRequest* req,
                                      central::v1::SupplyView* resp) override {
    auto* r = c->DefaultReactor();
    if (req->supply_id() == "missing") {
      r->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "no supply missing"));
      return r;
    }
    // Sent as it is (protobuf only logs it), refused by any reader.
    resp->mutable_supply()->set_supply_id(req->supply_id() == "unreadable" ? "\xff" : req->supply_id());
    resp->mutable_supply()->set_driver_id(BearerOf(c));
    r->Finish(grpc::Status::OK);
    return r;
  }
  grpc::ServerWriteReactor<central::v1::NetworkUpdate>* WatchNetwork(grpc::CallbackServerContext*,
                                                                    const central::v1::WatchNetworkRequest*) override {
    ++watch_calls;
    if (hold_network_open) return new SnapshotThenHold;
    return new UpdateWriter(updates, padding, burst, paced ? &pace : nullptr);
  }
  // Sends "unreadable" one message no reader accepts; refuses any other.
  grpc::ServerWriteReactor<central::v1::SupplyView>* WatchSupply(grpc::CallbackServerContext*,
                                                                const central::v1::WatchSupplyRequest* req) override {
    struct Refuse : grpc::ServerWriteReactor<central::v1::SupplyView> {
      Refuse() { Finish(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "supply s-9 is not yours")); }
      void OnDone() override { delete this; }
    };
    struct Unreadable : grpc::ServerWriteReactor<central::v1::SupplyView> {
      Unreadable() {
        view_.mutable_supply()->set_supply_id("\xff");
        StartWriteAndFinish(&view_, grpc::WriteOptions(), grpc::Status::OK);
      }
      void OnDone() override { delete this; }
      central::v1::SupplyView view_;
    };
    if (req->supply_id() == "unreadable") return new Unreadable;
    return new Refuse;
  }
};

class FakeAuth : public auth::v1::AuthService::CallbackService {
  grpc::ServerUnaryReactor* Login(grpc::CallbackServerContext* c, const auth::v1::LoginRequest* req,
                                  auth::v1::TokenPair* resp) override {
    resp->set_access_token("tok-" + req->username());
    resp->mutable_access_expires_at()->set_seconds(absl::ToUnixSeconds(absl::Now()) + 900);
    auto* r = c->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
  grpc::ServerUnaryReactor* Logout(grpc::CallbackServerContext* c, const auth::v1::LogoutRequest*,
                                   auth::v1::LogoutResponse*) override {
    auto* r = c->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
};

using testing::HttpReply;
using Reply = HttpReply;

class EdgeServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TlsConfig plain;
    host_ = std::make_unique<ServiceHost>("fakes", "127.0.0.1:0", &plain);
    host_->AddService(&central_);
    host_->AddService(&auth_);
    ASSERT_TRUE(host_->Start().ok());
    auto services = LinkedServices(proto::ServiceProtoFiles());
    ASSERT_TRUE(services.ok());
    auto routes = RouteTable::Build(*services);
    ASSERT_TRUE(routes.ok());
    routes_ = std::make_unique<RouteTable>(std::move(*routes));
    upstreams_ = std::make_unique<Upstreams>(absl::Seconds(5));
    const std::string target = "127.0.0.1:" + std::to_string(host_->port());
    upstreams_->Add("central", target);
    upstreams_->Add("auth", target);  // registry deliberately absent

    web_root_ = std::filesystem::temp_directory_path() / ("evc-web-" + std::to_string(::getpid()));
    std::filesystem::create_directories(web_root_ / "app");
    std::ofstream(web_root_ / "app" / "index.html") << "<h1>driver app</h1>";
    std::ofstream(web_root_.parent_path() / "evc-secret.txt") << "secret";
  }

  void StartEdge(size_t stream_queue_limit = 4096) {
    EdgeConfig config;
    config.listen = "127.0.0.1:0";
    config.max_body_bytes = 4096;
    config.stream_queue_limit = stream_queue_limit;
    config.web_root = web_root_.string();
    config.allowed_origins = {"http://ops.example"};
    edge_ = std::make_unique<EdgeServer>(config, *routes_, *upstreams_,
                                         StaticDocuments{OpenApiDocument(*routes_, "t").dump(), "<html>api</html>"});
    ASSERT_TRUE(edge_->Start().ok());
  }

  void TearDown() override {
    if (edge_) edge_->Stop();
    host_->Shutdown(absl::Seconds(1));
    std::filesystem::remove_all(web_root_);
  }

  std::string Host() const { return "127.0.0.1:" + std::to_string(edge_->port()); }

  Reply Call(http::verb verb, const std::string& target, const std::string& body = "",
             testing::Headers headers = {}) {
    return testing::HttpCall(edge_->port(), verb, target, body, headers);
  }

  std::unique_ptr<testing::WebSocket> OpenWebSocket(net::io_context& ioc, const std::string& target,
                                                    const std::string& origin = "") {
    testing::Headers headers;
    if (!origin.empty()) headers.push_back({"Origin", origin});
    return testing::OpenWebSocket(ioc, edge_->port(), target, headers);
  }

  FakeCentral central_;
  FakeAuth auth_;
  std::unique_ptr<ServiceHost> host_;
  std::unique_ptr<RouteTable> routes_;
  std::unique_ptr<Upstreams> upstreams_;
  std::unique_ptr<EdgeServer> edge_;
  std::filesystem::path web_root_;
};

TEST_F(EdgeServerTest, UnaryReadAsJson) {
  StartEdge();
  Reply r = Call(http::verb::get, "/v1/charging-points");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.raw[http::field::content_type], "application/json");
  EXPECT_EQ(r.json()["chargingPoints"][0]["chargingPoint"]["cpId"], "ALC-001");
  EXPECT_EQ(r.json()["chargingPoints"][0]["state"], "CP_STATE_ACTIVE");
}

TEST_F(EdgeServerTest, ClientErrorsAreClear4xxWithAStatusBody) {
  StartEdge();
  Reply unknown = Call(http::verb::get, "/v1/nowhere");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.json()["status"], "NOT_FOUND");
  EXPECT_THAT(unknown.json()["message"].get<std::string>(), HasSubstr("/openapi.json"));

  Reply wrong = Call(http::verb::delete_, "/v1/charging-points");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.raw["Allow"], "GET");
  EXPECT_EQ(wrong.json()["status"], "UNIMPLEMENTED");

  Reply bad_json = Call(http::verb::post, "/v1/charging-points/A:charge", "{oops");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(bad_json.json()["code"], 3);

  Reply unknown_field = Call(http::verb::post, "/v1/charging-points/A:charge", R"({"colour":"red"})");
  EXPECT_EQ(unknown_field.status, 400);
  EXPECT_THAT(unknown_field.body, HasSubstr("colour"));

  Reply wrong_type = Call(http::verb::post, "/v1/charging-points:stopAll", R"({"all":"maybe"})");
  EXPECT_EQ(wrong_type.status, 400);

  Reply too_big = Call(http::verb::post, "/v1/charging-points/A:charge", std::string(10000, ' '));
  EXPECT_EQ(too_big.status, 413);
  EXPECT_THAT(too_big.body, HasSubstr("4096 bytes"));
  EXPECT_EQ(too_big.json()["status"], "RESOURCE_EXHAUSTED");

  Reply bad_query = Call(http::verb::get, "/v1/tickets?limit=lots");
  EXPECT_EQ(bad_query.status, 400);
}

TEST_F(EdgeServerTest, UpstreamStatusesMapThroughTheTable) {
  StartEdge();
  Reply missing = Call(http::verb::get, "/v1/supplies/missing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json()["message"], "no supply missing");

  Reply no_registry = Call(http::verb::get, "/v1/registry/charging-points");
  EXPECT_EQ(no_registry.status, 503);
  EXPECT_THAT(no_registry.body, HasSubstr("registry service is not configured"));
}

// An upstream answer the edge cannot read is the upstream's fault: 502, with
// the INTERNAL a gRPC client would get for it.
TEST_F(EdgeServerTest, AnUnreadableUpstreamAnswerIsABadGateway) {
  StartEdge();
  Reply r = Call(http::verb::get, "/v1/supplies/unreadable");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.json()["status"], "INTERNAL");
  EXPECT_THAT(r.json()["message"].get<std::string>(), HasSubstr("does not parse"));
}

TEST_F(EdgeServerTest, TokensTravelFromHeaderOrCookieAndLoginSetsTheCookie) {
  StartEdge();
  Reply header = Call(http::verb::get, "/v1/supplies/s-1", "", {{"Authorization", "Bearer abc"}});
  EXPECT_EQ(header.json()["supply"]["driverId"], "Bearer abc");
  Reply cookie = Call(http::verb::get, "/v1/supplies/s-1", "", {{"Cookie", "x=1; evc_session=fromcookie"}});
  EXPECT_EQ(cookie.json()["supply"]["driverId"], "Bearer fromcookie");

  Reply login = Call(http::verb::post, "/v1/auth/login", R"({"username":"ana","password":"pw"})");
  ASSERT_EQ(login.status, 200) << login.body;
  std::string set_cookie(login.raw[http::field::set_cookie]);
  EXPECT_THAT(set_cookie, HasSubstr("evc_session=tok-ana"));
  EXPECT_THAT(set_cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(set_cookie, HasSubstr("SameSite=Strict"));
  Reply logout = Call(http::verb::post, "/v1/auth/logout", "{}", {{"Cookie", "evc_session=tok-ana"}});
  EXPECT_THAT(std::string(logout.raw[http::field::set_cookie]), HasSubstr("evc_session=; Max-Age=0"));
}

TEST_F(EdgeServerTest, OriginsAreCheckedForWritesAndCorsIsAnswered) {
  StartEdge();
  Reply evil = Call(http::verb::post, "/v1/auth/logout", "{}", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(evil.status, 403);
  Reply same = Call(http::verb::post, "/v1/auth/logout", "{}", {{"Origin", "http://" + Host()}});
  EXPECT_EQ(same.status, 200) << same.body;
  Reply cors = Call(http::verb::get, "/v1/charging-points", "", {{"Origin", "http://ops.example"}});
  EXPECT_EQ(cors.raw["Access-Control-Allow-Origin"], "http://ops.example");
  Reply preflight = Call(http::verb::options, "/v1/charging-points/A:charge", "",
                         {{"Origin", "http://ops.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_THAT(std::string(preflight.raw["Access-Control-Allow-Headers"]), HasSubstr("Authorization"));
}

TEST_F(EdgeServerTest, NdjsonStreamDeliversEveryMessageInOrder) {
  central_.updates = 50;
  StartEdge();
  Reply r = Call(http::verb::get, "/v1/network:watch");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.raw[http::field::content_type], "application/x-ndjson");
  std::istringstream lines(r.body);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["result"]["message"]["cpId"], "cp-" + std::to_string(n++));
  }
  EXPECT_EQ(n, 50);
}

TEST_F(EdgeServerTest, AStreamRefusedAtOnceIsAnHttpError) {
  StartEdge();
  Reply r = Call(http::verb::get, "/v1/supplies/s-9:watch");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.json()["message"], "supply s-9 is not yours");
  EXPECT_EQ(r.json()["status"], "PERMISSION_DENIED");
}

// As for a unary call (was: 499 CANCELLED, as if the client had left).
TEST_F(EdgeServerTest, AnUnreadableStreamMessageIsABadGateway) {
  StartEdge();
  Reply r = Call(http::verb::get, "/v1/supplies/unreadable:watch");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.json()["status"], "INTERNAL");
  EXPECT_THAT(r.json()["message"].get<std::string>(), HasSubstr("does not parse"));

  net::io_context ioc;
  auto ws = OpenWebSocket(ioc, "/v1/supplies/unreadable:watch");
  beast::flat_buffer frame;
  ws->read(frame);
  auto line = nlohmann::json::parse(beast::buffers_to_string(frame.data()));
  EXPECT_EQ(line["error"]["status"], "INTERNAL");
  beast::error_code ec;
  ws->read(frame, ec);
  EXPECT_EQ(ws->reason().code, 4502);
}

TEST_F(EdgeServerTest, WebSocketGetsOneMessagePerFrameInOrderThenACleanClose) {
  central_.updates = 20;
  StartEdge();
  net::io_context ioc;
  auto ws = OpenWebSocket(ioc, "/v1/network:watch", "http://" + Host());
  for (int i = 0; i < 20; ++i) {
    beast::flat_buffer frame;
    ws->read(frame);
    EXPECT_TRUE(ws->got_text());
    auto j = nlohmann::json::parse(beast::buffers_to_string(frame.data()));
    EXPECT_EQ(j["result"]["message"]["cpId"], "cp-" + std::to_string(i));
  }
  beast::flat_buffer end;
  beast::error_code ec;
  ws->read(end, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(ws->reason().code, websocket::close_code::normal);
}

// A client that offers evc.ndjson reads lines: what queued while a write was
// in flight comes in one message (a thousand watchers of a thousand live
// supplies would otherwise cost a write per update and watcher).
TEST_F(EdgeServerTest, AWebSocketClientOfferingNdjsonGetsWhatQueuedInOneMessage) {
  central_.updates = 2000;
  StartEdge();
  net::io_context ioc;
  testing::WebSocket ws(ioc);
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(edge_->port())));
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::request_type& req) { req.set(http::field::sec_websocket_protocol, "json, evc.ndjson"); }));
  websocket::response_type agreed;
  ws.handshake(agreed, Host(), "/v1/network:watch");
  EXPECT_EQ(agreed[http::field::sec_websocket_protocol], "evc.ndjson");
  absl::SleepFor(absl::Milliseconds(500));  // reads nothing meanwhile: lines queue at the edge
  int lines = 0;
  int messages = 0;
  beast::error_code ec;
  while (!ec) {
    beast::flat_buffer frame;
    ws.read(frame, ec);
    if (ec) break;
    ++messages;
    for (absl::string_view line : absl::StrSplit(beast::buffers_to_string(frame.data()), '\n')) {
      auto j = nlohmann::json::parse(line);
      ASSERT_EQ(j["result"]["message"]["cpId"], "cp-" + std::to_string(lines));
      ++lines;
    }
  }
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(lines, 2000);
  EXPECT_LT(messages, lines) << "nothing was coalesced";
}

// No offer, or only look-alikes and junk: no subprotocol, one document per message.
TEST_F(EdgeServerTest, AWebSocketClientOfferingNoSubprotocolGetsNone) {
  StartEdge();
  for (const char* offer : {"", "evc.ndjsonX, evc, EVC.NDJSON", ",, ,\t,evc.nd json", "x\x01y, ;;;"}) {
    net::io_context ioc;
    testing::WebSocket ws(ioc);
    ws.next_layer().connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(edge_->port())));
    if (*offer != '\0') {
      ws.set_option(websocket::stream_base::decorator(
          [offer](websocket::request_type& req) { req.set(http::field::sec_websocket_protocol, offer); }));
    }
    websocket::response_type agreed;
    beast::error_code ec;
    ws.handshake(agreed, Host(), "/v1/network:watch", ec);
    if (ec) continue;  // a header Beast itself refuses to send or accept: no upgrade at all
    EXPECT_EQ(agreed.count(http::field::sec_websocket_protocol), 0u) << offer;
    EXPECT_FALSE(testing::ReadFrame(ws).is_null()) << offer;
  }
}

TEST_F(EdgeServerTest, WebSocketErrorsCloseWithTheHttpStatusAsCode) {
  StartEdge();
  net::io_context ioc;
  auto ws = OpenWebSocket(ioc, "/v1/supplies/s-9:watch");
  beast::flat_buffer frame;
  ws->read(frame);
  EXPECT_THAT(beast::buffers_to_string(frame.data()), HasSubstr("\"error\""));
  beast::error_code ec;
  ws->read(frame, ec);
  EXPECT_EQ(ws->reason().code, 4403);
}

TEST_F(EdgeServerTest, WebSocketFromAForeignOriginIsRefused) {
  StartEdge();
  net::io_context ioc;
  EXPECT_THROW(OpenWebSocket(ioc, "/v1/network:watch", "http://evil.example"), beast::system_error);
}

// The feed keeps pace with the healthy reader (at most 64 updates ahead, well
// inside its queue of 256), so on any machine a healthy client is never too
// slow, while the one that never reads falls 3000 behind. Were the stalled
// client to hold up the fan-out, the healthy one would stop advancing and its
// stream would end short of 3000 (the feed's patience is 30 s).
TEST_F(EdgeServerTest, AStalledWebSocketClientIsDroppedWithoutDelayingOthers) {
  central_.updates = 3000;
  central_.padding = 8000;  // 24 MB per client: more than socket buffers hold
  central_.paced = true;
  StartEdge(/*stream_queue_limit=*/256);
  net::io_context ioc;
  auto stalled = OpenWebSocket(ioc, "/v1/network:watch");  // never reads
  auto fast = OpenWebSocket(ioc, "/v1/network:watch");
  int received = 0;
  for (;;) {
    beast::flat_buffer frame;
    beast::error_code ec;
    fast->read(frame, ec);
    if (ec) break;
    auto j = nlohmann::json::parse(beast::buffers_to_string(frame.data()));
    ASSERT_EQ(j["result"]["message"]["cpId"], "cp-" + std::to_string(received));
    central_.pace.read = ++received;
  }
  EXPECT_EQ(received, 3000);
  // The stalled one was cut: reading what is buffered ends in an error, not in 3000 frames.
  int stalled_frames = 0;
  for (;;) {
    beast::flat_buffer frame;
    beast::error_code ec;
    stalled->read(frame, ec);
    if (ec) break;
    ++stalled_frames;
  }
  EXPECT_LT(stalled_frames, 3000);
}

// Issue 19: anonymous watchers of the same stream cost central one call; a
// joiner starts from the snapshot, as on a call of its own.
TEST_F(EdgeServerTest, AnonymousWatchersShareOneUpstreamCall) {
  central_.hold_network_open = true;
  StartEdge();
  net::io_context ioc;
  auto first = OpenWebSocket(ioc, "/v1/network:watch");
  nlohmann::json opening = testing::ReadFrame(*first);
  EXPECT_EQ(opening["result"]["snapshot"]["chargingPoints"][0]["chargingPoint"]["cpId"], "ALC-001");
  std::vector<std::unique_ptr<testing::WebSocket>> joiners;
  for (int i = 0; i < 3; ++i) {
    joiners.push_back(OpenWebSocket(ioc, "/v1/network:watch"));
    EXPECT_EQ(testing::ReadFrame(*joiners.back()), opening);
  }
  EXPECT_EQ(central_.watch_calls.load(), 1);
  // With a token: a call of its own.
  auto own = testing::OpenWebSocket(ioc, edge_->port(), "/v1/network:watch", {{"Authorization", "Bearer tok"}});
  EXPECT_EQ(testing::ReadFrame(*own), opening);
  EXPECT_EQ(central_.watch_calls.load(), 2);
}

// A client too slow for its queue is told why with a close frame (1013: try
// again later, which the web apps answer by reconnecting), not just cut;
// the same when the edge coalesces its lines (evc.ndjson), whose write in
// flight carries several queued lines.
class TooSlowClientTest : public EdgeServerTest, public ::testing::WithParamInterface<testing::Headers> {};

TEST_P(TooSlowClientTest, GetsACloseFrameSayingSo) {
  central_.updates = 3000;
  central_.padding = 8000;  // 24 MB: more than socket buffers hold
  central_.burst = 4;
  StartEdge(/*stream_queue_limit=*/16);
  net::io_context ioc;
  auto slow = testing::OpenWebSocket(ioc, edge_->port(), "/v1/network:watch", GetParam());
  absl::SleepFor(absl::Seconds(2));  // reads nothing meanwhile: dropped
  int frames = 0;
  beast::error_code ec;
  while (!ec) {
    beast::flat_buffer frame;
    slow->read(frame, ec);
    if (!ec) ++frames;
  }
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_EQ(slow->reason().code, websocket::close_code::try_again_later);
  EXPECT_THAT(std::string(slow->reason().reason.c_str()), HasSubstr("too slow"));
  EXPECT_LT(frames, 3000);
  // And the edge lives on.
  auto next = OpenWebSocket(ioc, "/v1/network:watch");
  EXPECT_FALSE(testing::ReadFrame(*next).is_null());
}

INSTANTIATE_TEST_SUITE_P(OneLinePerMessageOrCoalesced, TooSlowClientTest,
                         ::testing::Values(testing::Headers{},
                                           testing::Headers{{"Sec-WebSocket-Protocol", "evc.ndjson"}}));

TEST_F(EdgeServerTest, ServesTheAppsDocsAndNoFileOutsideTheWebRoot) {
  StartEdge();
  EXPECT_EQ(Call(http::verb::get, "/").raw[http::field::location], "/app/");
  Reply app = Call(http::verb::get, "/app/");
  EXPECT_EQ(app.status, 200);
  EXPECT_EQ(app.body, "<h1>driver app</h1>");
  EXPECT_THAT(std::string(app.raw["Content-Security-Policy"]), HasSubstr("default-src 'self'"));
  EXPECT_EQ(Call(http::verb::get, "/app/../../evc-secret.txt").status, 404);
  EXPECT_EQ(Call(http::verb::get, "/app/%2e%2e/%2e%2e/evc-secret.txt").status, 404);
  EXPECT_EQ(Call(http::verb::get, "/openapi.json").json()["openapi"], "3.0.3");
  EXPECT_EQ(Call(http::verb::get, "/healthz").status, 200);
}

// Issue 15, point 1: "GET ?x" reached the static files with an empty path
// and std::out_of_range ended the process.
TEST_F(EdgeServerTest, HostileTargetsAndHeadersAreRefusedAndTheServerLives) {
  StartEdge();
  const std::string host = "Host: " + Host() + "\r\n";
  for (const char* target : {"?x", "x", "*", "http://127.0.0.1/healthz", "/%zz"}) {
    testing::RawReply r = testing::SendRaw(edge_->port(), absl::StrCat("GET ", target, " HTTP/1.1\r\n", host, "\r\n"));
    EXPECT_EQ(r.status, 400) << target << ": " << r.Describe();
    EXPECT_EQ(Call(http::verb::get, "/healthz").status, 200) << "after " << target;
  }
  testing::RawReply fields = testing::SendRaw(
      edge_->port(), "GET /healthz HTTP/1.1\r\n" + host + "X-Big: " + std::string(100 << 10, 'a') + "\r\n\r\n");
  EXPECT_EQ(fields.status, 431) << fields.Describe();
  testing::RawReply line =
      testing::SendRaw(edge_->port(), "GET /" + std::string(64 << 10, 'a') + " HTTP/1.1\r\n" + host + "\r\n");
  EXPECT_EQ(line.status, 414) << line.Describe();
  // Issue 15, point 6: refused here, never sent upstream.
  Reply token = Call(http::verb::get, "/v1/charging-points", "", {{"Authorization", "Bearer " + std::string(9 << 10, 'a')}});
  EXPECT_EQ(token.status, 401) << token.body;
  EXPECT_EQ(Call(http::verb::get, "/healthz").status, 200);
}

// Nothing the edge reads comes from client messages: a long one closes that
// WebSocket (1009) instead of being buffered, and the others stream on.
TEST_F(EdgeServerTest, AnOversizedWebSocketMessageClosesThatConnection) {
  central_.updates = 1000;
  central_.burst = 1;
  StartEdge();
  net::io_context ioc;
  auto ws = OpenWebSocket(ioc, "/v1/network:watch");
  ws->binary(true);
  beast::error_code write_ec, ec;
  ws->write(net::buffer(std::string(64 << 10, 'z')), write_ec);  // may be cut short by the close
  beast::flat_buffer frame;
  while (!ec) {
    ws->read(frame, ec);
    frame.consume(frame.size());
  }
  // The close frame came (our answer to it may meet a socket already shut).
  EXPECT_EQ(ws->reason().code, websocket::close_code::too_big) << ec.message();
  EXPECT_EQ(Call(http::verb::get, "/healthz").status, 200);
}

// Answering 1009, the edge drains what the client still sends before closing
// (else a reset could cost the client that answer), but only for a while and
// so much: a client that never stops sending is cut, and the edge lives on.
TEST_F(EdgeServerTest, AClientThatKeepsSendingAfterATooBigMessageIsCutSoon) {
  central_.updates = 1000;
  central_.burst = 1;
  StartEdge();
  net::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(edge_->port())));
  net::write(socket, net::buffer(absl::StrCat("GET /v1/network:watch HTTP/1.1\r\nHost: ", Host(),
                                              "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                              "Sec-WebSocket-Version: 13\r\n\r\n")));
  std::string head;
  net::read_until(socket, net::dynamic_buffer(head), "\r\n\r\n");
  ASSERT_THAT(head, HasSubstr(" 101 "));
  // A masked binary frame of 1 GiB, refused at its header; then bytes without end.
  std::string flood(64 << 10, 'z');
  const unsigned char header[] = {0x82, 0xFF, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4};
  flood.replace(0, sizeof header, reinterpret_cast<const char*>(header), sizeof header);
  bool write_failed = false;
  size_t sent = 0;
  std::function<void()> write_more = [&] {
    net::async_write(socket, net::buffer(flood), [&](beast::error_code ec, size_t n) {
      sent += n;
      if (ec) {
        write_failed = true;
        return;
      }
      write_more();
    });
  };
  char sink[4096];
  std::function<void()> read_more = [&] {
    socket.async_read_some(net::buffer(sink), [&](beast::error_code ec, size_t) {
      if (!ec) read_more();
    });
  };
  const auto start = std::chrono::steady_clock::now();
  write_more();
  read_more();
  ioc.run_for(std::chrono::seconds(20));
  // Only the edge closing its socket ends the writes (the drain lasts 2 s or 1 MiB at most).
  EXPECT_TRUE(write_failed) << sent << " bytes sent";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(Call(http::verb::get, "/healthz").status, 200);
}

TEST(EdgeHelpersTest, CookiesAndOrigins) {
  EXPECT_EQ(CookieValue("a=1; evc_session=xyz; b=2", "evc_session"), "xyz");
  EXPECT_EQ(CookieValue("evc_session_old=1", "evc_session"), "");
  EXPECT_TRUE(OriginAllowed("", "h:1", {}));
  EXPECT_TRUE(OriginAllowed("http://h:1", "h:1", {}));
  EXPECT_FALSE(OriginAllowed("http://other:1", "h:1", {}));
  EXPECT_TRUE(OriginAllowed("http://other:1", "h:1", {"http://other:1"}));
  EXPECT_TRUE(OriginAllowed("http://any", "h:1", {"*"}));
}

}  // namespace
}  // namespace evc::edge
