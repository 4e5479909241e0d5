#pragma once
// gRPC face of the registry: checks who calls (operators enrol CPs; owners or
// operators see and change accounts; only services verify secrets and
// passwords), then runs the logic on a worker pool (it hashes and queries the
// database) and maps its status to gRPC.

#include "evc/registry/v1/registry.grpc.pb.h"
#include "services/common/authz.h"
#include "services/common/grpc_util.h"
#include "services/common/worker_pool.h"
#include "services/registry/accounts.h"
#include "services/registry/registry.h"

namespace evc::registry {

class RegistryGrpc : public v1::RegistryService::CallbackService {
 public:
  // `event_keys`: the public keys that verify the registry's events.
  RegistryGrpc(Registry& registry, Accounts& accounts, CallAuthorizer& authz, WorkerPool& pool,
               std::vector<VerifyingKey> event_keys = {})
      : registry_(registry), accounts_(accounts), authz_(authz), pool_(pool),
        event_keys_(std::move(event_keys)) {}

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
  grpc::ServerUnaryReactor* SignUp(grpc::CallbackServerContext* c, const v1::SignUpRequest* req,
                                   v1::Account* resp) override;
  grpc::ServerUnaryReactor* UpdateProfile(grpc::CallbackServerContext* c,
                                          const v1::UpdateProfileRequest* req,
                                          v1::Account* resp) override;
  grpc::ServerUnaryReactor* GetProfile(grpc::CallbackServerContext* c,
                                       const v1::GetProfileRequest* req, v1::Account* resp) override;
  grpc::ServerUnaryReactor* VerifyPassword(grpc::CallbackServerContext* c,
                                           const v1::VerifyPasswordRequest* req,
                                           v1::Account* resp) override;
  grpc::ServerUnaryReactor* ResolveIdTag(grpc::CallbackServerContext* c,
                                         const v1::ResolveIdTagRequest* req,
                                         v1::Account* resp) override;
  grpc::ServerUnaryReactor* GetEventSigningKeys(grpc::CallbackServerContext* c,
                                                const v1::GetEventSigningKeysRequest* req,
                                                v1::GetEventSigningKeysResponse* resp) override;

 private:
  Registry& registry_;
  Accounts& accounts_;
  CallAuthorizer& authz_;
  WorkerPool& pool_;
  const std::vector<VerifyingKey> event_keys_;
};

}  // namespace evc::registry
