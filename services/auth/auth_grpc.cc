#include "services/auth/auth_grpc.h"

#include "services/common/grpc_util.h"

namespace evc::auth {

grpc::ServerUnaryReactor* AuthGrpc::AuthenticateChargingPoint(
    grpc::CallbackServerContext* c, const v1::AuthenticateChargingPointRequest* req,
    v1::AuthenticateChargingPointResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] { return Fill(auth_.Authenticate(*req), resp); });
}

grpc::ServerUnaryReactor* AuthGrpc::ValidateChargingPointToken(
    grpc::CallbackServerContext* c, const v1::ValidateChargingPointTokenRequest* req,
    v1::ValidateChargingPointTokenResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] { return Fill(auth_.Validate(req->token()), resp); });
}

grpc::ServerUnaryReactor* AuthGrpc::RevokeChargingPoint(grpc::CallbackServerContext* c,
                                                        const v1::RevokeChargingPointRequest* req,
                                                        v1::RevokeChargingPointResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] { return Fill(auth_.Revoke(req->cp_id()), resp); });
}

}  // namespace evc::auth
