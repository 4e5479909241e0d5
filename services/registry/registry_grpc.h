#pragma once
// gRPC face of the registry: each call runs the Registry logic on a worker
// pool (it hashes and queries the database) and maps its status to gRPC.

#include "evc/registry/v1/registry.grpc.pb.h"
#include "services/common/grpc_util.h"
#include "services/common/worker_pool.h"
#include "services/registry/registry.h"

namespace evc::registry {

class RegistryGrpc : public v1::RegistryService::CallbackService {
 public:
  RegistryGrpc(Registry& registry, WorkerPool& pool) : registry_(registry), pool_(pool) {}

  grpc::ServerUnaryReactor* RegisterChargingPoint(grpc::CallbackServerContext* c,
                                                  const v1::RegisterChargingPointRequest* req,
                                                  v1::RegisterChargingPointResponse* resp) override;
  grpc::ServerUnaryReactor* UnregisterChargingPoint(grpc::CallbackServerContext* c,
                                                    const v1::UnregisterChargingPointRequest* req,
                                                    v1::UnregisterChargingPointResponse* resp) override;
  grpc::ServerUnaryReactor* UpdateChargingPoint(grpc::CallbackServerContext* c,
                                                const v1::UpdateChargingPointRequest* req,
                                                common::v1::ChargingPoint* resp) override;
  grpc::ServerUnaryReactor* GetChargingPoint(grpc::CallbackServerContext* c,
                                             const v1::GetChargingPointRequest* req,
                                             common::v1::ChargingPoint* resp) override;
  grpc::ServerUnaryReactor* ListChargingPoints(grpc::CallbackServerContext* c,
                                               const v1::ListChargingPointsRequest* req,
                                               v1::ListChargingPointsResponse* resp) override;
  grpc::ServerUnaryReactor* ResetCredentials(grpc::CallbackServerContext* c,
                                             const v1::ResetCredentialsRequest* req,
                                             v1::Credentials* resp) override;
  grpc::ServerUnaryReactor* VerifyCredentials(grpc::CallbackServerContext* c,
                                              const v1::VerifyCredentialsRequest* req,
                                              v1::VerifyCredentialsResponse* resp) override;
  grpc::ServerUnaryReactor* CreateDriver(grpc::CallbackServerContext* c,
                                         const v1::CreateDriverRequest* req,
                                         v1::Driver* resp) override;
  grpc::ServerUnaryReactor* GetDriver(grpc::CallbackServerContext* c,
                                      const v1::GetDriverRequest* req, v1::Driver* resp) override;

 private:
  Registry& registry_;
  WorkerPool& pool_;
};

}  // namespace evc::registry
