#include "services/edge/http_server.h"

#include <array>
#include <atomic>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "absl/synchronization/mutex.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/common/log.h"
#include "services/common/tcp_listener.h"
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

// WebSocket close codes 4000 + HTTP status for application errors, a common
// convention (4401: log in again, 4403: not yours...).
websocket::close_reason CloseReasonFor(const HttpError& end) {
  if (end.ok()) return websocket::close_reason(websocket::close_code::normal);
  const int http = end.http_status();
  websocket::close_reason reason(static_cast<std::uint16_t>(4000 + (http < 1000 ? http : 500)));
  reason.reason = end.message().substr(0, 120);
  return reason;
}

std::string ErrorLine(const HttpError& error) { return absl::StrCat("{\"error\":", error.Json(), "}"); }

// Errors worth telling the client; CANCELLED means it left or was dropped.
bool Failed(const HttpError& end) { return !end.ok() && end.code() != grpc::StatusCode::CANCELLED; }

}  // namespace

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

// Past this a coalesced write stops taking lines (a WebSocket message stays
// well under what browsers and proxies take).
constexpr size_t kMaxCoalescedBytes = 256 * 1024;

class StreamingClient : public StreamSink, public std::enable_shared_from_this<StreamingClient> {
 public:
  StreamingClient(net::any_io_executor executor, size_t limit) : executor_(std::move(executor)), limit_(limit) {}

  void Attach(std::shared_ptr<StreamHandle> upstream) { upstream_ = std::move(upstream); }
  // What queued while the last write was in flight goes out in one write,
  // its lines joined by newlines: one write per update and watcher would
  // cost a thousand watchers of a thousand live supplies a million writes a
  // second. Only for a transport whose client reads several lines in one
  // message (NDJSON always; WebSocket when it asked for evc.ndjson).
  void CoalesceLines() { coalesce_ = true; }

  bool OnMessage(std::shared_ptr<const std::string> line) override {
    if (pending_.fetch_add(1) >= limit_) {
      net::post(executor_, [self = shared_from_this()] { self->Drop(); });
      return false;
    }
    // One hop to the connection's strand per batch, not per line: a
    // thousand watchers of a thousand live supplies would otherwise cost a
    // million posted handlers a second.
    bool first = false;
    {
      absl::MutexLock lock(&inbox_mu_);
      first = inbox_.empty();
      inbox_.push_back(std::move(line));
    }
    if (first) net::post(executor_, [self = shared_from_this()] { self->TakeInbox(); });
    return true;
  }

  void OnEnd(const HttpError& end) override {
    net::post(executor_, [self = shared_from_this(), end] {
      self->end_.emplace(end);
      self->WriteNext();
    });
  }

 protected:
  using WriteDone = std::function<void(beast::error_code)>;
  virtual void AsyncWrite(const std::string& message, WriteDone done) = 0;
  // After the last message; `end` says how the stream ended.
  virtual void Finish(const HttpError& end) = 0;
  // Cut the connection now (broken).
  virtual void Abort() = 0;
  // End the connection of a client too slow for its queue, without waiting
  // on it for longer than a bounded while.
  virtual void CloseTooSlow() { Abort(); }

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
      if (end_) {
        closed_ = true;
        Finish(*end_);
      }
      return;
    }
    writing_ = true;
    sent_any_ = true;
    in_flight_ = coalesce_ ? JoinQueued() : 1;
    AsyncWrite(in_flight_ == 1 ? *queue_.front() : joined_, [self = shared_from_this()](beast::error_code ec) {
      self->writing_ = false;
      self->queue_.erase(self->queue_.begin(), self->queue_.begin() + static_cast<std::ptrdiff_t>(self->in_flight_));
      self->pending_.fetch_sub(self->in_flight_);
      if (ec) {
        self->ClientGone();
        return self->Abort();
      }
      self->WriteNext();
    });
  }

  void TakeInbox() {
    {
      absl::MutexLock lock(&inbox_mu_);
      for (auto& line : inbox_) queue_.push_back(std::move(line));
      inbox_.clear();
    }
    WriteNext();
  }

  // Joins the queued lines into joined_, up to kMaxCoalescedBytes (at least
  // one line); how many.
  size_t JoinQueued() {
    if (queue_.size() == 1) return 1;
    joined_.clear();
    size_t lines = 0;
    for (const auto& line : queue_) {
      if (lines > 0 && joined_.size() + line->size() >= kMaxCoalescedBytes) break;
      if (lines > 0) joined_ += '\n';
      joined_ += *line;
      ++lines;
    }
    return lines;
  }

  void Drop() {
    if (closed_) return;
    log::Warn("streaming client too slow: dropped", {{"queued", limit_}});
    ClientGone();
    // What is queued will never be sent; the close frame waits only for the
    // write in flight.
    queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(writing_ ? in_flight_ : 0), queue_.end());
    CloseTooSlow();
  }

  net::any_io_executor executor_;
  const size_t limit_;
  std::atomic<size_t> pending_{0};
  std::shared_ptr<StreamHandle> upstream_;
  // Lines from the upstream's thread, taken to queue_ on the strand.
  absl::Mutex inbox_mu_;
  std::vector<std::shared_ptr<const std::string>> inbox_ ABSL_GUARDED_BY(inbox_mu_);
  // Touched on the connection's strand only.
  std::deque<std::shared_ptr<const std::string>> queue_;
  bool coalesce_ = false;
  std::string joined_;     // the write in flight, when it joins several lines
  size_t in_flight_ = 0;  // queued lines the write in flight carries
  bool writing_ = false;
  bool closed_ = false;
  bool sent_any_ = false;
  std::optional<HttpError> end_;  // set when the stream has ended
};

// The edge's WebSocket transport: a beast::tcp_stream whose WebSocket
// teardown (found by ADL, Beast's customization point) drains the client
// before closing. Beast 1.81's own one (teardown_tcp_op in
// websocket/impl/teardown.hpp) stops after the first read that returns data
// (it tests its bytes_transferred argument, always 0, not what it read) and
// closes with the client's bytes still unread, so the kernel answers with a
// reset. When a client's message is too big, the rest of it is on the way by
// definition: the reset fails the client's write, and a Beast client whose
// write failed never reads the 1009 close frame already sent to it.
class WebSocketTransport : public beast::tcp_stream {
 public:
  explicit WebSocketTransport(beast::tcp_stream&& stream) : beast::tcp_stream(std::move(stream)) {}
};

// Bounds on what a closing client may still send: a well-behaved one sends
// the rest of its message and its close frame, then leaves.
constexpr auto kTeardownDrainTime = std::chrono::seconds(2);
constexpr size_t kTeardownDrainBytes = 1 << 20;

// Half-close (server), read and drop until the client's EOF, a timeout or
// kTeardownDrainBytes, then close.
class GracefulTeardown {
 public:
  GracefulTeardown(WebSocketTransport& stream, beast::role_type role)
      : stream_(stream), role_(role), buffer_(std::make_unique<std::array<char, 4096>>()) {}

  template <class Self>
  void operator()(Self& self, beast::error_code ec = {}, size_t bytes = 0) {
    if (!started_) {
      started_ = true;
      // A failed shutdown (the client already reset) makes the read below fail.
      if (role_ == beast::role_type::server) stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      stream_.expires_after(kTeardownDrainTime);
      return stream_.async_read_some(net::buffer(*buffer_), std::move(self));
    }
    drained_ += bytes;
    if (!ec && drained_ < kTeardownDrainBytes) return stream_.async_read_some(net::buffer(*buffer_), std::move(self));
    if (ec == net::error::eof) ec = {};
    beast::error_code ignored;
    if (!ec && role_ == beast::role_type::client) stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_never();
    stream_.socket().close(ignored);
    self.complete(ec);
  }

 private:
  WebSocketTransport& stream_;
  beast::role_type role_;
  std::unique_ptr<std::array<char, 4096>> buffer_;
  bool started_ = false;
  size_t drained_ = 0;
};

// Only the asynchronous form: the edge makes no synchronous WebSocket calls.
template <class TeardownHandler>
void async_teardown(beast::role_type role, WebSocketTransport& stream, TeardownHandler&& handler) {
  net::async_compose<TeardownHandler, void(beast::error_code)>(GracefulTeardown(stream, role), handler, stream);
}

// How long a client dropped as too slow has to take its close frame (it waits
// behind the write in flight) and answer it, before it is cut.
constexpr auto kTooSlowCloseGrace = std::chrono::seconds(5);

class WebSocketClient : public StreamingClient {
 public:
  WebSocketClient(websocket::stream<WebSocketTransport> ws, size_t limit)
      : StreamingClient(ws.get_executor(), limit), ws_(std::move(ws)), close_deadline_(ws_.get_executor()) {}

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

  websocket::stream<WebSocketTransport>& ws() { return ws_; }

 protected:
  void AsyncWrite(const std::string& message, WriteDone done) override {
    ws_.text(true);
    ws_.async_write(net::buffer(message), [done = std::move(done)](beast::error_code ec, size_t) { done(ec); });
  }

  void Finish(const HttpError& end) override {
    if (Failed(end)) {
      // Say why in a last frame, then close with a matching code.
      auto line = std::make_shared<std::string>(ErrorLine(end));
      ws_.text(true);
      auto close = [self = Self(), line, reason = CloseReasonFor(end)](beast::error_code, size_t) {
        self->ws_.async_close(reason, [self](beast::error_code) {});
      };
      ws_.async_write(net::buffer(*line), std::move(close));
      return;
    }
    ws_.async_close(CloseReasonFor(end), [self = Self()](beast::error_code) {});
  }

  void Abort() override {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).close();
  }

  // 1013 (try again later) tells the client why, and that reconnecting is
  // fine (the web apps do, with backoff). Beast lets the close frame wait
  // for the write in flight; the deadline keeps a client that reads nothing
  // from holding its connection.
  void CloseTooSlow() override {
    websocket::close_reason reason(websocket::close_code::try_again_later);
    reason.reason = "too slow for the stream: reconnect";
    close_deadline_.expires_after(kTooSlowCloseGrace);
    close_deadline_.async_wait([self = Self()](beast::error_code ec) {
      if (!ec) self->Abort();
    });
    ws_.async_close(reason, [self = Self()](beast::error_code ec) {
      self->close_deadline_.cancel();
      if (ec) self->Abort();
    });
  }

 private:
  std::shared_ptr<WebSocketClient> Self() { return std::static_pointer_cast<WebSocketClient>(shared_from_this()); }

  websocket::stream<WebSocketTransport> ws_;
  beast::flat_buffer in_;
  net::steady_timer close_deadline_;
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

  void Finish(const HttpError& end) override {
    if (!header_sent_) {
      // Nothing sent yet: an ordinary HTTP answer (200 and no lines for OK).
      auto res = std::make_shared<Response>(static_cast<http::status>(end.http_status()), version_);
      res->set(http::field::server, "evc-edge");
      res->set(http::field::content_type, end.ok() ? "application/x-ndjson" : "application/json");
      for (const auto& [k, v] : headers_) res->set(k, v);
      res->body() = end.ok() ? "" : end.Json();
      res->keep_alive(false);
      res->prepare_payload();
      http::async_write(stream_, *res, [self = Self(), res](beast::error_code, size_t) { self->Abort(); });
      return;
    }
    auto last = std::make_shared<std::string>(Failed(end) ? ErrorLine(end) + "\n" : "");
    auto finish = [self = Self()] {
      net::async_write(self->stream_, http::make_chunk_last(), [self](beast::error_code, size_t) { self->Abort(); });
    };
    if (last->empty()) return finish();
    net::async_write(stream_, http::make_chunk(net::buffer(*last)),
                     [last, finish](beast::error_code, size_t) { finish(); });
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
    ConfigureParser(edge_.config, *parser_);
    stream_.expires_after(absl::ToChronoMilliseconds(edge_.config.idle_timeout));
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->OnRead(ec);
    });
  }

  void OnRead(beast::error_code ec) {
    if (ec) {
      std::optional<Reply> reply = ReadErrorReply(edge_.config, ec, parser_->get());
      if (!reply) return Close();
      // What was parsed of the request, if anything, keeps its version.
      Request bad = ec == http::error::body_limit ? parser_->get() : Request();
      if (bad.version() == 0) bad.version(11);
      return SendReply(bad, *reply);
    }
    Request req = parser_->release();
    // Nothing an outsider sends may escape onto the I/O thread: a request
    // the edge cannot handle is answered 500 and its connection closed.
    std::optional<Plan> plan;
    try {
      plan = PlanRequest(edge_.config, edge_.routes, edge_.docs, req, peer_);
    } catch (const std::exception& e) {
      log::Error("request handling failed: answered 500",
                 {{"error", e.what()}, {"peer", peer_}, {"method", ToString(req.method_string())}});
      const absl::Status failed = absl::InternalError("the edge could not handle this request; it was logged");
      return SendReply(req, ErrorReply(HttpError(failed), true));
    }
    cors_ = std::move(plan->cors);
    Execute(std::move(req), std::move(*plan));
  }

  void Execute(Request req, Plan plan) {
    switch (plan.kind) {
      case Plan::Kind::kReply: return SendReply(req, plan.reply);
      case Plan::Kind::kUnary: return Unary(std::move(req), std::move(plan));
      case Plan::Kind::kNdjson: return Ndjson(req, std::move(plan));
      case Plan::Kind::kWebSocket: return Upgrade(std::move(req), std::move(plan));
      case Plan::Kind::kReady: return Ready(req);
      case Plan::Kind::kStaticFile: return StaticFile(req, plan.file);
    }
  }

  // ---- REST ----

  void Unary(Request req, Plan plan) {
    auto self = shared_from_this();
    auto held = std::make_shared<Request>(std::move(req));
    const Route* route = plan.route;
    edge_.upstreams.Unary(*route, std::move(plan.request_bytes), plan.metadata,
                          [self, held, route](const grpc::Status& status, std::string bytes) {
                            net::post(self->stream_.get_executor(), [self, held, route, status, bytes = std::move(bytes)] {
                              self->Answer(*held, *route, status, bytes);
                            });
                          });
  }

  void Answer(const Request& req, const Route& route, const grpc::Status& status, const std::string& bytes) {
    if (!status.ok()) return SendReply(req, ErrorReply(HttpError(status)));
    auto json = edge_.upstreams.json().Get(*route.method->output_type(), bytes, false);
    if (!json.ok()) {
      return SendReply(req, ErrorReply(HttpError(HttpOnlyStatus::kBadGateway, std::string(json.status().message()))));
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

  void Ndjson(const Request& req, Plan plan) {
    auto client = std::make_shared<NdjsonClient>(std::move(stream_), req.version(), cors_,
                                                 edge_.config.stream_queue_limit);
    client->CoalesceLines();
    client->Attach(edge_.upstreams.Stream(*plan.route, std::move(plan.request_bytes), plan.metadata, client));
    client->ReadLoop();
  }

  void Upgrade(Request req, Plan plan) {
    stream_.expires_never();
    websocket::stream<WebSocketTransport> ws(std::move(stream_));
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    const bool lines = OffersSubprotocol(req, kNdjsonSubprotocol);
    ConfigureServerWebSocket(edge_.config, ws, lines ? kNdjsonSubprotocol : nullptr);
    auto client = std::make_shared<WebSocketClient>(std::move(ws), edge_.config.stream_queue_limit);
    if (lines) client->CoalesceLines();
    auto held = std::make_shared<Request>(std::move(req));
    auto planned = std::make_shared<Plan>(std::move(plan));
    client->ws().async_accept(*held, [client, held, planned, this_edge = &edge_](beast::error_code ec) {
      if (ec) return;
      client->Attach(this_edge->upstreams.Stream(*planned->route, std::move(planned->request_bytes),
                                                 planned->metadata, client));
      client->ReadLoop();
    });
  }

  // ---- plain HTTP ----

  void Ready(const Request& req) { SendReply(req, ReadyReply(edge_.upstreams.Unreachable())); }

  void StaticFile(const Request& req, const std::string& relative) {
    const std::string target = ToString(req.target());
    const std::string path = target.substr(0, target.find('?'));
    if (edge_.web_root.empty()) return SendReply(req, NotFoundReply(path));
    std::error_code ec;
    std::filesystem::path file = std::filesystem::weakly_canonical(edge_.web_root / relative, ec);
    const std::string root = edge_.web_root.string() + "/";
    if (ec || file.string().rfind(root, 0) != 0 || !std::filesystem::is_regular_file(file, ec)) {
      return SendReply(req, NotFoundReply(path));
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

  void SendReply(const Request& req, const Reply& reply) {
    SendBody(req, reply.status, reply.content_type, reply.body, reply.headers, reply.close);
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
  absl::StatusOr<int> listening = ServeConnections(
      acceptor, ioc, config.listen, config.io_threads, "a connection handler failed; that connection was dropped",
      [this](tcp::socket socket) { std::make_shared<HttpSession>(std::move(socket), *this)->Run(); }, threads);
  if (!listening.ok()) return listening.status();
  port = *listening;
  return absl::OkStatus();
}

void EdgeServer::Impl::Stop() {
  StopAccepting(acceptor);
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
