#pragma once

#include "evc/auth/v1/auth.grpc.pb.h"
#include "services/auth/auth.h"
#include "services/common/worker_pool.h"

namespace evc::auth {

class AuthGrpc : public v1::AuthService::CallbackService {
 public:
  AuthGrpc(Auth& auth, WorkerPool& pool) : auth_(auth), pool_(pool) {}

  grpc::ServerUnaryReactor* AuthenticateChargingPoint(
      grpc::CallbackServerContext* c, const v1::AuthenticateChargingPointRequest* req,
      v1::AuthenticateChargingPointResponse* resp) override;
  grpc::ServerUnaryReactor* ValidateChargingPointToken(
      grpc::CallbackServerContext* c, const v1::ValidateChargingPointTokenRequest* req,
      v1::ValidateChargingPointTokenResponse* resp) override;
  grpc::ServerUnaryReactor* RevokeChargingPoint(grpc::CallbackServerContext* c,
                                                const v1::RevokeChargingPointRequest* req,
                                                v1::RevokeChargingPointResponse* resp) override;

 private:
  Auth& auth_;
  WorkerPool& pool_;
};

}  // namespace evc::auth
