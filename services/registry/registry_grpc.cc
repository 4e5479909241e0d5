#include "services/registry/registry_grpc.h"

namespace evc::registry {

grpc::ServerUnaryReactor* RegistryGrpc::RegisterChargingPoint(
    grpc::CallbackServerContext* c, const v1::RegisterChargingPointRequest* req,
    v1::RegisterChargingPointResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    absl::StatusOr<Caller> who = authz_.RequireOperator(*c);
    if (!who.ok()) return who.status();
    return Fill(registry_.Register(*req, *who), resp);
  });
}

grpc::ServerUnaryReactor* RegistryGrpc::UnregisterChargingPoint(
    grpc::CallbackServerContext* c, const v1::UnregisterChargingPointRequest* req,
    v1::UnregisterChargingPointResponse*) {
  return ServeOnPool(c, pool_, [=, this] {
    absl::StatusOr<Caller> who = authz_.RequireOperator(*c);
    if (!who.ok()) return who.status();
    return registry_.Unregister(req->cp_id(), *who);
  });
}

grpc::ServerUnaryReactor* RegistryGrpc::UpdateChargingPoint(grpc::CallbackServerContext* c,
                                                            const v1::UpdateChargingPointRequest* req,
                                                            common::v1::ChargingPoint* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    absl::StatusOr<Caller> who = authz_.RequireOperator(*c);
    if (!who.ok()) return who.status();
    return Fill(registry_.Update(*req, *who), resp);
  });
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
  return ServeOnPool(c, pool_, [=, this] {
    absl::StatusOr<Caller> who = authz_.RequireOperator(*c);
    if (!who.ok()) return who.status();
    return Fill(registry_.ResetCredentials(req->cp_id(), *who), resp);
  });
}

grpc::ServerUnaryReactor* RegistryGrpc::VerifyCredentials(grpc::CallbackServerContext* c,
                                                          const v1::VerifyCredentialsRequest* req,
                                                          v1::VerifyCredentialsResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    // Auth checks CP secrets for AuthenticateChargingPoint, with its lockout.
    if (absl::Status s = authz_.RequireService(*c, {kAuth}); !s.ok()) return s;
    return Fill(registry_.Verify(*req), resp->mutable_charging_point());
  });
}

grpc::ServerUnaryReactor* RegistryGrpc::SignUp(grpc::CallbackServerContext* c,
                                               const v1::SignUpRequest* req, v1::Account* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    // Signing up needs no token; one is looked at only to allow operators
    // to create operators.
    Caller who = Caller::Anonymous(c->peer());
    if (!BearerToken(*c).empty()) {
      absl::StatusOr<Caller> caller = authz_.Identify(*c);
      if (!caller.ok()) return caller.status();
      who = *std::move(caller);
    }
    return Fill(accounts_.SignUp(*req, who), resp);
  });
}

grpc::ServerUnaryReactor* RegistryGrpc::UpdateProfile(grpc::CallbackServerContext* c,
                                                      const v1::UpdateProfileRequest* req,
                                                      v1::Account* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    absl::StatusOr<Caller> caller = authz_.Identify(*c);
    if (!caller.ok()) return caller.status();
    return Fill(accounts_.UpdateProfile(*req, *caller), resp);
  });
}

grpc::ServerUnaryReactor* RegistryGrpc::GetProfile(grpc::CallbackServerContext* c,
                                                   const v1::GetProfileRequest* req,
                                                   v1::Account* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    absl::StatusOr<Caller> caller = authz_.RequireSelfOrOperator(*c, req->username());
    if (!caller.ok()) return caller.status();
    return Fill(accounts_.Get(req->username()), resp);
  });
}

grpc::ServerUnaryReactor* RegistryGrpc::VerifyPassword(grpc::CallbackServerContext* c,
                                                       const v1::VerifyPasswordRequest* req,
                                                       v1::Account* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    // Only auth's Login, with its lockout: anyone else could guess passwords.
    if (absl::Status s = authz_.RequireService(*c, {kAuth}); !s.ok()) return s;
    return Fill(accounts_.VerifyPassword(*req), resp);
  });
}

grpc::ServerUnaryReactor* RegistryGrpc::ResolveIdTag(grpc::CallbackServerContext* c,
                                                     const v1::ResolveIdTagRequest* req,
                                                     v1::Account* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    // Only central, charging a supply started with a tag: a tag names an
    // account, so anyone else could map tags to people.
    if (absl::Status s = authz_.RequireService(*c, {kCentral}); !s.ok()) return s;
    return Fill(accounts_.ResolveIdTag(req->id_tag()), resp);
  });
}

grpc::ServerUnaryReactor* RegistryGrpc::GetEventSigningKeys(grpc::CallbackServerContext* c,
                                                            const v1::GetEventSigningKeysRequest*,
                                                            v1::GetEventSigningKeysResponse* resp) {
  // Public keys: anyone may verify the registry's events.
  return ServeOnPool(c, pool_, [=, this] {
    for (const VerifyingKey& k : event_keys_) {
      auto* out = resp->add_keys();
      out->set_key_id(k.key_id);
      out->set_algorithm("EdDSA");
      out->set_public_key(k.public_key);
    }
    return absl::OkStatus();
  });
}

}  // namespace evc::registry
