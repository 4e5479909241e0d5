#pragma once
// A registry for enrolment tests: enrols each CP id once, issues new credentials
// on request, or is down; remembers what it was asked.

#include <grpcpp/grpcpp.h>

#include <set>
#include <string>
#include <vector>

#include "evc/registry/v1/registry.grpc.pb.h"

namespace evc {

class FakeEnrolmentRegistry : public registry::v1::RegistryService::Service {
 public:
  grpc::Status RegisterChargingPoint(
      grpc::ServerContext*, const registry::v1::RegisterChargingPointRequest* request,
      registry::v1::RegisterChargingPointResponse* response) override {
    if (down) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "registry is down");
    if (refuse) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "price must be set");
    registered.push_back(*request);
    if (!known.insert(request->cp_id()).second) {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "taken");
    }
    response->mutable_credentials()->set_secret("first-secret");
    return grpc::Status::OK;
  }
  grpc::Status ResetCredentials(grpc::ServerContext*,
                                const registry::v1::ResetCredentialsRequest* request,
                                registry::v1::Credentials* response) override {
    reset.push_back(request->cp_id());
    response->set_secret("new-secret");
    return grpc::Status::OK;
  }

  // Tests set these before calls and read them after.
  bool down = false;
  bool refuse = false;
  std::set<std::string> known;
  std::vector<registry::v1::RegisterChargingPointRequest> registered;
  std::vector<std::string> reset;
};

}  // namespace evc
