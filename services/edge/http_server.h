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
#include "services/edge/dispatch.h"
#include "services/edge/routes.h"
#include "services/edge/upstreams.h"

namespace evc::edge {

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

}  // namespace evc::edge
