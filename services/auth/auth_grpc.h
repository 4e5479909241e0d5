#pragma once
// gRPC face of auth: checks the caller (operators rotate and revoke; only
// services fetch CP keys), runs the logic on a worker pool (it hashes and
// queries the database) and maps its status to gRPC.

#include "evc/auth/v1/auth.grpc.pb.h"
#include "services/auth/auth.h"
#include "services/auth/sessions.h"
#include "services/common/authz.h"
#include "services/common/worker_pool.h"

namespace evc::auth {

class AuthGrpc : public v1::AuthService::CallbackService {
 public:
  AuthGrpc(Auth& auth, Sessions& sessions, WorkerPool& pool)
      : auth_(auth), sessions_(sessions), authz_(sessions.verifier()), pool_(pool) {}

  grpc::ServerUnaryReactor* AuthenticateChargingPoint(
      grpc::CallbackServerContext* c, const v1::AuthenticateChargingPointRequest* req,
      v1::AuthenticateChargingPointResponse* resp) override;
  grpc::ServerUnaryReactor* ValidateChargingPointToken(
      grpc::CallbackServerContext* c, const v1::ValidateChargingPointTokenRequest* req,
      v1::ValidateChargingPointTokenResponse* resp) override;
  grpc::ServerUnaryReactor* RevokeChargingPoint(grpc::CallbackServerContext* c,
                                                const v1::RevokeChargingPointRequest* req,
                                                v1::RevokeChargingPointResponse* resp) override;
  grpc::ServerUnaryReactor* RotateChargingPointKey(grpc::CallbackServerContext* c,
                                                   const v1::RotateChargingPointKeyRequest* req,
                                                   v1::RotateChargingPointKeyResponse* resp) override;
  grpc::ServerUnaryReactor* GetChargingPointKeys(grpc::CallbackServerContext* c,
                                                 const v1::GetChargingPointKeysRequest* req,
                                                 v1::GetChargingPointKeysResponse* resp) override;
  grpc::ServerUnaryReactor* Login(grpc::CallbackServerContext* c, const v1::LoginRequest* req,
                                  v1::TokenPair* resp) override;
  grpc::ServerUnaryReactor* Refresh(grpc::CallbackServerContext* c, const v1::RefreshRequest* req,
                                    v1::TokenPair* resp) override;
  grpc::ServerUnaryReactor* Logout(grpc::CallbackServerContext* c, const v1::LogoutRequest* req,
                                   v1::LogoutResponse* resp) override;
  grpc::ServerUnaryReactor* ValidateToken(grpc::CallbackServerContext* c,
                                          const v1::ValidateTokenRequest* req,
                                          v1::TokenClaims* resp) override;
  grpc::ServerUnaryReactor* GetSigningKeys(grpc::CallbackServerContext* c,
                                           const v1::GetSigningKeysRequest* req,
                                           v1::GetSigningKeysResponse* resp) override;
  grpc::ServerUnaryReactor* ListRevokedSessions(grpc::CallbackServerContext* c,
                                                const v1::ListRevokedSessionsRequest* req,
                                                v1::ListRevokedSessionsResponse* resp) override;
  grpc::ServerUnaryReactor* IssueChargeAssertion(grpc::CallbackServerContext* c,
                                                 const v1::IssueChargeAssertionRequest* req,
                                                 v1::IssueChargeAssertionResponse* resp) override;
  grpc::ServerUnaryReactor* GetNotificationKey(grpc::CallbackServerContext* c,
                                               const v1::GetNotificationKeyRequest* req,
                                               v1::NotificationKey* resp) override;
  grpc::ServerUnaryReactor* RotateSigningKey(grpc::CallbackServerContext* c,
                                             const v1::RotateSigningKeyRequest* req,
                                             v1::RotateSigningKeyResponse* resp) override;

 private:
  Auth& auth_;
  Sessions& sessions_;
  CallAuthorizer authz_;
  WorkerPool& pool_;
};

}  // namespace evc::auth
