#pragma once
// What the edge does with one HTTP request, decided without I/O: the limits
// of the parser, the request target checked once, origins, the route, the
// gRPC request built from path, query and body, and the caller's token.
// Everything an outsider controls up to the upstream call passes through
// here, so unit tests and fuzz targets drive it with no network.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/edge/http_status.h"
#include "services/edge/routes.h"
#include "services/edge/upstreams.h"

namespace evc::edge {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct EdgeConfig {
  std::string listen = "127.0.0.1:8080";
  int io_threads = 2;
  size_t max_body_bytes = 1 << 20;
  // The request line and the header fields together: more is refused with
  // 414 (a long request line) or 431 before anything else is read.
  size_t max_header_bytes = 16 * 1024;
  // A longer access token (header or cookie) is refused with 401 before any
  // upstream call: gRPC takes at most 8 KiB of metadata, and the edge's own
  // tokens are far shorter.
  size_t max_token_bytes = 4 * 1024;
  // Clients send nothing the edge reads on a WebSocket but control frames: a
  // longer message closes the connection (1009) instead of being buffered.
  size_t max_ws_message_bytes = 4 * 1024;
  // Browser origins allowed besides the edge's own (CORS, WebSocket), e.g.
  // "https://ops.example.com"; "*" allows any.
  std::vector<std::string> allowed_origins;
  // Mark the session cookie Secure (behind HTTPS).
  bool secure_cookies = false;
  // Messages queued for one streaming client before it is dropped as too slow.
  size_t stream_queue_limit = 4096;
  // Idle keep-alive connections and slow request headers are cut after this.
  absl::Duration idle_timeout = absl::Seconds(60);
  // Directory with app/, ops/ and shared/ (the web apps).
  std::string web_root;
};

// Served as they are at start-up.
struct StaticDocuments {
  std::string openapi_json;
  std::string api_html;
};

// The cookie that carries a browser's access token.
inline constexpr char kSessionCookie[] = "evc_session";

// The value of cookie `name` in a Cookie header, or "".
std::string CookieValue(absl::string_view cookie_header, absl::string_view name);
// Whether a browser at `origin` may call this edge, reached as `host`.
bool OriginAllowed(absl::string_view origin, absl::string_view host, const std::vector<std::string>& allowed);

// An origin-form request target, "/path?query", split once.
struct RequestTarget {
  std::string path;   // as sent (still %-encoded), starts with '/'
  std::string query;  // after the first '?', "" for none
};
// INVALID_ARGUMENT saying what to send instead for anything but origin-form:
// no path ("?x"), no leading '/' ("x"), asterisk-form ("*"), absolute-form
// ("http://host/path", for proxies), a '#' fragment, a bad %-escape.
absl::StatusOr<RequestTarget> ParseRequestTarget(absl::string_view target);

// The file a static path names, relative to the web root, %-decoded, with
// index.html for a directory; NOT_FOUND for "..", NUL or empty segments.
absl::StatusOr<std::string> StaticFilePath(absl::string_view path);

// An answer sent as it is.
struct Reply {
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string content_type;
  std::string body;
  HeaderList headers;
  bool close = false;
};
// 404 for a path with nothing behind it, naming what is served.
Reply NotFoundReply(absl::string_view path);
// `error` with its HTTP status and JSON body from http_status.h's table.
Reply ErrorReply(const HttpError& error, bool close = false, HeaderList headers = {});
// /readyz: SERVING, or 503 naming the upstreams that cannot be reached.
Reply ReadyReply(const std::vector<std::string>& unreachable);

// The limits of every request parser.
void ConfigureParser(const EdgeConfig& config, boost::beast::http::request_parser<boost::beast::http::string_body>& parser);
// The answer to a failed read of a request: 414 or 431 for too large a
// header, 413 for too large a body, 400 for anything malformed; nullopt when
// the client left or idled (just close). `partial` is what the parser made of
// the request so far (a request line without its end has no target yet).
std::optional<Reply> ReadErrorReply(const EdgeConfig& config, boost::beast::error_code ec,
                                    const HttpRequest& partial);

// What to do with a parsed request.
struct Plan {
  enum class Kind {
    kReply,       // send `reply`
    kUnary,       // call `route` with `request_bytes`, answer with the response
    kNdjson,      // stream `route` as NDJSON
    kWebSocket,   // accept the upgrade and stream `route` over it
    kReady,       // /readyz: ask the upstreams
    kStaticFile,  // serve `file` from the web root
  };
  Kind kind = Kind::kReply;
  Reply reply;
  const Route* route = nullptr;
  std::string request_bytes;
  CallMetadata metadata;
  std::string file;
  // CORS headers for every answer to this request.
  HeaderList cors;
};

// Pure: no I/O, no upstream call. Every refusal is a 4xx `reply`.
Plan PlanRequest(const EdgeConfig& config, const RouteTable& routes, const StaticDocuments& docs,
                 const HttpRequest& req, absl::string_view peer);

// The options of every server-side WebSocket (the edge's and the fuzz
// target's): client messages bounded, the edge named in the handshake.
// A WebSocket client that offers this subprotocol reads a stream message as
// one or more lines (newline-separated JSON, as NDJSON): under load the
// edge sends what queued in one message.
inline constexpr char kNdjsonSubprotocol[] = "evc.ndjson";

// Whether the upgrade request offers `protocol` in Sec-WebSocket-Protocol.
bool OffersSubprotocol(const HttpRequest& req, absl::string_view protocol);

// `subprotocol`: the one the handshake's answer agrees to (null: none).
template <class NextLayer>
void ConfigureServerWebSocket(const EdgeConfig& config, boost::beast::websocket::stream<NextLayer>& ws,
                              const char* subprotocol = nullptr) {
  ws.read_message_max(config.max_ws_message_bytes);
  ws.set_option(boost::beast::websocket::stream_base::decorator(
      [subprotocol](boost::beast::websocket::response_type& res) {
        res.set(boost::beast::http::field::server, "evc-edge");
        if (subprotocol != nullptr) res.set(boost::beast::http::field::sec_websocket_protocol, subprotocol);
      }));
}

}  // namespace evc::edge
