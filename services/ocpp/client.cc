#include "services/ocpp/client.h"

#include <optional>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/ocpp/live_connections.h"

namespace evc::ocpp {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

absl::StatusOr<CentralSystemUrl> ParseCentralSystemUrl(const std::string& url) {
  absl::string_view rest = url;
  if (absl::StartsWith(rest, "wss://")) {
    return absl::InvalidArgumentError("wss:// is not supported by this simulated charger; use ws://HOST:PORT/ocpp");
  }
  if (!absl::ConsumePrefix(&rest, "ws://")) {
    return absl::InvalidArgumentError(absl::StrCat("'", url, "' is not a ws://HOST:PORT/PATH URL"));
  }
  const size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  CentralSystemUrl parsed;
  parsed.path = slash == absl::string_view::npos ? "" : std::string(rest.substr(slash));
  while (!parsed.path.empty() && parsed.path.back() == '/') parsed.path.pop_back();
  const size_t colon = authority.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || colon == 0 || !absl::SimpleAtoi(authority.substr(colon + 1), &port) ||
      port < 1 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("'", url, "' needs a host and a port 1-65535 (ws://HOST:PORT/PATH)"));
  }
  parsed.host = std::string(authority.substr(0, colon));
  parsed.port = std::to_string(port);
  return parsed;
}

class OcppClientPool::Impl {
 public:
  Impl(int io_threads, const Schemas& schemas, ClientOptions options)
      : schemas(schemas), options(options), work(net::make_work_guard(ioc)) {
    for (int i = 0; i < std::max(1, io_threads); ++i) threads.emplace_back([this] { ioc.run(); });
  }

  void Stop();

  const Schemas& schemas;
  const ClientOptions options;
  // Connections not ended yet.
  LiveConnections<ClientLink> connections;
  net::io_context ioc;
  net::executor_work_guard<net::io_context::executor_type> work;
  std::vector<std::thread> threads;
};

namespace {

class ClientConnection : public ClientLink, public std::enable_shared_from_this<ClientConnection> {
 public:
  ClientConnection(OcppClientPool::Impl& pool, CentralSystemUrl url, std::string cp_id, std::string password,
                   ChargePointHandler& handler)
      : pool_(pool), url_(std::move(url)), cp_id_(std::move(cp_id)), password_(std::move(password)),
        handler_(handler), ws_(net::make_strand(pool.ioc)), resolver_(ws_.get_executor()),
        timer_(ws_.get_executor()) {}

  ~ClientConnection() override { pool_.connections.Remove(this); }

  void Start() {
    net::dispatch(ws_.get_executor(), [self = shared_from_this()] {
      self->resolver_.async_resolve(self->url_.host, self->url_.port,
                                    [self](beast::error_code ec, tcp::resolver::results_type results) {
                                      self->OnResolved(ec, std::move(results));
                                    });
    });
  }

  void Call(const std::string& action, nlohmann::json payload, RpcEndpoint::Done done) override {
    net::post(ws_.get_executor(), [self = shared_from_this(), action, payload = std::move(payload),
                                   done = std::move(done)]() mutable {
      if (!self->endpoint_) return done(absl::UnavailableError("not connected to the central system"));
      absl::Status s = self->endpoint_->Call(action, std::move(payload), done, absl::Now());
      if (!s.ok()) done(s);
    });
  }

  void Close() override {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      if (self->ended_) return;
      if (!self->endpoint_) {
        // Still connecting: give up now.
        self->resolver_.cancel();
        beast::get_lowest_layer(self->ws_).close();
        return self->End(absl::CancelledError("closed before the connection was open"));
      }
      if (self->closing_) return;
      self->closing_ = true;
      if (!self->writing_) self->StartClose();
    });
  }

 private:
  void OnResolved(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return End(absl::UnavailableError(absl::StrCat("cannot resolve ", url_.host, ": ", ec.message())));
    beast::get_lowest_layer(ws_).expires_after(absl::ToChronoMilliseconds(pool_.options.connect_timeout));
    beast::get_lowest_layer(ws_).async_connect(
        results, [self = shared_from_this()](beast::error_code ec, tcp::endpoint) { self->OnConnected(ec); });
  }

  void OnConnected(beast::error_code ec) {
    if (ec) {
      return End(absl::UnavailableError(
          absl::StrCat("cannot connect to ", url_.host, ":", url_.port, ": ", ec.message())));
    }
    // A charger often writes twice in a row (an answer, then its own CALL):
    // with Nagle the second waits for the peer's delayed ACK (~40 ms).
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
    const std::string basic = absl::StrCat("Basic ", absl::Base64Escape(absl::StrCat(cp_id_, ":", password_)));
    ws_.set_option(websocket::stream_base::decorator([basic](websocket::request_type& req) {
      req.set(http::field::user_agent, "evc-cp-fleet");
      req.set(http::field::sec_websocket_protocol, kSubprotocol);
      req.set(http::field::authorization, basic);
    }));
    ws_.async_handshake(upgrade_, absl::StrCat(url_.host, ":", url_.port), absl::StrCat(url_.path, "/", cp_id_),
                        [self = shared_from_this()](beast::error_code ec) { self->OnUpgraded(ec); });
  }

  void OnUpgraded(beast::error_code ec) {
    if (ec) {
      return End(UpgradeFailure(ec));
    }
    if (upgrade_[http::field::sec_websocket_protocol] != kSubprotocol) {
      beast::get_lowest_layer(ws_).close();
      return End(absl::FailedPreconditionError("the central system did not agree to subprotocol ocpp1.6"));
    }
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws_.read_message_max(pool_.options.max_message_bytes);
    std::weak_ptr<ClientConnection> weak = weak_from_this();
    endpoint_.emplace(pool_.schemas, handler_,
                      [weak](std::string text) {
                        auto self = weak.lock();
                        if (self == nullptr) return;
                        net::post(self->ws_.get_executor(), [weak, text = std::move(text)]() mutable {
                          if (auto self = weak.lock()) self->Write(std::move(text));
                        });
                      },
                      pool_.options.endpoint);
    handler_.Opened();
    ReadLoop();
    ArmTimer();
  }

  // Why the upgrade failed: refused (the gateway's answer: 401/403 are the
  // credentials, 5xx a gateway that may admit the charger later) or broken.
  absl::Status UpgradeFailure(beast::error_code ec) const {
    const unsigned code = upgrade_.result_int();
    if (code == 0 || upgrade_.result() == http::status::switching_protocols) {
      return absl::UnavailableError(absl::StrCat("WebSocket upgrade failed: ", ec.message()));
    }
    const std::string why = absl::StrCat("upgrade refused: HTTP ", code, " ", std::string(upgrade_.reason()));
    if (code == 401) return absl::UnauthenticatedError(why);
    if (code == 403) return absl::PermissionDeniedError(why);
    if (code >= 500) return absl::UnavailableError(why);
    return absl::FailedPreconditionError(why);
  }

  void ReadLoop() {
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        return self->End(ec == websocket::error::closed
                             ? absl::UnavailableError(absl::StrCat("closed by the central system: ",
                                                                   std::string(self->ws_.reason().reason.data(), self->ws_.reason().reason.size())))
                             : absl::UnavailableError(absl::StrCat("connection lost: ", ec.message())));
      }
      std::string text = beast::buffers_to_string(self->in_.data());
      self->in_.consume(self->in_.size());
      if (self->endpoint_) self->endpoint_->OnMessage(text, absl::Now());
      self->ReadLoop();
    });
  }

  void ArmTimer() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->endpoint_) return;
      self->endpoint_->Tick(absl::Now());
      self->ArmTimer();
    });
  }

  void Write(std::string text) {
    if (closing_ || !endpoint_) return;
    outgoing_.push_back(std::move(text));
    if (!writing_) WriteNext();
  }

  void WriteNext() {
    if (outgoing_.empty() || closing_) {
      writing_ = false;
      if (closing_) StartClose();
      return;
    }
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(outgoing_.front()), [self = shared_from_this()](beast::error_code ec, size_t) {
      self->outgoing_.pop_front();
      if (ec) {
        self->writing_ = false;
        beast::get_lowest_layer(self->ws_).close();
        return;  // the read ends too and reports it
      }
      self->WriteNext();
    });
  }

  void StartClose() {
    ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {
      self->End(absl::CancelledError("closed by the charger"));
    });
  }

  // The connection ended or never opened: once.
  void End(const absl::Status& why) {
    if (ended_) return;
    ended_ = true;
    pool_.connections.Remove(this);
    timer_.cancel();
    if (endpoint_) {
      endpoint_->Close();
      endpoint_.reset();
    }
    handler_.Closed(why);
  }

  OcppClientPool::Impl& pool_;
  const CentralSystemUrl url_;
  const std::string cp_id_;
  const std::string password_;
  ChargePointHandler& handler_;
  websocket::stream<beast::tcp_stream> ws_;
  tcp::resolver resolver_;
  net::steady_timer timer_;
  websocket::response_type upgrade_;
  std::optional<RpcEndpoint> endpoint_;
  beast::flat_buffer in_;
  std::deque<std::string> outgoing_;
  bool writing_ = false;
  bool closing_ = false;
  bool ended_ = false;
};

}  // namespace

void OcppClientPool::Impl::Stop() {
  // Closing handshakes get a moment; what remains is torn down below.
  connections.CloseAll([](ClientLink& c) { c.Close(); }, absl::Seconds(2));
  work.reset();
  ioc.stop();
  for (auto& t : threads) t.join();
  threads.clear();
}

OcppClientPool::OcppClientPool(int io_threads, const Schemas& schemas, ClientOptions options)
    : impl_(std::make_unique<Impl>(io_threads, schemas, options)) {}

OcppClientPool::~OcppClientPool() { Stop(); }

void OcppClientPool::Stop() {
  if (!impl_->threads.empty()) impl_->Stop();
}

std::shared_ptr<ClientLink> OcppClientPool::Connect(const CentralSystemUrl& url, const std::string& cp_id,
                                                    const std::string& password, ChargePointHandler& handler) {
  auto connection = std::make_shared<ClientConnection>(*impl_, url, cp_id, password, handler);
  impl_->connections.Add(connection);
  connection->Start();
  return connection;
}

}  // namespace evc::ocpp
