#include "services/edge/routes.h"

#include <google/protobuf/descriptor.pb.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "evc/proto_files.h"
#include "google/api/annotations.pb.h"

namespace evc::edge {
namespace {

using ::testing::HasSubstr;

RouteTable RealRoutes() {
  auto services = LinkedServices(proto::ServiceProtoFiles());
  EXPECT_TRUE(services.ok()) << services.status();
  auto table = RouteTable::Build(*services);
  EXPECT_TRUE(table.ok()) << table.status();
  return *table;
}

TEST(RoutesTest, EveryAnnotatedRpcOfEveryServiceIsRouted) {
  auto services = LinkedServices(proto::ServiceProtoFiles());
  ASSERT_TRUE(services.ok());
  RouteTable table = RealRoutes();
  int annotated = 0;
  for (const auto* service : *services) {
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* method = service->method(i);
      if (!method->options().HasExtension(google::api::http)) continue;
      ++annotated;
      bool found = false;
      for (const Route& r : table.routes()) found |= r.method == method;
      EXPECT_TRUE(found) << method->full_name();
    }
  }
  EXPECT_GE(annotated, 25);
}

TEST(RoutesTest, MatchesTheMostSpecificRouteAndTellsAllowedMethods) {
  RouteTable table = RealRoutes();
  auto watch = table.Match("GET", "/v1/supplies/s-1:watch");
  ASSERT_EQ(watch.outcome, RouteTable::Outcome::kFound);
  EXPECT_EQ(watch.route->method->name(), "WatchSupply");
  EXPECT_TRUE(watch.route->server_streaming);
  EXPECT_EQ(watch.route->backend, "central");

  auto get = table.Match("GET", "/v1/supplies/s-1");
  ASSERT_EQ(get.outcome, RouteTable::Outcome::kFound);
  EXPECT_EQ(get.route->method->name(), "GetSupply");

  auto stop_all = table.Match("POST", "/v1/charging-points:stopAll");
  ASSERT_EQ(stop_all.outcome, RouteTable::Outcome::kFound);
  EXPECT_EQ(stop_all.route->method->name(), "StopAllChargingPoints") << "the path alone says 'all'";
  EXPECT_TRUE(stop_all.bindings.empty());

  auto wrong = table.Match("DELETE", "/v1/charging-points");
  EXPECT_EQ(wrong.outcome, RouteTable::Outcome::kWrongMethod);
  EXPECT_THAT(wrong.allowed, ::testing::ElementsAre("GET"));

  EXPECT_EQ(table.Match("GET", "/v1/nothing/here").outcome, RouteTable::Outcome::kNoRoute);
  EXPECT_EQ(table.Match("GET", "/v1/registry/charging-points/ALC-001").route->backend, "registry");
}

// A throwaway service, built in its own pool, with the given rules.
class SyntheticService {
 public:
  SyntheticService(const std::vector<google::api::HttpRule>& rules, bool client_streaming = false)
      : pool_(google::protobuf::DescriptorPool::generated_pool()) {
    google::protobuf::FileDescriptorProto file;
    file.set_name("synthetic.proto");
    file.set_package("evc.synthetic.v1");
    file.set_syntax("proto3");
    file.add_dependency("google/api/annotations.proto");
    auto* msg = file.add_message_type();
    msg->set_name("Req");
    auto* f = msg->add_field();
    f->set_name("id");
    f->set_number(1);
    f->set_type(google::protobuf::FieldDescriptorProto::TYPE_STRING);
    f->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
    auto* svc = file.add_service();
    svc->set_name("Synthetic");
    for (size_t i = 0; i < rules.size(); ++i) {
      auto* m = svc->add_method();
      m->set_name("M" + std::to_string(i));
      m->set_input_type(".evc.synthetic.v1.Req");
      m->set_output_type(".evc.synthetic.v1.Req");
      m->set_client_streaming(client_streaming);
      *m->mutable_options()->MutableExtension(google::api::http) = rules[i];
    }
    file_ = pool_.BuildFile(file);
  }
  std::vector<const google::protobuf::ServiceDescriptor*> services() const { return {file_->service(0)}; }

 private:
  google::protobuf::DescriptorPool pool_;
  const google::protobuf::FileDescriptor* file_;
};

google::api::HttpRule Get(const std::string& path) {
  google::api::HttpRule r;
  r.set_get(path);
  return r;
}

TEST(RoutesTest, TwoRulesForTheSameRequestsAreAConflict) {
  SyntheticService s({Get("/v1/things/{id}"), Get("/v1/things/{id}")});
  auto table = RouteTable::Build(s.services());
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(std::string(table.status().message()), HasSubstr("conflicting routes: GET /v1/things/*"));
}

TEST(RoutesTest, SameShapeWithDifferentMethodsOrVerbsIsFine) {
  google::api::HttpRule post;
  post.set_post("/v1/things/{id}");
  post.set_body("*");
  SyntheticService s({Get("/v1/things/{id}"), post, Get("/v1/things/{id}:watch")});
  auto table = RouteTable::Build(s.services());
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->routes().size(), 3u);
  EXPECT_EQ(table->routes()[0].backend, "synthetic");
}

TEST(RoutesTest, BadRulesAreRefusedWithTheMethodNamed) {
  SyntheticService unknown_field({Get("/v1/things/{nope}")});
  auto a = RouteTable::Build(unknown_field.services());
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(std::string(a.status().message()), HasSubstr("evc.synthetic.v1.Synthetic.M0"));
  EXPECT_THAT(std::string(a.status().message()), HasSubstr("no field 'nope'"));

  google::api::HttpRule get_with_body = Get("/v1/things");
  get_with_body.set_body("*");
  EXPECT_FALSE(RouteTable::Build(SyntheticService({get_with_body}).services()).ok());
  EXPECT_FALSE(RouteTable::Build(SyntheticService({Get("/v1/things")}, true).services()).ok());
}

}  // namespace
}  // namespace evc::edge
