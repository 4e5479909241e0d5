#include "services/edge/routes.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "evc/proto_files.h"
#include "google/api/annotations.pb.h"

namespace evc::edge {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;

struct RawRule {
  std::string http_method;
  std::string path;
  std::string body;
  std::string response_body;
};

absl::StatusOr<RawRule> ReadRule(const google::api::HttpRule& rule) {
  RawRule r{"", "", rule.body(), rule.response_body()};
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet: r.http_method = "GET"; r.path = rule.get(); break;
    case google::api::HttpRule::kPost: r.http_method = "POST"; r.path = rule.post(); break;
    case google::api::HttpRule::kPut: r.http_method = "PUT"; r.path = rule.put(); break;
    case google::api::HttpRule::kPatch: r.http_method = "PATCH"; r.path = rule.patch(); break;
    case google::api::HttpRule::kDelete: r.http_method = "DELETE"; r.path = rule.delete_(); break;
    default: return absl::InvalidArgumentError("custom HTTP methods are not supported");
  }
  return r;
}

absl::StatusOr<Route> MakeRoute(const MethodDescriptor& method, const RawRule& rule) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(method.full_name(), " (", rule.http_method, " ",
                                                   rule.path, "): ", why));
  };
  if (method.client_streaming()) return bad("client-streaming RPCs cannot be transcoded");
  if (!rule.response_body.empty()) return bad("response_body is not supported");
  absl::StatusOr<PathTemplate> path = PathTemplate::Parse(rule.path);
  if (!path.ok()) return bad(path.status().message());
  const Descriptor& input = *method.input_type();
  for (const std::string& variable : path->variables()) {
    absl::StatusOr<const FieldDescriptor*> field = FindFieldPath(input, variable);
    if (!field.ok()) return bad(field.status().message());
    if ((*field)->is_repeated() || (*field)->type() == FieldDescriptor::TYPE_MESSAGE) {
      return bad(absl::StrCat("path variable '", variable, "' must name a single scalar field"));
    }
  }
  if (!rule.body.empty() && rule.body != "*") {
    if (input.FindFieldByName(rule.body) == nullptr) {
      return bad(absl::StrCat("body field '", rule.body, "' is not in ", input.full_name()));
    }
  }
  if (rule.http_method == "GET" && !rule.body.empty()) return bad("a GET rule cannot take a body");
  Route route{rule.http_method, std::move(*path), rule.body, &method,
              absl::StrCat("/", method.service()->full_name(), "/", method.name()),
              BackendOf(*method.service()), method.server_streaming()};
  return route;
}

}  // namespace

std::string BackendOf(const google::protobuf::ServiceDescriptor& service) {
  std::vector<std::string> parts = absl::StrSplit(service.file()->package(), '.');
  if (parts.size() >= 2 && parts[0] == "evc") return parts[1];
  return parts.empty() ? "" : parts[0];
}

absl::StatusOr<const FieldDescriptor*> FindFieldPath(const Descriptor& message, absl::string_view path) {
  const Descriptor* current = &message;
  const FieldDescriptor* field = nullptr;
  for (absl::string_view name : absl::StrSplit(path, '.')) {
    if (current == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", path, "': '", field->name(), "' has no fields"));
    }
    field = current->FindFieldByName(std::string(name));
    if (field == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", path, "': ", current->full_name(), " has no field '", name, "'"));
    }
    current = field->type() == FieldDescriptor::TYPE_MESSAGE && !field->is_repeated()
                  ? field->message_type()
                  : nullptr;
  }
  return field;
}

absl::StatusOr<RouteTable> ProjectRoutes() {
  absl::StatusOr<std::vector<const google::protobuf::ServiceDescriptor*>> services =
      LinkedServices(proto::ServiceProtoFiles());
  if (!services.ok()) return services.status();
  return RouteTable::Build(*services);
}

absl::StatusOr<std::vector<const google::protobuf::ServiceDescriptor*>> LinkedServices(
    const std::vector<std::string>& proto_files) {
  std::vector<const google::protobuf::ServiceDescriptor*> services;
  for (const std::string& name : proto_files) {
    const google::protobuf::FileDescriptor* file =
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName(name);
    if (file == nullptr) return absl::NotFoundError(absl::StrCat(name, " is not linked into the edge"));
    for (int i = 0; i < file->service_count(); ++i) services.push_back(file->service(i));
  }
  return services;
}

absl::StatusOr<RouteTable> RouteTable::Build(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services) {
  RouteTable table;
  std::map<std::string, std::string> seen;  // method + shape -> the RPC that owns it
  for (const auto* service : services) {
    for (int m = 0; m < service->method_count(); ++m) {
      const MethodDescriptor& method = *service->method(m);
      if (!method.options().HasExtension(google::api::http)) continue;
      const google::api::HttpRule& primary = method.options().GetExtension(google::api::http);
      std::vector<const google::api::HttpRule*> rules{&primary};
      for (const auto& extra : primary.additional_bindings()) rules.push_back(&extra);
      for (const google::api::HttpRule* rule : rules) {
        absl::StatusOr<RawRule> raw = ReadRule(*rule);
        if (!raw.ok()) return absl::InvalidArgumentError(absl::StrCat(method.full_name(), ": ", raw.status().message()));
        absl::StatusOr<Route> route = MakeRoute(method, *raw);
        if (!route.ok()) return route.status();
        std::string key = absl::StrCat(route->http_method, " ", route->path.shape());
        auto [it, fresh] = seen.emplace(key, method.full_name());
        if (!fresh) {
          return absl::InvalidArgumentError(absl::StrCat(
              "conflicting routes: ", key, " is claimed by ", it->second, " and ", method.full_name()));
        }
        table.routes_.push_back(std::move(*route));
      }
    }
  }
  std::stable_sort(table.routes_.begin(), table.routes_.end(), [](const Route& a, const Route& b) {
    return a.path.specificity() > b.path.specificity();
  });
  return table;
}

RouteTable::Lookup RouteTable::Match(absl::string_view http_method, absl::string_view path) const {
  Lookup lookup;
  const PathTemplate::SplitPath split = PathTemplate::Split(path);
  for (const Route& route : routes_) {
    std::vector<Binding> bindings;
    if (!route.path.Match(split, &bindings)) continue;
    if (route.http_method == http_method) {
      lookup.outcome = Outcome::kFound;
      lookup.route = &route;
      lookup.bindings = std::move(bindings);
      return lookup;
    }
    if (std::find(lookup.allowed.begin(), lookup.allowed.end(), route.http_method) == lookup.allowed.end()) {
      lookup.allowed.push_back(route.http_method);
    }
  }
  lookup.outcome = lookup.allowed.empty() ? Outcome::kNoRoute : Outcome::kWrongMethod;
  return lookup;
}

}  // namespace evc::edge
