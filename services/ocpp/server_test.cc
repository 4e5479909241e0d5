#include "services/ocpp/server.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "absl/strings/escaping.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "services/edge/test_http_client.h"

namespace evc::ocpp {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using nlohmann::json;
using tcp = net::ip::tcp;

class RecordingSession : public ChargerSession {
 public:
  std::variant<json, RpcError> OnCall(const std::string& action, const json& payload) override {
    if (action == "Heartbeat") return json{{"currentTime", "2026-12-06T22:00:00.000Z"}};
    return RpcError{errc::kNotSupported, "not here"};
  }
  void Connected(std::shared_ptr<ChargerLink> l) override {
    absl::MutexLock lock(&mu);
    link = std::move(l);
  }
  void Disconnected(const ChargerLink&) override { gone.Notify(); }

  absl::Mutex mu;
  std::shared_ptr<ChargerLink> link ABSL_GUARDED_BY(mu);
  absl::Notification gone;
};

class FakeAdmission : public ChargerAdmission {
 public:
  void Admit(const std::string& cp_id, const std::string& password, const std::string&, Done done) override {
    if (cp_id == "CP-1" && password == "s3cret") return done(session);
    if (cp_id == "CP-BUSY") return done(absl::UnavailableError("auth is unreachable"));
    done(absl::UnauthenticatedError("unknown charger or wrong password"));
  }
  std::shared_ptr<RecordingSession> session = std::make_shared<RecordingSession>();
};

std::string Basic(const std::string& user, const std::string& password) {
  return "Basic " + absl::Base64Escape(user + ":" + password);
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OcppServerConfig config;
    config.listen = "127.0.0.1:0";
    config.io_threads = 1;
    config.endpoint.call_timeout = absl::Seconds(2);
    config.max_message_bytes = 4096;
    server_ = std::make_unique<OcppServer>(config, admission_, Schemas::Ocpp16());
    ASSERT_TRUE(server_->Start().ok());
  }

  // Opens a WebSocket as a charger would; `response` gets the upgrade answer.
  std::unique_ptr<websocket::stream<tcp::socket>> Open(const std::string& target, const std::string& protocol,
                                                       const std::string& auth,
                                                       websocket::response_type* response, beast::error_code* ec) {
    auto ws = std::make_unique<websocket::stream<tcp::socket>>(ioc_);
    ws->next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    ws->set_option(websocket::stream_base::decorator([protocol, auth](websocket::request_type& req) {
      if (!protocol.empty()) req.set(beast::http::field::sec_websocket_protocol, protocol);
      if (!auth.empty()) req.set(beast::http::field::authorization, auth);
    }));
    ws->handshake(*response, "127.0.0.1", target, *ec);
    return ws;
  }

  json Roundtrip(websocket::stream<tcp::socket>& ws, const std::string& text) {
    ws.text(true);
    ws.write(net::buffer(text));
    return edge::testing::ReadFrame(ws);
  }

  net::io_context ioc_;
  FakeAdmission admission_;
  std::unique_ptr<OcppServer> server_;
};

TEST_F(ServerTest, AcceptsOcpp16WithBasicAuthAndServesCalls) {
  websocket::response_type res;
  beast::error_code ec;
  auto ws = Open("/ocpp/CP-1", "ocpp2.0.1, ocpp1.6", Basic("CP-1", "s3cret"), &res, &ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res[beast::http::field::sec_websocket_protocol], "ocpp1.6");
  json answer = Roundtrip(*ws, R"([2,"1","Heartbeat",{}])");
  EXPECT_EQ(answer[0], 3);
  EXPECT_EQ(answer[1], "1");
  answer = Roundtrip(*ws, R"([2,"2","Heartbeat",{"x":1}])");
  EXPECT_EQ(answer, json::parse(answer.dump()));
  EXPECT_EQ(answer[2], errc::kPropertyConstraintViolation);
  answer = Roundtrip(*ws, "[2,");
  EXPECT_EQ(answer[2], errc::kFormationViolation);

  // The gateway's CALL reaches the charger and its answer comes back.
  std::shared_ptr<ChargerLink> link;
  {
    absl::MutexLock lock(&admission_.session->mu);
    link = admission_.session->link;
  }
  ASSERT_NE(link, nullptr);
  absl::Notification answered;
  std::string result;
  link->Call("RemoteStopTransaction", json{{"transactionId", 7}}, [&](absl::StatusOr<json> r) {
    result = r.ok() ? r->dump() : r.status().ToString();
    answered.Notify();
  });
  json call = edge::testing::ReadFrame(*ws);
  ASSERT_EQ(call[0], 2);
  EXPECT_EQ(call[2], "RemoteStopTransaction");
  EXPECT_EQ(call[3]["transactionId"], 7);
  ws->write(net::buffer(json::array({3, call[1], {{"status", "Accepted"}}}).dump()));
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(result, R"({"status":"Accepted"})");

  ws->close(websocket::close_code::normal);
  EXPECT_TRUE(admission_.session->gone.WaitForNotificationWithTimeout(absl::Seconds(5)));
}

TEST_F(ServerTest, RefusesAtTheUpgrade) {
  struct Case {
    std::string target, protocol, auth;
    unsigned status;
  };
  for (const Case& c : std::vector<Case>{
           {"/ocpp/CP-1", "ocpp1.6", Basic("CP-1", "wrong"), 401},
           {"/ocpp/CP-1", "ocpp1.6", "", 401},
           {"/ocpp/CP-1", "ocpp1.6", Basic("CP-2", "s3cret"), 401},
           {"/ocpp/CP-1", "ocpp1.6", "Bearer abc", 401},
           {"/ocpp/CP-1", "ocpp2.0.1", Basic("CP-1", "s3cret"), 400},
           {"/ocpp/CP-1", "", Basic("CP-1", "s3cret"), 400},
           {"/other/CP-1", "ocpp1.6", Basic("CP-1", "s3cret"), 404},
           {"/ocpp/", "ocpp1.6", Basic("CP-1", "s3cret"), 404},
           {"/ocpp/a%2", "ocpp1.6", Basic("CP-1", "s3cret"), 404},
           {"/ocpp/CP-BUSY", "ocpp1.6", Basic("CP-BUSY", "x"), 503},
       }) {
    websocket::response_type res;
    beast::error_code ec;
    Open(c.target, c.protocol, c.auth, &res, &ec);
    EXPECT_TRUE(ec) << c.target;
    EXPECT_EQ(res.result_int(), c.status) << c.target << " " << c.protocol << " " << c.auth << ": " << res.body();
    if (c.status == 401) EXPECT_EQ(res[beast::http::field::www_authenticate], "Basic realm=\"evc-ocpp\"");
  }
  // Plain HTTP gets told to upgrade.
  edge::testing::HttpReply plain = edge::testing::HttpCall(server_->port(), beast::http::verb::get, "/ocpp/CP-1");
  EXPECT_EQ(plain.status, 426) << plain.body;
}

TEST_F(ServerTest, OversizedMessageClosesTheConnection) {
  websocket::response_type res;
  beast::error_code ec;
  auto ws = Open("/ocpp/CP-1", "ocpp1.6", Basic("CP-1", "s3cret"), &res, &ec);
  ASSERT_FALSE(ec);
  std::string big = R"([2,"1","DataTransfer",{"vendorId":"v","data":")" + std::string(8000, 'x') + "\"}]";
  ws->write(net::buffer(big));
  EXPECT_TRUE(edge::testing::ReadFrame(*ws).is_null());
  EXPECT_TRUE(admission_.session->gone.WaitForNotificationWithTimeout(absl::Seconds(5)));
}

// wss (security profile 2): a server certificate made for the test.
class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/ocpp-tls-" + std::to_string(getpid());
    const std::string make = "mkdir -p " + dir_ + " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                             "-nodes -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout " +
                             dir_ + "/key.pem -out " + dir_ + "/cert.pem 2>/dev/null";
    ASSERT_EQ(std::system(make.c_str()), 0) << "openssl could not make a test certificate";
    OcppServerConfig config;
    config.listen = "127.0.0.1:0";
    config.io_threads = 1;
    config.handshake_timeout = absl::Seconds(2);
    config.tls_cert_file = dir_ + "/cert.pem";
    config.tls_key_file = dir_ + "/key.pem";
    server_ = std::make_unique<OcppServer>(config, admission_, Schemas::Ocpp16());
    ASSERT_TRUE(server_->Start().ok());
  }

  // A charger's wss connection trusting the test certificate, over `version`.
  beast::error_code OpenTls(net::ssl::context::method version, websocket::response_type* response,
                            std::unique_ptr<websocket::stream<beast::ssl_stream<tcp::socket>>>* out) {
    net::ssl::context ctx(version);
    ctx.load_verify_file(dir_ + "/cert.pem");
    ctx.set_verify_mode(net::ssl::verify_peer);
    auto ws = std::make_unique<websocket::stream<beast::ssl_stream<tcp::socket>>>(ioc_, ctx);
    beast::error_code ec;
    beast::get_lowest_layer(*ws).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()), ec);
    if (!ec) ws->next_layer().set_verify_callback(net::ssl::host_name_verification("localhost"), ec);
    if (!ec) ws->next_layer().handshake(net::ssl::stream_base::client, ec);
    ws->set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, "ocpp1.6");
      req.set(beast::http::field::authorization, Basic("CP-1", "s3cret"));
    }));
    if (!ec) ws->handshake(*response, "localhost", "/ocpp/CP-1", ec);
    *out = std::move(ws);
    return ec;
  }

  std::string dir_;
  net::io_context ioc_;
  FakeAdmission admission_;
  std::unique_ptr<OcppServer> server_;
};

TEST_F(TlsServerTest, ChargersConnectOverTlsOnly) {
  websocket::response_type res;
  std::unique_ptr<websocket::stream<beast::ssl_stream<tcp::socket>>> ws;
  beast::error_code ec = OpenTls(net::ssl::context::tls_client, &res, &ws);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res[beast::http::field::sec_websocket_protocol], "ocpp1.6");
  ws->text(true);
  ws->write(net::buffer(std::string(R"([2,"1","Heartbeat",{}])")));
  beast::flat_buffer in;
  ws->read(in);
  json answer = json::parse(beast::buffers_to_string(in.data()));
  EXPECT_EQ(answer[0], 3);
  EXPECT_EQ(answer[1], "1");

  // Profile 2 wants TLS 1.2 or later: a TLS 1.1 client is turned away.
  std::unique_ptr<websocket::stream<beast::ssl_stream<tcp::socket>>> old;
  EXPECT_TRUE(OpenTls(net::ssl::context::tlsv11_client, &res, &old));
  // Plain ws on the wss port gets no upgrade.
  websocket::stream<tcp::socket> plain(ioc_);
  plain.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
  plain.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
    req.set(beast::http::field::sec_websocket_protocol, "ocpp1.6");
    req.set(beast::http::field::authorization, Basic("CP-1", "s3cret"));
  }));
  plain.handshake(res, "127.0.0.1", "/ocpp/CP-1", ec);
  EXPECT_TRUE(ec) << "a plain upgrade was accepted on the wss port";
}

// A session that answers Authorize later (as the OCPP charger waits for
// central) and keeps the reply.
class DeferringSession : public RecordingSession {
 public:
  bool OnCallLater(const std::string& action, const json&, Reply& reply) override {
    if (action != "Authorize") return false;
    absl::MutexLock lock(&mu);
    kept = std::move(reply);
    asked.Notify();
    return true;
  }
  Reply kept ABSL_GUARDED_BY(mu);
  absl::Notification asked;
};

// The charger session (kept by the gateway while it waits for central)
// outlives the server: a gateway stopping while an Authorize waits. Its reply
// must then be a no-op, and destroying it must not touch the server's
// io_context, which is gone (run under valgrind or ASan to see the
// use-after-free this guards against).
TEST_F(ServerTest, AReplyKeptPastTheServerIsHarmless) {
  auto deferring = std::make_shared<DeferringSession>();
  admission_.session = deferring;
  websocket::response_type res;
  beast::error_code ec;
  auto ws = Open("/ocpp/CP-1", "ocpp1.6", Basic("CP-1", "s3cret"), &res, &ec);
  ASSERT_FALSE(ec) << ec.message();
  ws->text(true);
  ws->write(net::buffer(std::string(R"([2,"1","Authorize",{"idTag":"FOB-7"}])")));
  ASSERT_TRUE(deferring->asked.WaitForNotificationWithTimeout(absl::Seconds(5)));
  server_->Stop();
  server_.reset();
  Reply reply;
  {
    absl::MutexLock lock(&deferring->mu);
    reply = std::move(deferring->kept);
  }
  ASSERT_TRUE(reply);
  reply(json{{"idTagInfo", {{"status", "Invalid"}}}});  // central's late answer: nobody to send it to
  reply = nullptr;
  deferring.reset();
  admission_.session = nullptr;
}

TEST(TlsServerConfig, ACertificateWithoutItsKeyIsRefusedAtStart) {
  OcppServerConfig config;
  config.listen = "127.0.0.1:0";
  config.tls_cert_file = "/nonexistent/cert.pem";
  FakeAdmission admission;
  OcppServer server(config, admission, Schemas::Ocpp16());
  absl::Status s = server.Start();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  config.tls_key_file = "/nonexistent/key.pem";
  OcppServer missing(config, admission, Schemas::Ocpp16());
  s = missing.Start();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("/nonexistent/cert.pem"), std::string::npos) << s;
}

TEST(ParseHelpers, TargetsAndCredentials) {
  EXPECT_EQ(*ChargerIdFromTarget("/ocpp/CP-1"), "CP-1");
  EXPECT_EQ(*ChargerIdFromTarget("/ocpp/CP%2D1?x=1"), "CP-1");
  EXPECT_FALSE(ChargerIdFromTarget("/ocpp/a/b").ok());
  EXPECT_FALSE(ChargerIdFromTarget("/ocpp/%").ok());
  EXPECT_FALSE(ChargerIdFromTarget("/ocpp/%zz").ok());
  EXPECT_EQ(*BasicPassword(Basic("CP-1", "a:b"), "CP-1"), "a:b");
  EXPECT_FALSE(BasicPassword("Basic !!!", "CP-1").ok());
  EXPECT_TRUE(OffersOcpp16("ocpp1.5, ocpp1.6"));
  EXPECT_FALSE(OffersOcpp16("ocpp1.6j"));
}

}  // namespace
}  // namespace evc::ocpp
