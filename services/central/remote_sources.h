#pragma once
// Central's collaborators backed by its peers over gRPC: CP keys, drivers'
// notification keys and CP tokens from auth, catalogue entries from the
// registry, the audit trail from Postgres. Each call has a deadline; the
// caller decides what a failure means.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "evc/auth/v1/auth.grpc.pb.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "services/central/catalogue_lookup.h"
#include "services/central/audit_reader.h"
#include "services/central/cp_token_validator.h"
#include "services/central/cp_key_source.h"
#include "services/central/driver_tags.h"
#include "services/central/notification_key_source.h"
#include "services/common/postgres.h"

namespace evc::central {

// A CP's keys (auth's GetChargingPointKeys; over mutual TLS when it is on).
class AuthCpKeys : public CpKeySource {
 public:
  explicit AuthCpKeys(auth::v1::AuthService::StubInterface& auth) : auth_(auth) {}
  absl::StatusOr<std::vector<CpKey>> Keys(const std::string& cp_id) override;

 private:
  auth::v1::AuthService::StubInterface& auth_;
};

// A driver's notification key (auth's GetNotificationKey, an internal RPC).
class AuthNotificationKeys : public NotificationKeySource {
 public:
  explicit AuthNotificationKeys(auth::v1::AuthService::StubInterface& auth) : auth_(auth) {}
  absl::StatusOr<NotificationKey> Key(const std::string& driver_id) override;

 private:
  auth::v1::AuthService::StubInterface& auth_;
};

// A CP's catalogue entry (the registry's GetChargingPoint).
class RegistryCatalogue : public CatalogueLookup {
 public:
  explicit RegistryCatalogue(registry::v1::RegistryService::StubInterface& registry)
      : registry_(registry) {}
  absl::StatusOr<common::v1::ChargingPoint> Lookup(const std::string& cp_id) override;

 private:
  registry::v1::RegistryService::StubInterface& registry_;
};

// Tags' owners (the registry's ResolveIdTag, an internal RPC for central).
class RegistryDriverTags : public DriverTags {
 public:
  explicit RegistryDriverTags(registry::v1::RegistryService::StubInterface& registry)
      : registry_(registry) {}
  absl::StatusOr<std::string> DriverOf(const std::string& id_tag) override;

 private:
  registry::v1::RegistryService::StubInterface& registry_;
};

// The whole catalogue at start-up, retried with backoff until the start-up
// timeout (or shutdown): the registry may start after central.
absl::StatusOr<std::vector<common::v1::ChargingPoint>> LoadCatalogue(
    registry::v1::RegistryService::StubInterface& registry);

// Monitor tokens are checked by auth (ValidateChargingPointToken).
class AuthCpTokens : public CpTokenValidator {
 public:
  explicit AuthCpTokens(auth::v1::AuthService::StubInterface& auth) : auth_(auth) {}
  absl::StatusOr<std::string> CpOf(const std::string& token) override;

 private:
  auth::v1::AuthService::StubInterface& auth_;
};

// Operators read the audit trail from Postgres.
class PgAuditReader : public AuditReader {
 public:
  explicit PgAuditReader(PgPool& pool) : pool_(pool) {}
  absl::StatusOr<std::vector<common::v1::AuditEvent>> Read(const AuditQuery& query) override {
    return QueryAudit(pool_, query);
  }

 private:
  PgPool& pool_;
};

}  // namespace evc::central
