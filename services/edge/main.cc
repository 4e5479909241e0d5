// evc-edge: the HTTP/JSON + WebSocket front door of EVCharging, transcoding
// REST to the gRPC services from their google.api.http annotations, and the
// home of the driver web app and the operations dashboard.

#include "absl/flags/flag.h"
#include "services/common/metrics.h"
#include "evc/proto_files.h"
#include "services/common/grpc_server.h"  // kCentralServiceName
#include "services/common/log.h"
#include "services/common/process.h"
#include "services/common/service_main.h"
#include "services/edge/http_server.h"
#include "services/edge/openapi.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:8080", "HTTP listen address (host:port)");
ABSL_FLAG(std::string, registry, "127.0.0.1:50051", "registry gRPC address");
ABSL_FLAG(std::string, auth, "127.0.0.1:50052", "auth gRPC address");
ABSL_FLAG(std::string, central, "127.0.0.1:50053", "central gRPC address (several replicas: ipv4:HOST:PORT,HOST:PORT or a name with several records, the leader is called)");
ABSL_FLAG(std::string, weather, "", "weather gRPC address (empty: its routes answer 503)");
ABSL_FLAG(std::string, web_root, EVC_DEFAULT_WEB_ROOT, "directory of the web apps (app/, ops/, shared/)");
ABSL_FLAG(std::vector<std::string>, allowed_origins, {},
          "browser origins besides the edge's own that may call it (CORS, WebSocket), or *");
ABSL_FLAG(bool, secure_cookies, false, "mark the session cookie Secure (serve behind HTTPS)");
ABSL_FLAG(int64_t, max_body_bytes, 1 << 20, "largest request body accepted");
ABSL_FLAG(int64_t, stream_queue_limit, 4096,
          "messages queued for one streaming client before it is dropped as too slow");
ABSL_FLAG(absl::Duration, request_timeout, absl::Seconds(15), "deadline of each unary upstream call");
ABSL_FLAG(int32_t, io_threads, 2, "threads serving HTTP and WebSocket connections");

// What --help says before the flags.
constexpr char kAbout[] =
    "evc-edge: REST/JSON + WebSocket front door and web apps (HTTP).\n"
    "Transcodes REST to the gRPC services from their google.api.http annotations and serves\n"
    "the driver app (/app/), the operations dashboard (/ops/), the API reference (/api),\n"
    "/openapi.json, /healthz and /readyz.\n"
    "\n"
    "usage: evc-edge [--flag=value ...]\n"
    "example:\n"
    "  evc-edge --listen=127.0.0.1:8080 --registry=127.0.0.1:50051 --auth=127.0.0.1:50052 \\\n"
    "    --central=127.0.0.1:50053 --weather=127.0.0.1:50054\n";

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "edge", kAbout);

  auto services = evc::edge::LinkedServices(evc::proto::ServiceProtoFiles());
  evc::ExitIfError("cannot read the service descriptors", services.status());
  auto routes = evc::edge::RouteTable::Build(*services);
  evc::ExitIfError("the google.api.http annotations are invalid", routes.status());

  evc::edge::Upstreams upstreams(absl::GetFlag(FLAGS_request_timeout));
  const std::pair<const char*, std::string> backends[] = {
      {"registry", absl::GetFlag(FLAGS_registry)}, {"auth", absl::GetFlag(FLAGS_auth)},
      {"central", absl::GetFlag(FLAGS_central)}, {"weather", absl::GetFlag(FLAGS_weather)}};
  for (const auto& [name, target] : backends) {
    // Central's replicas: only the leader serves, and the edge follows it.
    if (!target.empty()) upstreams.Add(name, target, name == std::string("central") ? evc::kCentralServiceName : "");
  }
  size_t served = 0;
  for (const evc::edge::Route& r : routes->routes()) {
    if (upstreams.Has(r.backend)) ++served;
  }

  evc::edge::EdgeConfig config;
  config.listen = absl::GetFlag(FLAGS_listen);
  config.io_threads = absl::GetFlag(FLAGS_io_threads);
  config.max_body_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_body_bytes));
  config.allowed_origins = absl::GetFlag(FLAGS_allowed_origins);
  config.secure_cookies = absl::GetFlag(FLAGS_secure_cookies);
  config.stream_queue_limit = static_cast<size_t>(absl::GetFlag(FLAGS_stream_queue_limit));
  config.web_root = absl::GetFlag(FLAGS_web_root);
  evc::edge::StaticDocuments docs{evc::edge::OpenApiDocument(*routes, "1.0.0").dump(2),
                                  evc::edge::ApiReferenceHtml(*routes)};

  evc::edge::EdgeServer server(config, *routes, upstreams, std::move(docs));
  evc::ExitIfError("cannot start the HTTP server (--listen)", server.Start());
  evc::metrics::ServeFor(config.listen);
  evc::log::Info("edge serving", {{"listen", config.listen}, {"port", server.port()},
                                  {"routes", routes->routes().size()}, {"routes_with_upstream", served},
                                  {"web_root", config.web_root}});
  evc::ShutdownRequested().WaitForNotification();
  server.Stop();
  return 0;
}
