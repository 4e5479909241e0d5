#pragma once

#include "services/common/postgres.h"
#include "services/common/tokens.h"
#include "services/registry/account_store.h"
#include "services/registry/registry_store.h"

namespace evc::registry {

class PgRegistryStore : public RegistryStore, public AccountStore {
 public:
  explicit PgRegistryStore(PgPool& pool) : pool_(pool) {}

  absl::Status InsertChargingPoint(const common::v1::ChargingPoint& cp,
                                   const std::string& secret_hash) override;
  absl::Status DeleteChargingPoint(const std::string& cp_id) override;
  absl::Status UpdateChargingPoint(const common::v1::ChargingPoint& cp) override;
  absl::StatusOr<common::v1::ChargingPoint> GetChargingPoint(const std::string& cp_id) override;
  absl::StatusOr<std::vector<common::v1::ChargingPoint>> ListChargingPoints(
      const std::string& city) override;
  absl::Status SetSecretHash(const std::string& cp_id, const std::string& secret_hash) override;
  absl::StatusOr<std::string> GetSecretHash(const std::string& cp_id) override;
  absl::Status InsertAccount(const v1::Account& account, const std::string& password_hash) override;
  absl::StatusOr<StoredAccount> GetAccount(const std::string& username) override;
  absl::Status UpdateAccount(const StoredAccount& account) override;
  absl::StatusOr<std::string> AccountOfIdTag(const std::string& id_tag) override;
  // `owner`'s key for signing its Kafka events, created on first use (every
  // replica then signs with the same key).
  absl::StatusOr<SigningKey> EventSigningKey(const std::string& owner);

 private:
  static void ReplaceIdTags(pqxx::work& tx, const v1::Account& account);

  PgPool& pool_;
};

}  // namespace evc::registry
