#include "services/ocpp/server.h"

#include <deque>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/common/log.h"
#include "services/common/tcp_listener.h"
#include "services/common/metrics.h"
#include "services/common/validation.h"
#include "services/ocpp/live_connections.h"

namespace evc::ocpp {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr char kPathPrefix[] = "/ocpp/";

prometheus::Gauge& ConnectionsGauge() {
  static prometheus::Gauge& gauge = prometheus::BuildGauge()
                                        .Name("evc_ocpp_connections")
                                        .Help("Chargers connected to this gateway over OCPP-J")
                                        .Register(metrics::Registry())
                                        .Add({});
  return gauge;
}

prometheus::Family<prometheus::Counter>& UpgradesFamily() {
  static auto& family = prometheus::BuildCounter()
                            .Name("evc_ocpp_upgrades_total")
                            .Help("WebSocket upgrade requests by outcome (accepted, or the HTTP status refusing them)")
                            .Register(metrics::Registry());
  return family;
}

void CountUpgrade(const std::string& outcome) { UpgradesFamily().Add({{"outcome", outcome}}).Increment(); }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<std::string> ChargerIdFromTarget(absl::string_view target) {
  absl::string_view path = target.substr(0, target.find('?'));
  if (!absl::ConsumePrefix(&path, kPathPrefix) || path.empty() || absl::StrContains(path, "/")) {
    return absl::NotFoundError("chargers connect to /ocpp/{chargePointId}");
  }
  std::string id;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      id.push_back(path[i]);
      continue;
    }
    if (i + 2 >= path.size()) {
      return absl::InvalidArgumentError("chargePointId has a truncated %-escape");
    }
    const int hi = HexValue(path[i + 1]);
    const int lo = HexValue(path[i + 2]);
    if (hi < 0 || lo < 0) return absl::InvalidArgumentError("chargePointId has a bad %-escape");
    id.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  if (absl::Status s = ValidateCpId(id); !s.ok()) return s;
  return id;
}

absl::StatusOr<std::string> BasicPassword(absl::string_view header, const std::string& cp_id) {
  absl::string_view value = absl::StripAsciiWhitespace(header);
  if (value.size() < 6 || !absl::EqualsIgnoreCase(value.substr(0, 6), "basic ")) {
    return absl::UnauthenticatedError("Authorization must be Basic (OCPP security profile 1)");
  }
  value = absl::StripLeadingAsciiWhitespace(value.substr(6));
  std::string decoded;
  if (!absl::Base64Unescape(value, &decoded)) {
    return absl::UnauthenticatedError("Authorization: Basic credentials are not base64");
  }
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) return absl::UnauthenticatedError("Basic credentials must be id:password");
  if (decoded.substr(0, colon) != cp_id) {
    return absl::UnauthenticatedError("Basic user must be the chargePointId of the URL");
  }
  return decoded.substr(colon + 1);
}

bool OffersOcpp16(absl::string_view header) {
  for (absl::string_view p : absl::StrSplit(header, ',')) {
    if (absl::StripAsciiWhitespace(p) == kSubprotocol) return true;
  }
  return false;
}

// What the server keeps of a connection, whatever its transport.
class AnyConnection {
 public:
  virtual ~AnyConnection() = default;
  // From any thread.
  virtual void PostClose(const std::string& reason) = 0;
};

// The TLS context of wss (nullptr for ws), or why the files do not make one.
absl::StatusOr<std::unique_ptr<net::ssl::context>> TlsContext(const OcppServerConfig& config) {
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return absl::InvalidArgumentError("wss needs both a certificate and its key (--wss_cert and --wss_key)");
  }
  if (config.tls_cert_file.empty()) return nullptr;
  // OCPP security profile 2: TLS 1.2 or later.
  auto ctx = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                   net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
  beast::error_code ec;
  ctx->use_certificate_chain_file(config.tls_cert_file, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load the wss certificate ", config.tls_cert_file, ": ", ec.message()));
  }
  ctx->use_private_key_file(config.tls_key_file, net::ssl::context::pem, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat("cannot load the wss key ", config.tls_key_file, ": ", ec.message()));
  }
  return ctx;
}

class OcppServer::Impl {
 public:
  Impl(OcppServerConfig config, ChargerAdmission& admission, const Schemas& schemas)
      : config(std::move(config)), admission(admission), schemas(schemas),
        ioc(std::max(1, this->config.io_threads)), acceptor(net::make_strand(ioc)) {}

  absl::Status Start();
  void Stop();


  const OcppServerConfig config;
  ChargerAdmission& admission;
  const Schemas& schemas;
  // Set when chargers connect over TLS (wss://) only.
  std::unique_ptr<net::ssl::context> tls;
  // Before ioc: connections destroyed with it unregister here.
  LiveConnections<AnyConnection> connections;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  int port = 0;
};

namespace {

using Request = http::request<http::empty_body>;

std::string ToString(beast::string_view s) { return std::string(s.data(), s.size()); }

}  // namespace

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One charger's connection over `Stream`: plain TCP (ws://) or TLS (wss://).
template <class Stream>
class Connection : public AnyConnection, public std::enable_shared_from_this<Connection<Stream>> {
 public:
  Connection(tcp::socket socket, OcppServer::Impl& server)
      : stream_(MakeStream(std::move(socket), server)), server_(server), timer_(stream_.get_executor()) {
    beast::error_code ec;
    tcp::endpoint remote = Socket().remote_endpoint(ec);
    if (!ec) peer_ = remote.address().to_string();
  }

  ~Connection() override {
    // Torn down by the io_context's end (Stop): the session still learns it.
    if (endpoint_) Gone();
    server_.connections.Remove(this);
  }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Handshake(); });
  }

  // From any thread.
  void PostCall(const std::string& action, nlohmann::json payload, RpcEndpoint::Done done) {
    net::post(timer_.get_executor(), [self = this->shared_from_this(), action, payload = std::move(payload),
                                      done = std::move(done)]() mutable {
      if (!self->endpoint_) return done(absl::UnavailableError("the charger is not connected"));
      absl::Status s = self->endpoint_->Call(action, std::move(payload), done, absl::Now());
      if (!s.ok()) done(s);
    });
  }

  void PostClose(const std::string& reason) override {
    net::post(timer_.get_executor(), [self = this->shared_from_this(), reason] { self->CloseWebSocket(reason); });
  }

 private:
  static Stream MakeStream(tcp::socket socket, OcppServer::Impl& server) {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      return Stream(std::move(socket), *server.tls);
    } else {
      return Stream(std::move(socket));
    }
  }
  tcp::socket& Socket() { return beast::get_lowest_layer(stream_).socket(); }

  // wss: the TLS handshake first, bounded like the upgrade.
  void Handshake() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      beast::get_lowest_layer(stream_).expires_after(absl::ToChronoMilliseconds(server_.config.handshake_timeout));
      stream_.async_handshake(net::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) {
          CountUpgrade("tls_failed");
          return;
        }
        self->ReadRequest();
      });
    } else {
      ReadRequest();
    }
  }

  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(8 * 1024);
    parser_->body_limit(0);
    beast::get_lowest_layer(stream_).expires_after(absl::ToChronoMilliseconds(server_.config.handshake_timeout));
    http::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->OnRequest(ec);
    });
  }

  void OnRequest(beast::error_code ec) {
    if (ec) {
      if (ec != http::error::end_of_stream && ec != beast::error::timeout) {
        Refuse(http::status::bad_request, "bad HTTP request: " + ec.message(), "400");
      }
      return;
    }
    request_ = parser_->release();
    absl::StatusOr<std::string> id = ChargerIdFromTarget(ToString(request_.target()));
    if (!id.ok()) return Refuse(http::status::not_found, std::string(id.status().message()), "404");
    if (!websocket::is_upgrade(request_)) {
      return Refuse(http::status::upgrade_required,
                    "OCPP-J needs a WebSocket upgrade (subprotocol ocpp1.6) to /ocpp/{chargePointId}", "426");
    }
    if (!OffersOcpp16(ToString(request_[http::field::sec_websocket_protocol]))) {
      return Refuse(http::status::bad_request,
                    "this gateway speaks OCPP 1.6J only: offer Sec-WebSocket-Protocol: ocpp1.6", "400");
    }
    cp_id_ = *id;
    std::string password;
    auto auth = request_.find(http::field::authorization);
    if (auth != request_.end()) {
      absl::StatusOr<std::string> p = BasicPassword(ToString(auth->value()), cp_id_);
      if (!p.ok()) return Refuse(http::status::unauthorized, std::string(p.status().message()), "401");
      password = *std::move(p);
    }
    beast::get_lowest_layer(stream_).expires_after(absl::ToChronoMilliseconds(server_.config.handshake_timeout));
    server_.admission.Admit(cp_id_, password, peer_,
                            [self = this->shared_from_this()](absl::StatusOr<std::shared_ptr<ChargerSession>> session) {
                              net::post(self->timer_.get_executor(), [self, session = std::move(session)]() mutable {
                                self->OnAdmitted(std::move(session));
                              });
                            });
  }

  void OnAdmitted(absl::StatusOr<std::shared_ptr<ChargerSession>> session) {
    if (!session.ok()) {
      const absl::StatusCode code = session.status().code();
      const std::string why(session.status().message());
      if (code == absl::StatusCode::kUnauthenticated) return Refuse(http::status::unauthorized, why, "401");
      if (code == absl::StatusCode::kPermissionDenied) return Refuse(http::status::forbidden, why, "403");
      return Refuse(http::status::service_unavailable, why, "503");
    }
    session_ = *std::move(session);
    ws_.emplace(std::move(stream_));
    beast::get_lowest_layer(*ws_).expires_never();
    websocket::stream_base::timeout timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.handshake_timeout = absl::ToChronoMilliseconds(server_.config.handshake_timeout);
    ws_->set_option(timeouts);
    ws_->read_message_max(server_.config.max_message_bytes);
    ws_->set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "evc-ocpp");
      res.set(http::field::sec_websocket_protocol, kSubprotocol);
    }));
    ws_->async_accept(request_, [self = this->shared_from_this()](beast::error_code ec) { self->OnAccepted(ec); });
  }

  void OnAccepted(beast::error_code ec) {
    if (ec) {
      CountUpgrade("handshake_failed");
      session_.reset();
      return;
    }
    CountUpgrade("accepted");
    ConnectionsGauge().Increment();
    std::weak_ptr<Connection> weak = this->weak_from_this();
    // Through the strand: a handler may answer later from another thread.
    // Only a weak reference, not the strand itself: a handler may keep a
    // reply past this connection and the server (a gateway stopping while an
    // Authorize waits for central), and a strand of a destroyed io_context
    // must not be used, nor even destroyed.
    endpoint_.emplace(server_.schemas, *session_,
                      [weak](std::string text) {
                        auto self = weak.lock();
                        if (self == nullptr) return;
                        net::post(self->timer_.get_executor(), [weak, text = std::move(text)]() mutable {
                          if (auto self = weak.lock()) self->Write(std::move(text));
                        });
                      },
                      server_.config.endpoint);
    log::Info("charger connected", {{"cp_id", cp_id_}, {"peer", peer_}});
    link_ = std::make_shared<Link>(this->weak_from_this());
    session_->Connected(link_);
    ReadLoop();
    ArmTimer();
  }

  void ReadLoop() {
    ws_->async_read(in_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Gone();
      std::string text = beast::buffers_to_string(self->in_.data());
      self->in_.consume(self->in_.size());
      if (self->endpoint_) self->endpoint_->OnMessage(text, absl::Now());
      self->ReadLoop();
    });
  }

  void ArmTimer() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || !self->endpoint_) return;
      self->endpoint_->Tick(absl::Now());
      self->ArmTimer();
    });
  }

  void Write(std::string text) {
    if (closing_) return;
    if (outgoing_.size() >= server_.config.max_outgoing_messages) {
      log::Warn("charger reads too slowly: disconnected", {{"cp_id", cp_id_}});
      return Abort();
    }
    outgoing_.push_back(std::move(text));
    if (!writing_) WriteNext();
  }

  void WriteNext() {
    if (outgoing_.empty() || closing_) {
      writing_ = false;
      if (closing_ && !close_reason_.empty()) StartClose();
      return;
    }
    writing_ = true;
    ws_->text(true);
    ws_->async_write(net::buffer(outgoing_.front()), [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->outgoing_.pop_front();
      if (ec) {
        self->writing_ = false;
        return self->Abort();
      }
      self->WriteNext();
    });
  }

  void CloseWebSocket(const std::string& reason) {
    if (!ws_ || closing_) return;
    closing_ = true;
    close_reason_ = reason.empty() ? "closed by the gateway" : reason;
    if (!writing_) StartClose();
  }

  void StartClose() {
    websocket::close_reason why(websocket::close_code::policy_error);
    why.reason = close_reason_.substr(0, 120);
    close_reason_.clear();
    ws_->async_close(why, [self = this->shared_from_this()](beast::error_code) {});
  }

  void Abort() {
    beast::error_code ec;
    if (ws_) {
      beast::get_lowest_layer(*ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(*ws_).close();
    }
  }

  // The connection ended: once.
  void Gone() {
    if (!endpoint_) return;
    timer_.cancel();
    endpoint_->Close();
    endpoint_.reset();
    ConnectionsGauge().Decrement();
    log::Info("charger disconnected", {{"cp_id", cp_id_}});
    if (session_ && link_) session_->Disconnected(*link_);
    session_.reset();
    link_.reset();
  }

  void Refuse(http::status status, const std::string& why, const std::string& outcome) {
    CountUpgrade(outcome);
    if (status == http::status::unauthorized || status == http::status::forbidden) {
      log::Warn("charger refused at the upgrade", {{"cp_id", cp_id_}, {"peer", peer_}, {"status", outcome}, {"reason", why}});
    }
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::server, "evc-ocpp");
    res->set(http::field::content_type, "text/plain; charset=utf-8");
    if (status == http::status::unauthorized) res->set(http::field::www_authenticate, "Basic realm=\"evc-ocpp\"");
    res->keep_alive(false);
    res->body() = why + "\n";
    res->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    http::async_write(stream_, *res, [self = this->shared_from_this(), res](beast::error_code, size_t) {
      // Refused: no TLS close_notify owed, the socket just ends.
      beast::error_code ec;
      self->Socket().shutdown(tcp::socket::shutdown_send, ec);
      beast::get_lowest_layer(self->stream_).close();
    });
  }

  class Link : public ChargerLink {
   public:
    explicit Link(std::weak_ptr<Connection> connection) : connection_(std::move(connection)) {}
    void Call(const std::string& action, nlohmann::json payload, RpcEndpoint::Done done) override {
      if (auto c = connection_.lock()) return c->PostCall(action, std::move(payload), std::move(done));
      done(absl::UnavailableError("the charger is not connected"));
    }
    void Close(const std::string& reason) override {
      if (auto c = connection_.lock()) c->PostClose(reason);
    }

   private:
    std::weak_ptr<Connection> connection_;
  };

  Stream stream_;
  OcppServer::Impl& server_;
  net::steady_timer timer_;
  std::string peer_;
  std::string cp_id_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  Request request_;
  std::shared_ptr<ChargerSession> session_;
  std::shared_ptr<ChargerLink> link_;
  std::optional<websocket::stream<Stream>> ws_;
  std::optional<RpcEndpoint> endpoint_;
  beast::flat_buffer in_;
  std::deque<std::string> outgoing_;
  bool writing_ = false;
  bool closing_ = false;
  std::string close_reason_;
};

template <class Stream>
void Serve(tcp::socket socket, OcppServer::Impl& server) {
  auto connection = std::make_shared<Connection<Stream>>(std::move(socket), server);
  server.connections.Add(connection);
  connection->Run();
}

absl::Status OcppServer::Impl::Start() {
  ConnectionsGauge();
  absl::StatusOr<std::unique_ptr<net::ssl::context>> context = TlsContext(config);
  if (!context.ok()) return context.status();
  tls = *std::move(context);
  absl::StatusOr<int> listening = ServeConnections(
      acceptor, ioc, config.listen, config.io_threads, "a charger connection handler failed; that connection was dropped",
      [this](tcp::socket socket) {
        if (tls != nullptr) return Serve<TlsStream>(std::move(socket), *this);
        Serve<PlainStream>(std::move(socket), *this);
      },
      threads);
  if (!listening.ok()) return listening.status();
  port = *listening;
  return absl::OkStatus();
}

void OcppServer::Impl::Stop() {
  StopAccepting(acceptor);
  // Closing handshakes get a moment; what remains is torn down below.
  connections.CloseAll([](AnyConnection& c) { c.PostClose("gateway shutting down"); }, absl::Seconds(2));
  ioc.stop();
  for (auto& t : threads) t.join();
  threads.clear();
}

OcppServer::OcppServer(OcppServerConfig config, ChargerAdmission& admission, const Schemas& schemas)
    : impl_(std::make_unique<Impl>(std::move(config), admission, schemas)) {}
OcppServer::~OcppServer() {
  if (!impl_->threads.empty()) impl_->Stop();
}
absl::Status OcppServer::Start() { return impl_->Start(); }
int OcppServer::port() const { return impl_->port; }
void OcppServer::Stop() { impl_->Stop(); }

}  // namespace evc::ocpp
