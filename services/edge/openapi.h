#pragma once
// The REST API described from the same routes the edge serves: an OpenAPI 3
// document (/openapi.json) and a plain HTML reference page (/api).

#include <string>

#include <nlohmann/json.hpp>

#include "services/edge/routes.h"

namespace evc::edge {

nlohmann::json OpenApiDocument(const RouteTable& routes, const std::string& version);
std::string ApiReferenceHtml(const RouteTable& routes);

// The JSON Schema of a message in the document's components ("#/components/schemas/<full name>").
std::string SchemaRef(const google::protobuf::Descriptor& message);

}  // namespace evc::edge
