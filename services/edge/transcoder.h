#pragma once
// REST <-> gRPC messages, with protobuf's own JSON mapping (never a
// hand-written encoder): the request is the JSON body (all of it, or one
// field), then the query parameters, then the path variables, which win.

#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/edge/routes.h"

namespace evc::edge {

// INVALID_ARGUMENT naming the field and the problem for bad JSON, unknown
// fields, wrong types, unknown or misplaced query parameters.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> BuildRequest(
    const Route& route, const std::vector<Binding>& bindings, absl::string_view query,
    absl::string_view body);

// One field set from its text form (query parameter or path variable):
// scalars, enums by name or number, bytes as base64, and the well-known types
// through their JSON form (Timestamp "2026-01-01T00:00:00Z", Duration "60s").
absl::Status SetFieldFromText(google::protobuf::Message& message, absl::string_view field_path,
                              absl::string_view text);

// How responses print: lowerCamelCase names, every field present (zeros
// included) so clients need no defaults.
google::protobuf::util::JsonPrintOptions ResponsePrintOptions();
// The JSON of a response message (the edge prints responses through json_cache.h).
std::string ToJson(const google::protobuf::Message& message);

// An empty message of `type` (generated code).
std::unique_ptr<google::protobuf::Message> NewMessage(const google::protobuf::Descriptor& type);

// A message of the method's response type from gRPC bytes.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> ParseResponse(
    const google::protobuf::MethodDescriptor& method, const std::string& bytes);

// "a=1&b=x%20y" -> pairs, '+' as space; INVALID_ARGUMENT for bad escapes.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(absl::string_view query);

}  // namespace evc::edge
