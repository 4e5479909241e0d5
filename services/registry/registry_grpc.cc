#include "services/registry/registry_grpc.h"

namespace evc::registry {

grpc::ServerUnaryReactor* RegistryGrpc::RegisterChargingPoint(
    grpc::CallbackServerContext* c, const v1::RegisterChargingPointRequest* req,
    v1::RegisterChargingPointResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] { return Fill(registry_.Register(*req), resp); });
}

grpc::ServerUnaryReactor* RegistryGrpc::UnregisterChargingPoint(
    grpc::CallbackServerContext* c, const v1::UnregisterChargingPointRequest* req,
    v1::UnregisterChargingPointResponse*) {
  return ServeOnPool(c, pool_, [=, this] { return registry_.Unregister(req->cp_id()); });
}

grpc::ServerUnaryReactor* RegistryGrpc::UpdateChargingPoint(grpc::CallbackServerContext* c,
                                                            const v1::UpdateChargingPointRequest* req,
                                                            common::v1::ChargingPoint* resp) {
  return ServeOnPool(c, pool_, [=, this] { return Fill(registry_.Update(*req), resp); });
}

grpc::ServerUnaryReactor* RegistryGrpc::GetChargingPoint(grpc::CallbackServerContext* c,
                                                         const v1::GetChargingPointRequest* req,
                                                         common::v1::ChargingPoint* resp) {
  return ServeOnPool(c, pool_, [=, this] { return Fill(registry_.Get(req->cp_id()), resp); });
}

grpc::ServerUnaryReactor* RegistryGrpc::ListChargingPoints(grpc::CallbackServerContext* c,
                                                           const v1::ListChargingPointsRequest* req,
                                                           v1::ListChargingPointsResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] { return Fill(registry_.List(*req), resp); });
}

grpc::ServerUnaryReactor* RegistryGrpc::ResetCredentials(grpc::CallbackServerContext* c,
                                                         const v1::ResetCredentialsRequest* req,
                                                         v1::Credentials* resp) {
  return ServeOnPool(c, pool_,
                     [=, this] { return Fill(registry_.ResetCredentials(req->cp_id()), resp); });
}

grpc::ServerUnaryReactor* RegistryGrpc::VerifyCredentials(grpc::CallbackServerContext* c,
                                                          const v1::VerifyCredentialsRequest* req,
                                                          v1::VerifyCredentialsResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    return Fill(registry_.Verify(*req), resp->mutable_charging_point());
  });
}

grpc::ServerUnaryReactor* RegistryGrpc::CreateDriver(grpc::CallbackServerContext* c,
                                                     const v1::CreateDriverRequest* req,
                                                     v1::Driver* resp) {
  return ServeOnPool(c, pool_, [=, this] { return Fill(registry_.CreateDriver(*req), resp); });
}

grpc::ServerUnaryReactor* RegistryGrpc::GetDriver(grpc::CallbackServerContext* c,
                                                  const v1::GetDriverRequest* req, v1::Driver* resp) {
  return ServeOnPool(c, pool_,
                     [=, this] { return Fill(registry_.GetDriver(req->driver_id()), resp); });
}

}  // namespace evc::registry
