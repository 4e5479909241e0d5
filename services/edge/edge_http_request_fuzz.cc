// Raw bytes from a socket, taken as the edge takes them: Beast's request
// parser with the edge's limits, then the edge's own planning (request
// target, origins, route and path template matching, query and JSON body to
// the request proto, the caller's token), up to the upstream call. Whatever
// arrives, the answer is a 4xx or a well-formed upstream request.

#include <cstdint>
#include <string>

#include <boost/beast/http.hpp>
#include <google/protobuf/message.h>

#include "services/edge/dispatch.h"
#include "services/edge/fuzz_routes.h"
#include "services/edge/routes.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using evc::edge::Plan;

const evc::edge::EdgeConfig& Config() {
  static const evc::edge::EdgeConfig* config = [] {
    auto* c = new evc::edge::EdgeConfig();
    c->max_body_bytes = 64 << 10;  // the fuzzer's inputs are small anyway
    c->allowed_origins = {"https://ops.example.com"};
    return c;
  }();
  return *config;
}

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const evc::edge::StaticDocuments docs{"{}", "<html></html>"};
  http::request_parser<http::string_body> parser;
  evc::edge::ConfigureParser(Config(), parser);
  parser.eager(true);
  boost::asio::const_buffer in(data, size);
  beast::error_code ec;
  while (!parser.is_done()) {
    const size_t used = parser.put(in, ec);
    in += used;
    if (ec == http::error::need_more) ec = {};
    if (ec) break;
    // Nothing taken (in a body, put answers an empty buffer with 0 and no
    // error): all there is, the client closed.
    if (used == 0) {
      parser.put_eof(ec);
      if (!ec && !parser.is_done()) ec = http::error::partial_message;
      break;
    }
  }
  if (ec) {
    std::optional<evc::edge::Reply> reply = evc::edge::ReadErrorReply(Config(), ec, parser.get());
    Check(!reply || static_cast<int>(reply->status) / 100 == 4);
    return 0;
  }
  // A WebSocket upgrade's subprotocol offer is read from the same headers.
  (void)evc::edge::OffersSubprotocol(parser.get(), evc::edge::kNdjsonSubprotocol);
  const Plan plan = evc::edge::PlanRequest(Config(), evc::edge::FuzzRoutes(), docs, parser.get(), "192.0.2.1");
  switch (plan.kind) {
    case Plan::Kind::kReply:
      Check(static_cast<int>(plan.reply.status) < 500);  // outsiders get 4xx, never 5xx
      break;
    case Plan::Kind::kUnary:
    case Plan::Kind::kNdjson:
    case Plan::Kind::kWebSocket: {
      Check(plan.route != nullptr);
      Check(plan.metadata.bearer_token.size() <= Config().max_token_bytes);
      // What goes upstream parses there.
      const google::protobuf::Message* prototype =
          google::protobuf::MessageFactory::generated_factory()->GetPrototype(plan.route->method->input_type());
      std::unique_ptr<google::protobuf::Message> request(prototype->New());
      Check(request->ParseFromString(plan.request_bytes));
      break;
    }
    case Plan::Kind::kStaticFile:
      Check(plan.file.find("..") == std::string::npos && (plan.file.empty() || plan.file[0] != '/'));
      break;
    case Plan::Kind::kReady:
      break;
  }
  return 0;
}
