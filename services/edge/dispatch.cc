#include "services/edge/dispatch.h"

#include <boost/beast/websocket/rfc6455.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/edge/http_status.h"
#include "services/edge/path_template.h"
#include "services/edge/transcoder.h"

namespace evc::edge {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace {

std::string ToString(beast::string_view s) { return std::string(s.data(), s.size()); }

// Outside bytes echoed in a message: bounded (ErrorJson makes them valid UTF-8).
std::string Quoted(absl::string_view s) {
  constexpr size_t kMax = 100;
  return absl::StrCat("'", s.substr(0, kMax), s.size() > kMax ? "...'" : "'");
}

bool IsUnsafe(http::verb v) {
  return v == http::verb::post || v == http::verb::put || v == http::verb::patch || v == http::verb::delete_;
}

// /healthz, and /readyz when every upstream is reachable.
constexpr char kServing[] = "{\"status\":\"SERVING\"}";

Reply Body(http::status status, std::string content_type, std::string body, HeaderList headers = {}) {
  return Reply{status, std::move(content_type), std::move(body), std::move(headers), false};
}

Plan Answer(Reply reply) {
  Plan plan;
  plan.reply = std::move(reply);
  return plan;
}

// The access token of a request (the Authorization header wins over the
// cookie) and the client's address; 401 for a token no edge ever issued.
absl::StatusOr<CallMetadata> MetadataOf(const EdgeConfig& config, const HttpRequest& req, absl::string_view peer) {
  std::string token;
  beast::string_view auth = req[http::field::authorization];
  absl::string_view value(auth.data(), auth.size());
  if (absl::StartsWithIgnoreCase(value, "Bearer ")) {
    token = std::string(absl::StripAsciiWhitespace(value.substr(7)));
  } else {
    beast::string_view cookie = req[http::field::cookie];
    token = CookieValue(absl::string_view(cookie.data(), cookie.size()), kSessionCookie);
  }
  if (token.size() > config.max_token_bytes) {
    return absl::UnauthenticatedError(absl::StrCat("the access token is ", token.size(), " bytes, more than the ",
                                                   config.max_token_bytes,
                                                   " any token of this network has: log in again"));
  }
  return CallMetadata{std::move(token), std::string(peer)};
}

Plan Upstream(Plan::Kind kind, const Route& route, const google::protobuf::Message& request, CallMetadata metadata) {
  Plan plan;
  plan.kind = kind;
  plan.route = &route;
  plan.request_bytes = request.SerializeAsString();
  plan.metadata = std::move(metadata);
  return plan;
}

Plan Api(const EdgeConfig& config, const RouteTable& routes, const HttpRequest& req, const RequestTarget& target,
         absl::string_view peer) {
  const std::string method = ToString(req.method_string());
  RouteTable::Lookup lookup = routes.Match(method, target.path);
  if (lookup.outcome == RouteTable::Outcome::kNoRoute) {
    return Answer(ErrorReply(HttpError(absl::NotFoundError(absl::StrCat(
        "no route for ", Quoted(method), " ", Quoted(target.path), "; the routes are listed at /openapi.json")))));
  }
  if (lookup.outcome == RouteTable::Outcome::kWrongMethod) {
    const std::string allow = absl::StrJoin(lookup.allowed, ", ");
    return Answer(ErrorReply(HttpError(HttpOnlyStatus::kMethodNotAllowed,
                                       absl::StrCat(target.path, " takes ", allow, ", not ", Quoted(method))),
                             false, {{"Allow", allow}}));
  }
  const Route& route = *lookup.route;
  auto request = BuildRequest(route, lookup.bindings, target.query, req.body());
  if (!request.ok()) return Answer(ErrorReply(HttpError(request.status())));
  absl::StatusOr<CallMetadata> metadata = MetadataOf(config, req, peer);
  if (!metadata.ok()) return Answer(ErrorReply(HttpError(metadata.status())));
  return Upstream(route.server_streaming ? Plan::Kind::kNdjson : Plan::Kind::kUnary, route, **request,
                  *std::move(metadata));
}

Plan Upgrade(const EdgeConfig& config, const RouteTable& routes, const HttpRequest& req, const RequestTarget& target,
             bool origin_ok, absl::string_view peer) {
  if (!origin_ok) {
    const std::string origin = ToString(req[http::field::origin]);
    const absl::Status refused =
        absl::PermissionDeniedError(absl::StrCat("origin ", Quoted(origin), " may not open WebSockets here"));
    return Answer(ErrorReply(HttpError(refused), true));
  }
  RouteTable::Lookup lookup = routes.Match("GET", target.path);
  if (lookup.outcome != RouteTable::Outcome::kFound || !lookup.route->server_streaming) {
    return Answer(ErrorReply(HttpError(absl::NotFoundError(absl::StrCat(
                                 "no stream at ", Quoted(target.path),
                                 "; streams are the GET routes marked as such in /openapi.json"))),
                             true));
  }
  const Route& route = *lookup.route;
  auto request = BuildRequest(route, lookup.bindings, target.query, "");
  if (!request.ok()) return Answer(ErrorReply(HttpError(request.status()), true));
  absl::StatusOr<CallMetadata> metadata = MetadataOf(config, req, peer);
  if (!metadata.ok()) return Answer(ErrorReply(HttpError(metadata.status()), true));
  return Upstream(Plan::Kind::kWebSocket, route, **request, *std::move(metadata));
}

Plan Preflight(bool origin_ok) {
  if (!origin_ok) {
    return Answer(ErrorReply(HttpError(absl::PermissionDeniedError("origin not allowed"))));
  }
  return Answer(Body(http::status::no_content, "", "",
                     {{"Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE"},
                      {"Access-Control-Allow-Headers", "Authorization, Content-Type"},
                      {"Access-Control-Max-Age", "600"}}));
}

}  // namespace

Reply NotFoundReply(absl::string_view path) {
  return ErrorReply(HttpError(absl::NotFoundError(
      absl::StrCat("nothing at ", Quoted(path), " (driver app: /app/, dashboard: /ops/, API: /api)"))));
}

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

absl::StatusOr<RequestTarget> ParseRequestTarget(absl::string_view target) {
  if (target.empty()) return absl::InvalidArgumentError("empty request target: send a path such as /healthz");
  if (target[0] != '/') {
    if (target == "*") {
      return absl::InvalidArgumentError("the asterisk-form target '*' is not served: send a path such as /healthz");
    }
    if (absl::StrContains(target, "://")) {
      return absl::InvalidArgumentError(
          absl::StrCat("request target ", Quoted(target),
                       " is in absolute-form, which is for proxies: send the path only, e.g. /healthz"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("request target ", Quoted(target), " must start with '/' (a path such as /healthz)"));
  }
  if (absl::StrContains(target, '#')) {
    return absl::InvalidArgumentError(
        absl::StrCat("request target ", Quoted(target), " carries a '#' fragment, which stays in the browser"));
  }
  const size_t q = target.find('?');
  RequestTarget out{std::string(target.substr(0, q)), q == absl::string_view::npos ? "" : std::string(target.substr(q + 1))};
  std::string decoded;
  if (!PercentDecode(out.path, &decoded)) {
    return absl::InvalidArgumentError(
        absl::StrCat("path ", Quoted(out.path), " has a bad %-escape ('%' must be followed by two hex digits)"));
  }
  return out;
}

absl::StatusOr<std::string> StaticFilePath(absl::string_view path) {
  std::string decoded;
  if (!PercentDecode(path, &decoded) || decoded.empty() || decoded[0] != '/' ||
      absl::StrContains(decoded, "..") || absl::StrContains(decoded, '\0') || absl::StrContains(decoded, "//") ||
      absl::StrContains(decoded, '\\')) {
    return absl::NotFoundError(absl::StrCat("nothing at ", Quoted(path)));
  }
  if (decoded.back() == '/') decoded += "index.html";
  return decoded.substr(1);
}

Reply ErrorReply(const HttpError& error, bool close, HeaderList headers) {
  return Reply{static_cast<http::status>(error.http_status()), "application/json", error.Json(), std::move(headers),
               close};
}

Reply ReadyReply(const std::vector<std::string>& unreachable) {
  if (unreachable.empty()) return Body(http::status::ok, "application/json", kServing);
  return ErrorReply(
      HttpError(absl::UnavailableError(absl::StrCat("cannot reach: ", absl::StrJoin(unreachable, ", ")))));
}

void ConfigureParser(const EdgeConfig& config, http::request_parser<http::string_body>& parser) {
  parser.body_limit(config.max_body_bytes);
  parser.header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
}

std::optional<Reply> ReadErrorReply(const EdgeConfig& config, beast::error_code ec, const HttpRequest& partial) {
  namespace asio_error = boost::asio::error;
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio_error::connection_reset ||
      ec == asio_error::eof || ec == asio_error::operation_aborted) {
    return std::nullopt;
  }
  if (ec == http::error::header_limit) {
    if (partial.target().empty()) {
      return ErrorReply(HttpError(HttpOnlyStatus::kUriTooLong,
                                  absl::StrCat("request line longer than ", config.max_header_bytes, " bytes")),
                        true);
    }
    return ErrorReply(HttpError(HttpOnlyStatus::kRequestHeaderFieldsTooLarge,
                                absl::StrCat("request line and header fields larger than ", config.max_header_bytes,
                                             " bytes: send fewer or shorter headers (an access token is at most ",
                                             config.max_token_bytes, " bytes)")),
                      true);
  }
  if (ec == http::error::body_limit) {
    return ErrorReply(HttpError(HttpOnlyStatus::kPayloadTooLarge,
                                absl::StrCat("request body larger than ", config.max_body_bytes, " bytes")),
                      true);
  }
  return ErrorReply(HttpError(absl::InvalidArgumentError(absl::StrCat("malformed HTTP request: ", ec.message()))),
                    true);
}

Plan PlanRequest(const EdgeConfig& config, const RouteTable& routes, const StaticDocuments& docs,
                 const HttpRequest& req, absl::string_view peer) {
  absl::StatusOr<RequestTarget> target = ParseRequestTarget(ToString(req.target()));
  if (!target.ok()) return Answer(ErrorReply(HttpError(target.status()), true));
  const std::string& path = target->path;
  const std::string origin = ToString(req[http::field::origin]);
  const std::string host = ToString(req[http::field::host]);
  const bool origin_ok = OriginAllowed(origin, host, config.allowed_origins);
  HeaderList cors;
  if (!origin.empty() && origin_ok && !absl::EndsWith(origin, "://" + host)) {
    cors = {{"Access-Control-Allow-Origin", origin}, {"Vary", "Origin"}, {"Access-Control-Allow-Credentials", "true"}};
  }
  Plan plan = [&]() -> Plan {
    if (websocket::is_upgrade(req)) return Upgrade(config, routes, req, *target, origin_ok, peer);
    if (req.method() == http::verb::options) return Preflight(origin_ok);
    if (absl::StartsWith(path, "/v1/")) {
      if (IsUnsafe(req.method()) && !origin_ok) {
        return Answer(ErrorReply(
            HttpError(absl::PermissionDeniedError(absl::StrCat("origin ", Quoted(origin), " may not call this API")))));
      }
      return Api(config, routes, req, *target, peer);
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      return Answer(ErrorReply(HttpError(HttpOnlyStatus::kMethodNotAllowed,
                                         absl::StrCat(Quoted(ToString(req.method_string())), " is not allowed on ",
                                                      Quoted(path))),
                               false, {{"Allow", "GET, HEAD"}}));
    }
    if (path == "/openapi.json") return Answer(Body(http::status::ok, "application/json", docs.openapi_json));
    if (path == "/api" || path == "/api/") {
      return Answer(Body(http::status::ok, "text/html; charset=utf-8", docs.api_html));
    }
    if (path == "/healthz") return Answer(Body(http::status::ok, "application/json", kServing));
    if (path == "/readyz") {
      Plan ready;
      ready.kind = Plan::Kind::kReady;
      return ready;
    }
    if (path == "/") return Answer(Body(http::status::found, "text/plain", "", {{"Location", "/app/"}}));
    if (path == "/app" || path == "/ops") {
      return Answer(Body(http::status::found, "text/plain", "", {{"Location", path + "/"}}));
    }
    absl::StatusOr<std::string> file = StaticFilePath(path);
    if (!file.ok()) return Answer(NotFoundReply(path));
    Plan serve;
    serve.kind = Plan::Kind::kStaticFile;
    serve.file = *std::move(file);
    return serve;
  }();
  plan.cors = std::move(cors);
  return plan;
}

bool OffersSubprotocol(const HttpRequest& req, absl::string_view protocol) {
  const auto [first, last] = req.equal_range(http::field::sec_websocket_protocol);
  for (auto header = first; header != last; ++header) {
    const absl::string_view offered(header->value().data(), header->value().size());
    for (absl::string_view p : absl::StrSplit(offered, ',')) {
      if (absl::StripAsciiWhitespace(p) == protocol) return true;
    }
  }
  return false;
}

}  // namespace evc::edge
