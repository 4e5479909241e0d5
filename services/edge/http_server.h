#pragma once
// The edge's HTTP/1.1 + WebSocket server (Boost.Beast on Asio): REST routes
// transcoded to gRPC, server streams as WebSocket or NDJSON, the OpenAPI
// document, the two web apps as static files. Asynchronous throughout: a few
// I/O threads serve every connection.

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/edge/routes.h"
#include "services/edge/upstreams.h"

namespace evc::edge {

struct EdgeConfig {
  std::string listen = "127.0.0.1:8080";
  int io_threads = 2;
  size_t max_body_bytes = 1 << 20;
  // Browser origins allowed besides the edge's own (CORS, WebSocket, cookie
  // writes), e.g. "https://ops.example.com"; "*" allows any.
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

class EdgeServer {
 public:
  EdgeServer(EdgeConfig config, const RouteTable& routes, Upstreams& upstreams, StaticDocuments docs);
  ~EdgeServer();

  // Binds and starts the I/O threads; the port is then known.
  absl::Status Start();
  int port() const;
  // Stops accepting, ends streams, joins the I/O threads.
  void Stop();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The cookie that carries a browser's access token.
inline constexpr char kSessionCookie[] = "evc_session";

// Helpers with their own tests.
// The value of cookie `name` in a Cookie header, or "".
std::string CookieValue(absl::string_view cookie_header, absl::string_view name);
// Whether a browser at `origin` may call this edge, reached as `host`.
bool OriginAllowed(absl::string_view origin, absl::string_view host,
                   const std::vector<std::string>& allowed);

}  // namespace evc::edge
