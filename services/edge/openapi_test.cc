#include "services/edge/openapi.h"

#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "evc/proto_files.h"

namespace evc::edge {
namespace {

// Every "$ref" in `node` names a schema in `schemas`.
void CheckRefs(const nlohmann::json& node, const nlohmann::json& schemas, int& refs) {
  if (node.is_object()) {
    if (node.contains("$ref")) {
      ++refs;
      std::string ref = node["$ref"];
      const std::string prefix = "#/components/schemas/";
      ASSERT_EQ(ref.rfind(prefix, 0), 0u) << ref;
      EXPECT_TRUE(schemas.contains(ref.substr(prefix.size()))) << ref;
    }
    for (const auto& [k, v] : node.items()) CheckRefs(v, schemas, refs);
  } else if (node.is_array()) {
    for (const auto& v : node) CheckRefs(v, schemas, refs);
  }
}

TEST(OpenApiTest, DescribesEveryRouteWithResolvableSchemas) {
  auto services = LinkedServices(proto::ServiceProtoFiles());
  ASSERT_TRUE(services.ok());
  auto routes = RouteTable::Build(*services);
  ASSERT_TRUE(routes.ok());
  nlohmann::json doc = OpenApiDocument(*routes, "1.0.0");
  EXPECT_EQ(doc["openapi"], "3.0.3");
  std::set<std::string> operation_ids;
  for (const Route& r : routes->routes()) {
    std::string method = r.http_method;
    for (char& c : method) c = static_cast<char>(std::tolower(c));
    ASSERT_TRUE(doc["paths"].contains(r.path.text())) << r.path.text();
    const auto& op = doc["paths"][r.path.text()][method];
    ASSERT_TRUE(op.is_object()) << method << " " << r.path.text();
    EXPECT_TRUE(operation_ids.insert(op["operationId"].get<std::string>()).second) << op["operationId"];
    for (const std::string& v : r.path.variables()) {
      bool listed = false;
      for (const auto& p : op["parameters"]) listed |= p["name"] == v && p["in"] == "path";
      EXPECT_TRUE(listed) << v << " in " << r.path.text();
    }
    EXPECT_TRUE(op["responses"].contains("200"));
  }
  int refs = 0;
  CheckRefs(doc, doc["components"]["schemas"], refs);
  EXPECT_GT(refs, 30);
  // Query parameters of a GET come from its request message.
  bool has_since = false;
  for (const auto& p : doc["paths"]["/v1/audit-events"]["get"]["parameters"]) has_since |= p["name"] == "since";
  EXPECT_TRUE(has_since);
  EXPECT_EQ(doc["paths"]["/v1/network:watch"]["get"]["responses"]["200"]["content"].begin().key(),
            "application/x-ndjson");
  EXPECT_THAT(ApiReferenceHtml(*routes), ::testing::HasSubstr("/v1/charging-points/{cp_id}:charge"));
}

// Issue 22: ":stopAll" means every CP; nothing in the body has to say it again.
TEST(OpenApiTest, SaysThatStopAllAndResumeAllNeedNoBody) {
  auto services = LinkedServices(proto::ServiceProtoFiles());
  ASSERT_TRUE(services.ok());
  auto routes = RouteTable::Build(*services);
  ASSERT_TRUE(routes.ok());
  nlohmann::json doc = OpenApiDocument(*routes, "1.0.0");
  for (const std::string path : {"/v1/charging-points:stopAll", "/v1/charging-points:resumeAll"}) {
    const auto& op = doc["paths"][path]["post"];
    EXPECT_THAT(op["operationId"].get<std::string>(), ::testing::HasSubstr("AllChargingPoints"))
        << path;
    EXPECT_THAT(op.value("description", ""), ::testing::HasSubstr("send no body")) << path;
    EXPECT_EQ(op["requestBody"]["required"], false) << path;
  }
  EXPECT_EQ(doc["components"]["schemas"]["evc.central.v1.AllChargingPointsRequest"]["properties"]
               ["all"]["deprecated"],
            true);
  EXPECT_FALSE(doc["paths"]["/v1/charging-points/{cp_id}:stop"]["post"].contains("description"))
      << "one CP: the body may carry more than the path";
}

}  // namespace
}  // namespace evc::edge
