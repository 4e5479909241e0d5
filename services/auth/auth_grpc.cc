#include "services/auth/auth_grpc.h"

#include "services/common/grpc_util.h"
#include "services/common/proto_time.h"

namespace evc::auth {

grpc::ServerUnaryReactor* AuthGrpc::AuthenticateChargingPoint(
    grpc::CallbackServerContext* c, const v1::AuthenticateChargingPointRequest* req,
    v1::AuthenticateChargingPointResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] { return Fill(auth_.Authenticate(*req, c->peer()), resp); });
}

grpc::ServerUnaryReactor* AuthGrpc::ValidateChargingPointToken(
    grpc::CallbackServerContext* c, const v1::ValidateChargingPointTokenRequest* req,
    v1::ValidateChargingPointTokenResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    // Central checks the token a CP's monitor presents (an OCPP gateway would
    // be added here).
    if (absl::Status s = authz_.RequireService(*c, {kCentral}); !s.ok()) return s;
    return Fill(auth_.Validate(req->token()), resp);
  });
}

grpc::ServerUnaryReactor* AuthGrpc::RevokeChargingPoint(grpc::CallbackServerContext* c,
                                                        const v1::RevokeChargingPointRequest* req,
                                                        v1::RevokeChargingPointResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    absl::StatusOr<Caller> op = authz_.RequireOperator(*c);
    if (!op.ok()) return op.status();
    return Fill(auth_.Revoke(req->cp_id(), *op, "revoked by an operator", /*block=*/true), resp);
  });
}

grpc::ServerUnaryReactor* AuthGrpc::RotateChargingPointKey(grpc::CallbackServerContext* c,
                                                           const v1::RotateChargingPointKeyRequest* req,
                                                           v1::RotateChargingPointKeyResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    absl::StatusOr<Caller> op = authz_.RequireOperator(*c);
    if (!op.ok()) return op.status();
    return Fill(auth_.RotateKey(*req, *op), resp);
  });
}

grpc::ServerUnaryReactor* AuthGrpc::GetChargingPointKeys(grpc::CallbackServerContext* c,
                                                         const v1::GetChargingPointKeysRequest* req,
                                                         v1::GetChargingPointKeysResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    // Every CP's AES keys: central alone seals and opens CP traffic.
    if (absl::Status s = authz_.RequireService(*c, {kCentral}); !s.ok()) return s;
    return Fill(auth_.Keys(req->cp_id()), resp);
  });
}

grpc::ServerUnaryReactor* AuthGrpc::Login(grpc::CallbackServerContext* c, const v1::LoginRequest* req,
                                          v1::TokenPair* resp) {
  return ServeOnPool(c, pool_, [=, this] { return Fill(sessions_.Login(*req, c->peer()), resp); });
}

grpc::ServerUnaryReactor* AuthGrpc::Refresh(grpc::CallbackServerContext* c,
                                            const v1::RefreshRequest* req, v1::TokenPair* resp) {
  return ServeOnPool(c, pool_, [=, this] { return Fill(sessions_.Refresh(*req, c->peer()), resp); });
}

grpc::ServerUnaryReactor* AuthGrpc::Logout(grpc::CallbackServerContext* c, const v1::LogoutRequest*,
                                           v1::LogoutResponse*) {
  return ServeOnPool(c, pool_, [=, this] {
    absl::StatusOr<Caller> caller = authz_.Identify(*c);
    if (!caller.ok()) return caller.status();
    return sessions_.Logout(*caller);
  });
}

grpc::ServerUnaryReactor* AuthGrpc::ValidateToken(grpc::CallbackServerContext* c,
                                                  const v1::ValidateTokenRequest* req,
                                                  v1::TokenClaims* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    absl::StatusOr<Claims> claims = sessions_.verifier().Verify(req->access_token());
    if (!claims.ok()) return claims.status();
    resp->set_username(claims->subject);
    resp->set_role(claims->role);
    resp->set_session_id(claims->session_id);
    *resp->mutable_expires_at() = ToProto(claims->expires_at);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AuthGrpc::GetSigningKeys(grpc::CallbackServerContext* c,
                                                   const v1::GetSigningKeysRequest*,
                                                   v1::GetSigningKeysResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] { return Fill(sessions_.PublicKeys(), resp); });
}

grpc::ServerUnaryReactor* AuthGrpc::ListRevokedSessions(grpc::CallbackServerContext* c,
                                                        const v1::ListRevokedSessionsRequest*,
                                                        v1::ListRevokedSessionsResponse* resp) {
  // For the services that verify access tokens themselves. Nothing in it
  // opens a session, but which sessions ended and when is nobody else's.
  return ServeOnPool(c, pool_, [=, this] {
    if (absl::Status s = authz_.RequireService(*c, {kRegistry, kCentral, kWeather}); !s.ok()) return s;
    return Fill(sessions_.RevokedSessions(), resp);
  });
}

grpc::ServerUnaryReactor* AuthGrpc::RotateSigningKey(grpc::CallbackServerContext* c,
                                                     const v1::RotateSigningKeyRequest*,
                                                     v1::RotateSigningKeyResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    absl::StatusOr<Caller> op = authz_.RequireOperator(*c);
    if (!op.ok()) return op.status();
    return Fill(sessions_.RotateSigningKey(*op), resp);
  });
}

grpc::ServerUnaryReactor* AuthGrpc::IssueChargeAssertion(grpc::CallbackServerContext* c,
                                                         const v1::IssueChargeAssertionRequest* req,
                                                         v1::IssueChargeAssertionResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    absl::StatusOr<Caller> caller = authz_.Identify(*c);
    if (!caller.ok()) return caller.status();
    return Fill(sessions_.IssueChargeAssertion(*caller, *req), resp);
  });
}

grpc::ServerUnaryReactor* AuthGrpc::GetNotificationKey(grpc::CallbackServerContext* c,
                                                       const v1::GetNotificationKeyRequest* req,
                                                       v1::NotificationKey* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    // A driver its own key (bearer token); central any driver's (service).
    if (!BearerToken(*c).empty()) {
      absl::StatusOr<Caller> caller = authz_.Identify(*c);
      if (!caller.ok()) return caller.status();
      if (!caller->is_driver() || caller->name != req->driver_id()) {
        return absl::PermissionDeniedError("a driver may only ask for its own notification key");
      }
    } else if (absl::Status s = authz_.RequireService(*c, {kCentral}); !s.ok()) {
      return s;
    }
    return Fill(sessions_.NotificationKeyFor(req->driver_id()), resp);
  });
}

}  // namespace evc::auth
