// The real evc-edge in front of a real network, sent what an outsider might
// send over a raw socket: targets with no path, absolute-form, traversal,
// garbage, oversized request lines and headers, truncated bodies, hostile
// WebSocket frames, invalid UTF-8 in path, query and body. Each must get a 4xx
// or a closed connection, never a 5xx, a hang or a dead process, and the edge
// must still answer /healthz afterwards (issue 15, points 1 and 6).

#include <functional>
#include <string>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "services/edge/test_http_client.h"
#include "tests/integration/loop_client.h"

namespace evc::testing {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using ::testing::HasSubstr;

using edge::testing::RawReply;
using edge::testing::SendRaw;

// An outsider's acceptable outcome: a client error, or the connection closed.
bool RefusedCleanly(const RawReply& r) {
  if (r.timed_out) return false;
  return r.status == 0 || (r.status >= 400 && r.status < 500);
}

// A client WebSocket frame: FIN + `opcode`, masked, with the length as sent
// (`announced`, which may exceed the payload given).
std::string ClientFrame(uint8_t opcode, const std::string& payload, uint64_t announced) {
  std::string f;
  f.push_back(static_cast<char>(0x80 | opcode));
  if (announced < 126) {
    f.push_back(static_cast<char>(0x80 | announced));
  } else if (announced <= 0xFFFF) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(announced >> 8));
    f.push_back(static_cast<char>(announced & 0xFF));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8) f.push_back(static_cast<char>((announced >> shift) & 0xFF));
  }
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  f.append(mask, 4);
  for (size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

// Opens a WebSocket on `target`, writes `raw` bytes on its socket and reads
// server frames until the server closes it. True if it did within `deadline`;
// `why` says how it ended.
bool ServerClosesAfter(int port, const std::string& target, const std::string& token, const std::string& raw,
                       std::string* why, std::chrono::seconds deadline = std::chrono::seconds(10)) {
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  beast::error_code ec;
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), ec);
  if (ec) {
    *why = "connect: " + ec.message();
    return false;
  }
  ws.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  }));
  ws.handshake(absl::StrCat("127.0.0.1:", port), target, ec);
  if (ec) {
    *why = "handshake: " + ec.message();
    return false;
  }
  bool timed_out = false;
  net::steady_timer timer(ioc, deadline);
  timer.async_wait([&](beast::error_code tec) {
    if (tec) return;
    timed_out = true;
    beast::error_code ignored;
    ws.next_layer().close(ignored);
  });
  auto data = std::make_shared<std::string>(raw);
  net::async_write(ws.next_layer(), net::buffer(*data), [data](beast::error_code, size_t) {});
  beast::flat_buffer frames;
  std::function<void()> read_next = [&] {
    ws.async_read(frames, [&](beast::error_code rec, size_t) {
      if (!rec) {
        frames.consume(frames.size());
        return read_next();
      }
      *why = rec == websocket::error::closed
                 ? absl::StrCat("close frame ", ws.reason().code, " ", std::string(ws.reason().reason.data(), ws.reason().reason.size()))
                 : rec.message();
      timer.cancel();
    });
  };
  read_next();
  ioc.run();
  if (timed_out) *why = "the server kept the connection open";
  return !timed_out;
}

class HostileEdgeTest : public StackSuite<HostileEdgeTest> {
 public:
  static Stack::Options StackOptions() { return Stack::Options(); }
  static absl::Status AfterStart(Stack& stack) {
    auto port = stack.StartEdge();
    if (!port.ok()) return port.status();
    port_ = *port;
    return absl::OkStatus();
  }

 protected:
  void SetUp() override {
    StackSuite::SetUp();
    ASSERT_GT(port_, 0) << "the edge did not start";
  }

  // After every hostile input the edge still serves.
  void ExpectStillServing(const std::string& after) {
    edge::testing::HttpReply health = edge::testing::HttpCall(port_, http::verb::get, "/healthz");
    EXPECT_EQ(health.status, 200) << "the edge stopped answering /healthz after " << after << " (see "
                                  << stack().dir() << "/edge.log)";
    if (health.status != 200) stack().KeepDirectory();
  }

  // Sends `bytes`, expects a clean refusal (or exactly `status` when given).
  RawReply Refused(const std::string& name, const std::string& bytes, int status = 0, bool half_close = false) {
    RawReply r = SendRaw(port_, bytes, half_close);
    EXPECT_TRUE(RefusedCleanly(r)) << name << ": " << r.Describe();
    if (status != 0) EXPECT_EQ(r.status, status) << name << ": " << r.Describe();
    ExpectStillServing(name);
    return r;
  }

  std::string Host() const { return absl::StrCat("Host: 127.0.0.1:", port_, "\r\n"); }

  std::string OperatorToken() {
    edge::testing::HttpReply login = edge::testing::HttpCall(
        port_, http::verb::post, "/v1/auth/login", R"({"username":"admin","password":"operate-the-net-42"})",
        {{"Content-Type", "application/json"}});
    EXPECT_EQ(login.status, 200) << login.body;
    return login.json().value("accessToken", "");
  }

  static inline int port_ = 0;
};

TEST_F(HostileEdgeTest, ATargetWithoutAPathIsRefusedAndTheEdgeLives) {
  RawReply no_path = Refused("GET ?x", "GET ?x HTTP/1.1\r\n" + Host() + "\r\n", 400);
  EXPECT_THAT(no_path.body, HasSubstr("must start with '/'"));
  Refused("GET ?", "GET ? HTTP/1.1\r\n" + Host() + "\r\n", 400);
  Refused("GET x", "GET x HTTP/1.1\r\n" + Host() + "\r\n", 400);
  Refused("GET *", "GET * HTTP/1.1\r\n" + Host() + "\r\n", 400);
  Refused("OPTIONS *", "OPTIONS * HTTP/1.1\r\n" + Host() + "\r\n", 400);
  Refused("absolute-form", absl::StrCat("GET http://127.0.0.1:", port_, "/healthz HTTP/1.1\r\n", Host(), "\r\n"),
          400);
  Refused("a fragment", "GET /healthz#top HTTP/1.1\r\n" + Host() + "\r\n", 400);
  Refused("a bad %-escape", "GET /app/%zz HTTP/1.1\r\n" + Host() + "\r\n", 400);
  Refused("GET /%00", "GET /%00 HTTP/1.1\r\n" + Host() + "\r\n");
  Refused("GET /v1/%00", "GET /v1/%00 HTTP/1.1\r\n" + Host() + "\r\n");
}

TEST_F(HostileEdgeTest, TraversalNeverLeavesTheWebRoot) {
  for (const char* target : {"/../../etc/passwd", "/app/../../../etc/passwd", "/app/%2e%2e/%2e%2e/etc/passwd",
                             "/app/..%2f..%2f..%2fetc/passwd", "//etc/passwd", "/app//../../etc/passwd"}) {
    RawReply r = Refused(target, absl::StrCat("GET ", target, " HTTP/1.1\r\n", Host(), "\r\n"));
    EXPECT_THAT(r.body, ::testing::Not(HasSubstr("root:"))) << target;
  }
}

TEST_F(HostileEdgeTest, GarbageAndOversizedRequestsAreRefused) {
  Refused("garbage", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 24));
  Refused("binary noise", std::string(4096, '\xff') + "\r\n\r\n");
  Refused("no version", "GET /healthz\r\n\r\n");
  Refused("bad version", "GET /healthz HTTP/9.9\r\n" + Host() + "\r\n");
  Refused("space in target", "GET /a b HTTP/1.1\r\n" + Host() + "\r\n");
  Refused("header without colon", "GET /healthz HTTP/1.1\r\n" + Host() + "Broken header\r\n\r\n");
  Refused("negative content-length",
          "POST /v1/auth/login HTTP/1.1\r\n" + Host() + "Content-Length: -1\r\n\r\n");
  Refused("two content-lengths",
          "POST /v1/auth/login HTTP/1.1\r\n" + Host() + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}");
  RawReply header =
      Refused("a 100 KB header", "GET /healthz HTTP/1.1\r\n" + Host() + "X-Big: " + std::string(100 << 10, 'a') +
                                     "\r\n\r\n", 431);
  EXPECT_THAT(header.body, HasSubstr("header"));
  Refused("many headers", "GET /healthz HTTP/1.1\r\n" + Host() + [] {
    std::string h;
    for (int i = 0; i < 5000; ++i) h += absl::StrCat("X-H", i, ": v\r\n");
    return h;
  }() + "\r\n", 431);
  RawReply line = Refused("a 64 KB request line",
                          "GET /" + std::string(64 << 10, 'a') + " HTTP/1.1\r\n" + Host() + "\r\n", 414);
  EXPECT_THAT(line.body, HasSubstr("request line"));
}

TEST_F(HostileEdgeTest, TruncatedAndMalformedBodiesAreRefused) {
  const std::string chunked = "POST /v1/auth/login HTTP/1.1\r\n" + Host() +
                              "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  Refused("a truncated chunked body", chunked + "20\r\n{\"username\":\"adm", 0, /*half_close=*/true);
  Refused("a bad chunk size", chunked + "zz\r\n{}\r\n0\r\n\r\n");
  Refused("a huge chunk size", chunked + "ffffffffffffffffff\r\n{}\r\n0\r\n\r\n");
  Refused("a truncated fixed body", "POST /v1/auth/login HTTP/1.1\r\n" + Host() +
                                        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user",
          0, /*half_close=*/true);
}

TEST_F(HostileEdgeTest, InvalidUtf8IsABadRequestNotAnUpstreamFailure) {
  const std::string token = OperatorToken();
  const std::string auth = "Authorization: Bearer " + token + "\r\n";
  Refused("invalid UTF-8 in a path variable",
          "GET /v1/registry/charging-points/%FF%FE HTTP/1.1\r\n" + Host() + auth + "\r\n", 400);
  Refused("invalid UTF-8 in a query parameter",
          "GET /v1/tickets?driver_id=%C3%28 HTTP/1.1\r\n" + Host() + auth + "\r\n", 400);
  const std::string body = "{\"username\":\"\xff\xfe\",\"password\":\"x\"}";
  Refused("invalid UTF-8 in a JSON body",
          absl::StrCat("POST /v1/auth/login HTTP/1.1\r\n", Host(), "Content-Type: application/json\r\nContent-Length: ",
                       body.size(), "\r\n\r\n", body),
          400);
}

// Issue 15 point 6: a 9 KB Authorization header was forwarded to gRPC
// (8 KiB of metadata at most) and answered 503 "Socket closed".
TEST_F(HostileEdgeTest, AnOversizedTokenIsAClientErrorNeverForwarded) {
  const std::string huge(9 << 10, 'a');
  // 401 from the edge itself: an upstream never sees it (the old edge's 429
  // "received initial metadata size exceeds limit" or 503 came from gRPC).
  RawReply bearer = Refused("a 9 KB bearer token",
                            "GET /v1/charging-points HTTP/1.1\r\n" + Host() + "Authorization: Bearer " + huge + "\r\n\r\n",
                            401);
  EXPECT_THAT(bearer.body, HasSubstr("access token"));
  Refused("a 9 KB session cookie",
          "GET /v1/tickets HTTP/1.1\r\n" + Host() + "Cookie: evc_session=" + huge + "\r\n\r\n", 401);
  Refused(
      "a 9 KB token on a WebSocket upgrade",
      "GET /v1/network:watch HTTP/1.1\r\n" + Host() +
          "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer " + huge + "\r\n\r\n",
      401);
  Refused("a 20 KB Authorization header",
          "GET /v1/charging-points HTTP/1.1\r\n" + Host() + "Authorization: Bearer " + std::string(20 << 10, 'a') +
              "\r\n\r\n",
          431);
}

TEST_F(HostileEdgeTest, HostileWebSocketFramesCloseThatConnectionOnly) {
  const std::string token = OperatorToken();
  struct Case {
    std::string name;
    std::string bytes;
  };
  const Case cases[] = {
      {"garbage frames", std::string("\xff\xff\xff\xff\x00\x01garbage\r\n\r\n", 17)},
      {"an unmasked client frame", std::string("\x81\x05hello", 7)},
      {"a reserved opcode", ClientFrame(0x3, "x", 1)},
      {"a frame announcing 1 MiB", ClientFrame(0x2, std::string(1024, 'z'), 1 << 20)},
      {"a frame announcing 2^63 bytes", ClientFrame(0x2, "", uint64_t{1} << 63)},
      {"invalid UTF-8 in a text frame", ClientFrame(0x1, "\xff\xfe\xfd", 3)},
      {"a fragmented control frame", std::string(1, '\x09') + ClientFrame(0x9, "", 0).substr(1)},
      {"a close frame with a bad code", ClientFrame(0x8, std::string("\x03\xe7", 2), 2)},
  };
  for (const Case& c : cases) {
    std::string why;
    EXPECT_TRUE(ServerClosesAfter(port_, "/v1/network:watch", token, c.bytes, &why)) << c.name << ": " << why;
    ExpectStillServing(c.name);
  }
}

}  // namespace
}  // namespace evc::testing
