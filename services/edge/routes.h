#pragma once
// The REST routes of the edge, read from the google.api.http annotations of
// the services' descriptors (primary rule and additional_bindings), so an
// annotated RPC is reachable without edge code.

#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "absl/status/statusor.h"
#include "services/edge/path_template.h"

namespace evc::edge {

struct Route {
  std::string http_method;  // GET, POST, PUT, PATCH, DELETE
  PathTemplate path;
  // "" (no body), "*" (the whole request) or one request field.
  std::string body;
  const google::protobuf::MethodDescriptor* method = nullptr;
  // "/evc.central.v1.CentralService/RequestCharge"
  std::string grpc_path;
  // Which upstream serves it: "central" for package evc.central.v1.
  std::string backend;
  bool server_streaming = false;
};

class RouteTable {
 public:
  // INVALID_ARGUMENT for a malformed rule (bad template, unknown field,
  // client streaming) and for two rules that match the same requests.
  static absl::StatusOr<RouteTable> Build(
      const std::vector<const google::protobuf::ServiceDescriptor*>& services);

  enum class Outcome { kFound, kNoRoute, kWrongMethod };
  struct Lookup {
    Outcome outcome = Outcome::kNoRoute;
    const Route* route = nullptr;
    std::vector<Binding> bindings;
    // For kWrongMethod: the methods the path does take.
    std::vector<std::string> allowed;
  };
  // The most specific route for `http_method` and `path` (no query string).
  Lookup Match(absl::string_view http_method, absl::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  // Most specific first.
  std::vector<Route> routes_;
};

// The upstream of a service: the second part of "evc.<name>.v1", else the first.
std::string BackendOf(const google::protobuf::ServiceDescriptor& service);

// The services declared in the named .proto files of the linked descriptors.
absl::StatusOr<std::vector<const google::protobuf::ServiceDescriptor*>> LinkedServices(
    const std::vector<std::string>& proto_files);

// The routes of every service of this project (proto/): what the edge serves.
absl::StatusOr<RouteTable> ProjectRoutes();

// The field `path` ("a.b.c") of `message`, or an error naming the bad part.
absl::StatusOr<const google::protobuf::FieldDescriptor*> FindFieldPath(
    const google::protobuf::Descriptor& message, absl::string_view path);

}  // namespace evc::edge
