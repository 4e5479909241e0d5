// REST <-> gRPC transcoding on outside bytes. The first byte picks a route
// and a direction. Requests: "query\nvalue of every path variable\nJSON body"
// through BuildRequest, which either refuses with INVALID_ARGUMENT or builds a
// request the upstream parses. Responses: the rest as upstream bytes of the
// route's response type, printed through the JSON cache.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "services/edge/fuzz_routes.h"
#include "services/edge/json_cache.h"
#include "services/edge/routes.h"
#include "services/edge/transcoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::vector<evc::edge::Route>& routes = evc::edge::FuzzRoutes().routes();
  const evc::edge::Route& route = routes[(data[0] >> 1) % routes.size()];
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) {
    static evc::edge::JsonCache cache(1 << 16);
    auto json = cache.Get(*route.method->output_type(), rest, route.server_streaming);
    if (json.ok() && (*json)->empty()) __builtin_trap();
    (void)evc::edge::ParseResponse(*route.method, rest);
    return 0;
  }
  std::vector<std::string> parts = absl::StrSplit(rest, absl::MaxSplits('\n', 2));
  parts.resize(3);
  std::vector<evc::edge::Binding> bindings;
  for (const std::string& variable : route.path.variables()) bindings.emplace_back(variable, parts[1]);
  auto request = evc::edge::BuildRequest(route, bindings, parts[0], parts[2]);
  if (!request.ok()) {
    if (request.status().code() != absl::StatusCode::kInvalidArgument) __builtin_trap();
    return 0;
  }
  std::unique_ptr<google::protobuf::Message> check((*request)->New());
  if (!check->ParseFromString((*request)->SerializeAsString())) __builtin_trap();
  return 0;
}
