#include "services/edge/http_server.h"

#include <atomic>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/common/log.h"
#include "services/edge/http_status.h"
#include "services/edge/transcoder.h"

namespace evc::edge {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Responses that start or end a browser session (see kSessionCookie).
constexpr char kSessionIssuingType[] = "evc.auth.v1.TokenPair";
constexpr char kSessionEndingMethod[] = "/evc.auth.v1.AuthService/Logout";

std::string ToString(beast::string_view s) { return std::string(s.data(), s.size()); }

bool IsUnsafe(http::verb v) {
  return v == http::verb::post || v == http::verb::put || v == http::verb::patch || v == http::verb::delete_;
}

std::string ContentType(const std::filesystem::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  return "application/octet-stream";
}

// The access token of a request: the Authorization header wins over the cookie.
std::string BearerOf(const Request& req) {
  beast::string_view auth = req[http::field::authorization];
  absl::string_view value(auth.data(), auth.size());
  if (absl::StartsWithIgnoreCase(value, "Bearer ")) {
    return std::string(absl::StripAsciiWhitespace(value.substr(7)));
  }
  beast::string_view cookie = req[http::field::cookie];
  return CookieValue(absl::string_view(cookie.data(), cookie.size()), kSessionCookie);
}

// WebSocket close codes 4000 + HTTP status for application errors, a common
// convention (4401: log in again, 4403: not yours...).
websocket::close_reason CloseReasonFor(const grpc::Status& status) {
  if (status.ok()) return websocket::close_reason(websocket::close_code::normal);
  std::string why = status.error_message().substr(0, 120);
  int http = HttpStatusFromGrpc(status.error_code());
  websocket::close_reason reason(static_cast<std::uint16_t>(4000 + (http < 1000 ? http : 500)));
  reason.reason = why;
  return reason;
}

std::string ErrorLine(const grpc::Status& status) {
  return absl::StrCat("{\"error\":", ErrorJson(status.error_code(), status.error_message()), "}");
}

}  // namespace

std::string CookieValue(absl::string_view cookie_header, absl::string_view name) {
  for (absl::string_view part : absl::StrSplit(cookie_header, ';')) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::StartsWith(part, name) && part.size() > name.size() && part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
  }
  return "";
}

bool OriginAllowed(absl::string_view origin, absl::string_view host, const std::vector<std::string>& allowed) {
  if (origin.empty()) return true;  // not a browser: nothing to forge
  for (const std::string& a : allowed) {
    if (a == "*" || a == origin) return true;
  }
  // Same origin: scheme://<the Host header>.
  size_t scheme_end = origin.find("://");
  return scheme_end != absl::string_view::npos && !host.empty() && origin.substr(scheme_end + 3) == host;
}

class EdgeServer::Impl {
 public:
  Impl(EdgeConfig config, const RouteTable& routes, Upstreams& upstreams, StaticDocuments docs)
      : config(std::move(config)), routes(routes), upstreams(upstreams), docs(std::move(docs)),
        ioc(std::max(1, this->config.io_threads)), acceptor(net::make_strand(ioc)) {
    std::error_code ec;
    web_root = std::filesystem::weakly_canonical(this->config.web_root, ec);
  }

  absl::Status Start();
  void Stop();
  void Accept();

  const EdgeConfig config;
  const RouteTable& routes;
  Upstreams& upstreams;
  const StaticDocuments docs;
  std::filesystem::path web_root;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  int port = 0;
};

// ---- streams to clients: a bounded queue drained by one write at a time ----

class StreamingClient : public StreamSink, public std::enable_shared_from_this<StreamingClient> {
 public:
  StreamingClient(net::any_io_executor executor, size_t limit) : executor_(std::move(executor)), limit_(limit) {}

  void Attach(std::shared_ptr<StreamHandle> upstream) { upstream_ = std::move(upstream); }

  bool OnMessage(std::shared_ptr<const std::string> line) override {
    if (pending_.fetch_add(1) >= limit_) {
      net::post(executor_, [self = shared_from_this()] { self->Drop(); });
      return false;
    }
    net::post(executor_, [self = shared_from_this(), line] {
      self->queue_.push_back(line);
      self->WriteNext();
    });
    return true;
  }

  void OnEnd(const grpc::Status& status) override {
    net::post(executor_, [self = shared_from_this(), status] {
      self->ended_ = true;
      self->end_status_ = status;
      self->WriteNext();
    });
  }

 protected:
  using WriteDone = std::function<void(beast::error_code)>;
  virtual void AsyncWrite(const std::string& message, WriteDone done) = 0;
  // After the last message; the status says how the upstream ended.
  virtual void Finish(const grpc::Status& status) = 0;
  // Cut the connection now (too slow, or broken).
  virtual void Abort() = 0;

  // The client went away: stop the upstream.
  void ClientGone() {
    if (closed_) return;
    closed_ = true;
    if (upstream_) upstream_->Cancel();
  }

  bool sent_any() const { return sent_any_; }
  bool closed() const { return closed_; }

 private:
  void WriteNext() {
    if (closed_ || writing_) return;
    if (queue_.empty()) {
      if (ended_) {
        closed_ = true;
        Finish(end_status_);
      }
      return;
    }
    writing_ = true;
    sent_any_ = true;
    AsyncWrite(*queue_.front(), [self = shared_from_this()](beast::error_code ec) {
      self->writing_ = false;
      self->queue_.pop_front();
      self->pending_.fetch_sub(1);
      if (ec) {
        self->ClientGone();
        return self->Abort();
      }
      self->WriteNext();
    });
  }

  void Drop() {
    if (closed_) return;
    log::Warn("streaming client too slow: dropped", {{"queued", limit_}});
    ClientGone();
    Abort();  // the write in flight fails; what is queued goes with this object
  }

  net::any_io_executor executor_;
  const size_t limit_;
  std::atomic<size_t> pending_{0};
  std::shared_ptr<StreamHandle> upstream_;
  // Touched on the connection's strand only.
  std::deque<std::shared_ptr<const std::string>> queue_;
  bool writing_ = false;
  bool ended_ = false;
  bool closed_ = false;
  bool sent_any_ = false;
  grpc::Status end_status_;
};

class WebSocketClient : public StreamingClient {
 public:
  WebSocketClient(websocket::stream<beast::tcp_stream> ws, size_t limit)
      : StreamingClient(ws.get_executor(), limit), ws_(std::move(ws)) {}

  // After the handshake: read (and ignore) client frames to see it leave.
  void ReadLoop() {
    ws_.async_read(in_, [self = Self()](beast::error_code ec, size_t) {
      if (ec) {
        self->ClientGone();
        return;
      }
      self->in_.consume(self->in_.size());
      self->ReadLoop();
    });
  }

  websocket::stream<beast::tcp_stream>& ws() { return ws_; }

 protected:
  void AsyncWrite(const std::string& message, WriteDone done) override {
    ws_.text(true);
    ws_.async_write(net::buffer(message), [done = std::move(done)](beast::error_code ec, size_t) { done(ec); });
  }

  void Finish(const grpc::Status& status) override {
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      // Say why in a last frame, then close with a matching code.
      auto line = std::make_shared<std::string>(ErrorLine(status));
      ws_.text(true);
      ws_.async_write(net::buffer(*line), [self = Self(), line, status](beast::error_code, size_t) {
        self->ws_.async_close(CloseReasonFor(status), [self](beast::error_code) {});
      });
      return;
    }
    ws_.async_close(CloseReasonFor(status), [self = Self()](beast::error_code) {});
  }

  void Abort() override {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).close();
  }

 private:
  std::shared_ptr<WebSocketClient> Self() { return std::static_pointer_cast<WebSocketClient>(shared_from_this()); }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer in_;
};

// Newline-delimited JSON over chunked HTTP. The status line waits for the
// first message, so a stream refused at once gets a proper HTTP error.
class NdjsonClient : public StreamingClient {
 public:
  NdjsonClient(beast::tcp_stream stream, unsigned version, std::vector<std::pair<std::string, std::string>> headers,
               size_t limit)
      : StreamingClient(stream.get_executor(), limit), stream_(std::move(stream)), version_(version),
        headers_(std::move(headers)) {
    stream_.expires_never();
  }

  // Watches the socket so a client that leaves ends the upstream.
  void ReadLoop() {
    stream_.async_read_some(net::buffer(sink_), [self = Self()](beast::error_code ec, size_t) {
      if (ec) return self->ClientGone();
      self->ReadLoop();
    });
  }

 protected:
  void AsyncWrite(const std::string& message, WriteDone done) override {
    auto chunk = std::make_shared<std::string>(message + "\n");
    if (!header_sent_) {
      header_sent_ = true;
      auto header = std::make_shared<http::response<http::empty_body>>(http::status::ok, version_);
      header->set(http::field::server, "evc-edge");
      header->set(http::field::content_type, "application/x-ndjson");
      header->set(http::field::cache_control, "no-store");
      for (const auto& [k, v] : headers_) header->set(k, v);
      header->chunked(true);
      auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*header);
      http::async_write_header(stream_, *serializer,
                               [self = Self(), header, serializer, chunk, done](beast::error_code ec, size_t) {
                                 if (ec) return done(ec);
                                 self->WriteChunk(chunk, done);
                               });
      return;
    }
    WriteChunk(chunk, std::move(done));
  }

  void Finish(const grpc::Status& status) override {
    const bool failed = !status.ok() && status.error_code() != grpc::StatusCode::CANCELLED;
    if (!header_sent_) {
      // Nothing sent yet: an ordinary HTTP answer.
      auto res = std::make_shared<Response>(static_cast<http::status>(HttpStatusFromGrpc(status.error_code())), version_);
      res->set(http::field::server, "evc-edge");
      res->set(http::field::content_type, status.ok() ? "application/x-ndjson" : "application/json");
      for (const auto& [k, v] : headers_) res->set(k, v);
      res->body() = status.ok() ? "" : ErrorJson(status.error_code(), status.error_message());
      res->keep_alive(false);
      res->prepare_payload();
      http::async_write(stream_, *res, [self = Self(), res](beast::error_code, size_t) { self->Abort(); });
      return;
    }
    auto end = std::make_shared<std::string>(failed ? ErrorLine(status) + "\n" : "");
    auto finish = [self = Self()] {
      net::async_write(self->stream_, http::make_chunk_last(), [self](beast::error_code, size_t) { self->Abort(); });
    };
    if (end->empty()) return finish();
    net::async_write(stream_, http::make_chunk(net::buffer(*end)), [end, finish](beast::error_code, size_t) { finish(); });
  }

  void Abort() override {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  std::shared_ptr<NdjsonClient> Self() { return std::static_pointer_cast<NdjsonClient>(shared_from_this()); }

  void WriteChunk(std::shared_ptr<std::string> chunk, WriteDone done) {
    net::async_write(stream_, http::make_chunk(net::buffer(*chunk)),
                     [chunk, done = std::move(done)](beast::error_code ec, size_t) { done(ec); });
  }

  beast::tcp_stream stream_;
  const unsigned version_;
  const std::vector<std::pair<std::string, std::string>> headers_;
  bool header_sent_ = false;
  char sink_[512];
};

// ---- one HTTP connection ----

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, EdgeServer::Impl& edge) : stream_(std::move(socket)), edge_(edge) {
    beast::error_code ec;
    tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ = remote.address().to_string();
  }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(edge_.config.max_body_bytes);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(absl::ToChronoMilliseconds(edge_.config.idle_timeout));
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->OnRead(ec);
    });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::connection_reset ||
        ec == net::error::eof) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      return SendError(parser_->get(), http::status::payload_too_large, grpc::StatusCode::INVALID_ARGUMENT,
                       absl::StrCat("request body larger than ", edge_.config.max_body_bytes, " bytes"), true);
    }
    if (ec) {
      Request bad;
      bad.version(11);
      return SendError(bad, http::status::bad_request, grpc::StatusCode::INVALID_ARGUMENT,
                       absl::StrCat("malformed HTTP request: ", ec.message()), true);
    }
    Handle(parser_->release());
  }

  void Handle(Request req) {
    const std::string target = ToString(req.target());
    const size_t q = target.find('?');
    const std::string path = target.substr(0, q);
    const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
    const std::string origin = ToString(req[http::field::origin]);
    const std::string host = ToString(req[http::field::host]);
    const bool origin_ok = OriginAllowed(origin, host, edge_.config.allowed_origins);
    cors_.clear();
    if (!origin.empty() && origin_ok && !absl::EndsWith(origin, "://" + host)) {
      cors_ = {{"Access-Control-Allow-Origin", origin}, {"Vary", "Origin"},
               {"Access-Control-Allow-Credentials", "true"}};
    }

    if (websocket::is_upgrade(req)) return Upgrade(std::move(req), path, query, origin_ok);
    if (req.method() == http::verb::options) return Preflight(req, origin_ok);
    if (absl::StartsWith(path, "/v1/")) {
      if (IsUnsafe(req.method()) && !origin_ok) {
        return SendError(req, http::status::forbidden, grpc::StatusCode::PERMISSION_DENIED,
                         absl::StrCat("origin '", origin, "' may not call this API"), false);
      }
      return Api(std::move(req), path, query);
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      return SendError(req, http::status::method_not_allowed, grpc::StatusCode::UNIMPLEMENTED,
                       absl::StrCat(ToString(req.method_string()), " is not allowed on ", path), false,
                       {{"Allow", "GET, HEAD"}});
    }
    if (path == "/openapi.json") return SendBody(req, http::status::ok, "application/json", edge_.docs.openapi_json);
    if (path == "/api" || path == "/api/") return SendBody(req, http::status::ok, "text/html; charset=utf-8", edge_.docs.api_html);
    if (path == "/healthz") return SendBody(req, http::status::ok, "application/json", "{\"status\":\"SERVING\"}");
    if (path == "/readyz") return Ready(req);
    if (path == "/") return Redirect(req, "/app/");
    if (path == "/app" || path == "/ops") return Redirect(req, path + "/");
    return StaticFile(req, path);
  }

  // ---- REST ----

  void Api(Request req, const std::string& path, const std::string& query) {
    RouteTable::Lookup lookup = edge_.routes.Match(ToString(req.method_string()), path);
    if (lookup.outcome == RouteTable::Outcome::kNoRoute) {
      return SendError(req, http::status::not_found, grpc::StatusCode::NOT_FOUND,
                       absl::StrCat("no route for ", ToString(req.method_string()), " ", path,
                                    "; the routes are listed at /openapi.json"), false);
    }
    if (lookup.outcome == RouteTable::Outcome::kWrongMethod) {
      const std::string allow = absl::StrJoin(lookup.allowed, ", ");
      return SendError(req, http::status::method_not_allowed, grpc::StatusCode::UNIMPLEMENTED,
                       absl::StrCat(path, " takes ", allow, ", not ", ToString(req.method_string())), false,
                       {{"Allow", allow}});
    }
    const Route& route = *lookup.route;
    auto request = BuildRequest(route, lookup.bindings, query, req.body());
    if (!request.ok()) {
      return SendError(req, http::status::bad_request, grpc::StatusCode::INVALID_ARGUMENT,
                       request.status().message(), false);
    }
    CallMetadata metadata{BearerOf(req), peer_};
    if (route.server_streaming) return Ndjson(req, route, (*request)->SerializeAsString(), metadata);

    auto self = shared_from_this();
    auto held = std::make_shared<Request>(std::move(req));
    edge_.upstreams.Unary(route, (*request)->SerializeAsString(), metadata,
                          [self, held, &route](const grpc::Status& status, std::string bytes) {
                            net::post(self->stream_.get_executor(), [self, held, &route, status, bytes = std::move(bytes)] {
                              self->Answer(*held, route, status, bytes);
                            });
                          });
  }

  void Answer(const Request& req, const Route& route, const grpc::Status& status, const std::string& bytes) {
    if (!status.ok()) {
      return SendError(req, static_cast<http::status>(HttpStatusFromGrpc(status.error_code())), status.error_code(),
                       status.error_message(), false);
    }
    auto json = edge_.upstreams.json().Get(*route.method->output_type(), bytes, false);
    if (!json.ok()) {
      return SendError(req, http::status::bad_gateway, grpc::StatusCode::INTERNAL, json.status().message(), false);
    }
    std::vector<std::pair<std::string, std::string>> extra;
    if (std::string cookie = SessionCookie(route, bytes); !cookie.empty()) extra.push_back({"Set-Cookie", cookie});
    SendBody(req, http::status::ok, "application/json", **json, extra);
  }

  // Browsers keep the access token in an HttpOnly cookie (WebSockets cannot
  // send an Authorization header).
  std::string SessionCookie(const Route& route, const std::string& bytes) const {
    const std::string attributes =
        absl::StrCat("; Path=/; HttpOnly; SameSite=Strict", edge_.config.secure_cookies ? "; Secure" : "");
    if (route.grpc_path == kSessionEndingMethod) return absl::StrCat(kSessionCookie, "=; Max-Age=0", attributes);
    if (route.method->output_type()->full_name() != kSessionIssuingType) return "";
    auto parsed = ParseResponse(*route.method, bytes);
    if (!parsed.ok()) return "";
    const google::protobuf::Message& response = **parsed;
    const auto* desc = response.GetDescriptor();
    const auto* refl = response.GetReflection();
    std::string token = refl->GetString(response, desc->FindFieldByName("access_token"));
    const auto& expires = static_cast<const google::protobuf::Timestamp&>(
        refl->GetMessage(response, desc->FindFieldByName("access_expires_at")));
    int64_t max_age = std::max<int64_t>(0, expires.seconds() - absl::ToUnixSeconds(absl::Now()));
    return absl::StrCat(kSessionCookie, "=", token, "; Max-Age=", max_age, attributes);
  }

  // ---- streams ----

  void Ndjson(const Request& req, const Route& route, std::string request_bytes, const CallMetadata& metadata) {
    auto client = std::make_shared<NdjsonClient>(std::move(stream_), req.version(), cors_,
                                                 edge_.config.stream_queue_limit);
    client->Attach(edge_.upstreams.Stream(route, std::move(request_bytes), metadata, client));
    client->ReadLoop();
  }

  void Upgrade(Request req, const std::string& path, const std::string& query, bool origin_ok) {
    if (!origin_ok) {
      return SendError(req, http::status::forbidden, grpc::StatusCode::PERMISSION_DENIED,
                       absl::StrCat("origin '", ToString(req[http::field::origin]), "' may not open WebSockets here"),
                       true);
    }
    RouteTable::Lookup lookup = edge_.routes.Match("GET", path);
    if (lookup.outcome != RouteTable::Outcome::kFound || !lookup.route->server_streaming) {
      return SendError(req, http::status::not_found, grpc::StatusCode::NOT_FOUND,
                       absl::StrCat("no stream at ", path, "; streams are the GET routes marked as such in /openapi.json"),
                       true);
    }
    const Route& route = *lookup.route;
    auto request = BuildRequest(route, lookup.bindings, query, "");
    if (!request.ok()) {
      return SendError(req, http::status::bad_request, grpc::StatusCode::INVALID_ARGUMENT,
                       request.status().message(), true);
    }
    CallMetadata metadata{BearerOf(req), peer_};
    stream_.expires_never();
    websocket::stream<beast::tcp_stream> ws(std::move(stream_));
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "evc-edge"); }));
    auto client = std::make_shared<WebSocketClient>(std::move(ws), edge_.config.stream_queue_limit);
    auto held = std::make_shared<Request>(std::move(req));
    auto bytes = std::make_shared<std::string>((*request)->SerializeAsString());
    client->ws().async_accept(*held, [client, held, bytes, metadata, &route, this_edge = &edge_](beast::error_code ec) {
      if (ec) return;
      client->Attach(this_edge->upstreams.Stream(route, std::move(*bytes), metadata, client));
      client->ReadLoop();
    });
  }

  // ---- plain HTTP ----

  void Preflight(const Request& req, bool origin_ok) {
    if (!origin_ok) {
      return SendError(req, http::status::forbidden, grpc::StatusCode::PERMISSION_DENIED, "origin not allowed", false);
    }
    SendBody(req, http::status::no_content, "", "",
             {{"Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE"},
              {"Access-Control-Allow-Headers", "Authorization, Content-Type"},
              {"Access-Control-Max-Age", "600"}});
  }

  void Ready(const Request& req) {
    std::vector<std::string> down = edge_.upstreams.Unreachable();
    if (down.empty()) return SendBody(req, http::status::ok, "application/json", "{\"status\":\"SERVING\"}");
    SendError(req, http::status::service_unavailable, grpc::StatusCode::UNAVAILABLE,
              absl::StrCat("cannot reach: ", absl::StrJoin(down, ", ")), false);
  }

  void Redirect(const Request& req, const std::string& to) {
    SendBody(req, http::status::found, "text/plain", "", {{"Location", to}});
  }

  void StaticFile(const Request& req, const std::string& path) {
    std::string decoded;
    if (edge_.web_root.empty() || !PercentDecode(path, &decoded) || decoded.find("..") != std::string::npos ||
        decoded.find('\0') != std::string::npos) {
      return NotFound(req, path);
    }
    if (decoded.back() == '/') decoded += "index.html";
    std::error_code ec;
    std::filesystem::path file = std::filesystem::weakly_canonical(edge_.web_root / decoded.substr(1), ec);
    const std::string root = edge_.web_root.string() + "/";
    if (ec || file.string().rfind(root, 0) != 0 || !std::filesystem::is_regular_file(file, ec)) {
      return NotFound(req, path);
    }
    std::ifstream in(file, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    SendBody(req, http::status::ok, ContentType(file), content.str(),
             {{"Cache-Control", "no-cache"},
              {"Content-Security-Policy",
               "default-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'"},
              {"Referrer-Policy", "no-referrer"}});
  }

  void NotFound(const Request& req, const std::string& path) {
    SendError(req, http::status::not_found, grpc::StatusCode::NOT_FOUND,
              absl::StrCat("nothing at ", path, " (driver app: /app/, dashboard: /ops/, API: /api)"), false);
  }

  void SendError(const Request& req, http::status status, grpc::StatusCode code, absl::string_view message,
                 bool close, std::vector<std::pair<std::string, std::string>> extra = {}) {
    SendBody(req, status, "application/json", ErrorJson(code, message), std::move(extra), close);
  }

  void SendBody(const Request& req, http::status status, const std::string& content_type, std::string body,
                std::vector<std::pair<std::string, std::string>> extra = {}, bool close = false) {
    auto res = std::make_shared<Response>(status, req.version() == 0 ? 11 : req.version());
    res->set(http::field::server, "evc-edge");
    if (!content_type.empty()) res->set(http::field::content_type, content_type);
    res->set("X-Content-Type-Options", "nosniff");
    if (content_type == "application/json") res->set(http::field::cache_control, "no-store");
    for (const auto& [k, v] : cors_) res->set(k, v);
    for (const auto& [k, v] : extra) res->insert(k, v);
    const bool head = req.method() == http::verb::head;
    res->body() = std::move(body);
    res->keep_alive(!close && req.keep_alive());
    res->prepare_payload();
    if (head) res->body().clear();
    http::async_write(stream_, *res, [self = shared_from_this(), res, head](beast::error_code ec, size_t) {
      if (ec || !res->keep_alive()) return self->Close();
      self->Read();
    });
  }

  // Half-closes, then reads and drops what the client still sends (say, the
  // rest of a body refused as too large) for a moment: closing with unread
  // data would reset the connection and could destroy our answer in flight.
  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(2));
    Drain();
  }

  void Drain() {
    stream_.async_read_some(net::buffer(drain_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec) self->Drain();
    });
  }

  beast::tcp_stream stream_;
  EdgeServer::Impl& edge_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string peer_;
  std::vector<std::pair<std::string, std::string>> cors_;
  char drain_[4096];
};

// ---- server ----

absl::Status EdgeServer::Impl::Start() {
  size_t colon = config.listen.rfind(':');
  if (colon == std::string::npos) return absl::InvalidArgumentError(absl::StrCat("--listen '", config.listen, "' is not host:port"));
  std::string host = config.listen.substr(0, colon);
  int port_number;
  if (!absl::SimpleAtoi(config.listen.substr(colon + 1), &port_number)) {
    return absl::InvalidArgumentError(absl::StrCat("--listen '", config.listen, "': bad port"));
  }
  if (absl::StartsWith(host, "[")) host = host.substr(1, host.size() - 2);
  beast::error_code ec;
  net::ip::address address = net::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("--listen '", config.listen, "': ", ec.message()));
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port_number));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen, ": ", ec.message()));
  port = acceptor.local_endpoint().port();
  Accept();
  for (int i = 0; i < std::max(1, config.io_threads); ++i) threads.emplace_back([this] { ioc.run(); });
  return absl::OkStatus();
}

void EdgeServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<HttpSession>(std::move(socket), *this)->Run();
    }
    Accept();
  });
}

void EdgeServer::Impl::Stop() {
  net::post(acceptor.get_executor(), [this] {
    beast::error_code ec;
    acceptor.close(ec);
  });
  upstreams.CancelAll(absl::Seconds(2));
  ioc.stop();
  for (auto& t : threads) t.join();
  threads.clear();
}

EdgeServer::EdgeServer(EdgeConfig config, const RouteTable& routes, Upstreams& upstreams, StaticDocuments docs)
    : impl_(std::make_unique<Impl>(std::move(config), routes, upstreams, std::move(docs))) {}
EdgeServer::~EdgeServer() {
  if (!impl_->threads.empty()) impl_->Stop();
}
absl::Status EdgeServer::Start() { return impl_->Start(); }
int EdgeServer::port() const { return impl_->port; }
void EdgeServer::Stop() { impl_->Stop(); }

}  // namespace evc::edge
