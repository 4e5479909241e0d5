#include "services/edge/openapi.h"

#include <google/protobuf/descriptor.pb.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace evc::edge {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using nlohmann::json;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Well-known types have their own JSON forms.
std::optional<json> WellKnownSchema(const Descriptor& type) {
  const std::string& name = type.full_name();
  if (name == "google.protobuf.Timestamp") return json{{"type", "string"}, {"format", "date-time"}};
  if (name == "google.protobuf.Duration") {
    return json{{"type", "string"}, {"pattern", "^-?[0-9]+(\\.[0-9]+)?s$"}, {"example", "60s"}};
  }
  if (name == "google.protobuf.FieldMask") {
    return json{{"type", "string"}, {"description", "comma-separated lowerCamel field paths"}};
  }
  if (name == "google.protobuf.Empty" || name == "google.protobuf.Struct") return json{{"type", "object"}};
  return std::nullopt;
}

class SchemaBuilder {
 public:
  json FieldSchema(const FieldDescriptor& field) {
    json item = SingleSchema(field);
    if (field.is_map()) {
      return json{{"type", "object"}, {"additionalProperties", SingleSchema(*field.message_type()->map_value())}};
    }
    if (field.is_repeated()) return json{{"type", "array"}, {"items", item}};
    return item;
  }

  json MessageRef(const Descriptor& message) {
    if (auto wk = WellKnownSchema(message)) return *wk;
    Add(message);
    return json{{"$ref", SchemaRef(message)}};
  }

  json schemas() const { return schemas_; }

 private:
  json SingleSchema(const FieldDescriptor& field) {
    switch (field.cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: return {{"type", "integer"}, {"format", "int32"}};
      case FieldDescriptor::CPPTYPE_UINT32: return {{"type", "integer"}, {"format", "uint32"}};
      // proto3 JSON writes 64-bit integers as strings (and reads both).
      case FieldDescriptor::CPPTYPE_INT64: return {{"type", "string"}, {"format", "int64"}};
      case FieldDescriptor::CPPTYPE_UINT64: return {{"type", "string"}, {"format", "uint64"}};
      case FieldDescriptor::CPPTYPE_FLOAT: return {{"type", "number"}, {"format", "float"}};
      case FieldDescriptor::CPPTYPE_DOUBLE: return {{"type", "number"}, {"format", "double"}};
      case FieldDescriptor::CPPTYPE_BOOL: return {{"type", "boolean"}};
      case FieldDescriptor::CPPTYPE_STRING:
        if (field.type() == FieldDescriptor::TYPE_BYTES) return {{"type", "string"}, {"format", "byte"}};
        return {{"type", "string"}};
      case FieldDescriptor::CPPTYPE_ENUM: {
        json values = json::array();
        for (int i = 0; i < field.enum_type()->value_count(); ++i) values.push_back(field.enum_type()->value(i)->name());
        return {{"type", "string"}, {"enum", values}};
      }
      case FieldDescriptor::CPPTYPE_MESSAGE: return MessageRef(*field.message_type());
    }
    return json::object();
  }

  void Add(const Descriptor& message) {
    if (!added_.insert(message.full_name()).second) return;
    json properties = json::object();
    for (int i = 0; i < message.field_count(); ++i) {
      const FieldDescriptor& f = *message.field(i);
      properties[f.json_name()] = FieldSchema(f);
      if (f.options().deprecated()) properties[f.json_name()]["deprecated"] = true;
    }
    schemas_[message.full_name()] = {{"type", "object"}, {"properties", properties}};
  }

  std::set<std::string> added_;
  json schemas_ = json::object();
};

// GET-style parameters: the request's scalar fields (and one level of nested
// messages, dotted) not already bound by the path.
void AddQueryParameters(const Descriptor& message, const std::string& prefix, int depth,
                        const std::vector<std::string>& path_fields, SchemaBuilder& schemas, json& out) {
  for (int i = 0; i < message.field_count(); ++i) {
    const FieldDescriptor& f = *message.field(i);
    std::string name = prefix + f.name();
    if (std::find(path_fields.begin(), path_fields.end(), name) != path_fields.end()) continue;
    if (f.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !WellKnownSchema(*f.message_type())) {
      if (depth < 1 && !f.is_repeated()) AddQueryParameters(*f.message_type(), name + ".", depth + 1, path_fields, schemas, out);
      continue;
    }
    out.push_back({{"name", name}, {"in", "query"}, {"required", false}, {"schema", schemas.FieldSchema(f)}});
  }
}

json ErrorSchema() {
  return {{"type", "object"},
          {"description", "google.rpc.Status-like error body"},
          {"properties",
           {{"code", {{"type", "integer"}, {"description", "gRPC status code"}}},
            {"status", {{"type", "string"}, {"description", "the code's name, e.g. NOT_FOUND"}}},
            {"message", {{"type", "string"}}},
            {"details", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}};
}

// True when every field of the request is bound by the path or deprecated: the
// call needs no body (":stopAll", ":rotate").
bool PathSaysItAll(const Descriptor& input, const std::vector<std::string>& path_fields) {
  for (int i = 0; i < input.field_count(); ++i) {
    const FieldDescriptor& f = *input.field(i);
    const bool bound =
        std::find(path_fields.begin(), path_fields.end(), f.name()) != path_fields.end();
    if (!bound && !f.options().deprecated()) return false;
  }
  return true;
}

json Operation(const Route& route, int binding_index, SchemaBuilder& schemas) {
  const Descriptor& input = *route.method->input_type();
  json op = {{"operationId", absl::StrCat(route.method->service()->name(), "_", route.method->name(),
                                          binding_index == 0 ? "" : absl::StrCat("_", binding_index))},
             {"tags", {route.method->service()->name()}},
             {"summary", absl::StrCat("gRPC ", route.method->full_name())}};
  json parameters = json::array();
  const std::vector<std::string> path_fields = route.path.variables();
  for (const std::string& variable : path_fields) {
    absl::StatusOr<const FieldDescriptor*> field = FindFieldPath(input, variable);
    parameters.push_back({{"name", variable}, {"in", "path"}, {"required", true},
                          {"schema", field.ok() ? schemas.FieldSchema(**field) : json{{"type", "string"}}}});
  }
  if (route.body != "*") AddQueryParameters(input, "", 0, path_fields, schemas, parameters);
  if (!parameters.empty()) op["parameters"] = parameters;
  if (route.body == "*") {
    op["requestBody"] = {{"required", false}, {"content", {{"application/json", {{"schema", schemas.MessageRef(input)}}}}}};
    if (PathSaysItAll(input, path_fields)) {
      op["description"] = "The path is the whole request: send no body, or {}.";
    }
  } else if (!route.body.empty()) {
    const FieldDescriptor* field = input.FindFieldByName(route.body);
    op["requestBody"] = {{"required", true}, {"content", {{"application/json", {{"schema", schemas.FieldSchema(*field)}}}}}};
  }
  json result = schemas.MessageRef(*route.method->output_type());
  if (route.server_streaming) {
    json line = {{"type", "object"},
                 {"properties", {{"result", result}, {"error", {{"$ref", "#/components/schemas/Error"}}}}}};
    op["description"] =
        "A stream: newline-delimited JSON over chunked HTTP, or, with a WebSocket upgrade, one JSON "
        "message per text frame. Each message is {\"result\": ...}; a failure ends the stream with "
        "{\"error\": ...}.";
    op["responses"]["200"] = {{"description", "one line per message"},
                              {"content", {{"application/x-ndjson", {{"schema", line}}}}}};
  } else {
    op["responses"]["200"] = {{"description", "OK"}, {"content", {{"application/json", {{"schema", result}}}}}};
  }
  op["responses"]["default"] = {
      {"description", "an error; the HTTP status follows the gRPC code (see the README)"},
      {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
  return op;
}

std::string HtmlEscape(absl::string_view s) {
  return absl::StrReplaceAll(s, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

}  // namespace

std::string SchemaRef(const Descriptor& message) {
  return absl::StrCat("#/components/schemas/", message.full_name());
}

json OpenApiDocument(const RouteTable& routes, const std::string& version) {
  SchemaBuilder schemas;
  json paths = json::object();
  std::map<std::string, int> bindings_per_method;
  for (const Route& route : routes.routes()) {
    int index = bindings_per_method[route.grpc_path]++;
    paths[route.path.text()][Lower(route.http_method)] = Operation(route, index, schemas);
  }
  json components = {{"schemas", schemas.schemas()}};
  components["schemas"]["Error"] = ErrorSchema();
  components["securitySchemes"] = {
      {"bearerAuth", {{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}},
      {"sessionCookie", {{"type", "apiKey"}, {"in", "cookie"}, {"name", "evc_session"}}}};
  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "EVCharging Network API"},
            {"version", version},
            {"description",
             "REST/JSON face of the EVCharging gRPC services, generated from their google.api.http "
             "annotations. Log in with POST /v1/auth/login and send the access token as "
             "'Authorization: Bearer <token>' (browsers get the evc_session cookie)."}}},
          {"servers", json::array({{{"url", "/"}}})},
          {"security", json::array({json::object(), {{"bearerAuth", json::array()}}, {{"sessionCookie", json::array()}}})},
          {"paths", paths},
          {"components", components}};
}

std::string ApiReferenceHtml(const RouteTable& routes) {
  std::string rows;
  for (const Route& route : routes.routes()) {
    absl::StrAppend(&rows, "<tr><td class=m>", route.http_method, "</td><td><code>",
                    HtmlEscape(route.path.text()), "</code></td><td>", HtmlEscape(route.method->full_name()),
                    "</td><td>", route.body.empty() ? "&mdash;" : HtmlEscape(route.body), "</td><td>",
                    route.server_streaming ? "stream (NDJSON / WebSocket)" : "unary", "</td></tr>\n");
  }
  return absl::StrCat(
      "<!doctype html><html lang=en><head><meta charset=utf-8>"
      "<meta name=viewport content='width=device-width,initial-scale=1'>"
      "<title>EVCharging REST API</title><style>body{font:15px system-ui,sans-serif;margin:2em;color:#222}"
      "table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.35em .7em;text-align:left}"
      "td.m{font-weight:600}code{font-size:14px}</style></head><body>"
      "<h1>EVCharging REST API</h1><p>Every route below transcodes to the gRPC method named beside it. "
      "Machine-readable: <a href='/openapi.json'>/openapi.json</a> (OpenAPI 3). Errors are "
      "<code>{\"code\",\"status\",\"message\",\"details\"}</code>; streams are NDJSON, or WebSocket "
      "when upgraded.</p><table><tr><th>method</th><th>path</th><th>gRPC</th><th>body</th><th>kind</th></tr>\n",
      rows, "</table></body></html>\n");
}

}  // namespace evc::edge
