#pragma once
// Persistence of the registry's charging points and their credential hashes
// (accounts: account_store.h).

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "evc/common/v1/types.pb.h"
#include "evc/registry/v1/registry.pb.h"

namespace evc::registry {

class RegistryStore {
 public:
  virtual ~RegistryStore() = default;
  // ALREADY_EXISTS if the id is taken.
  virtual absl::Status InsertChargingPoint(const common::v1::ChargingPoint& cp,
                                           const std::string& secret_hash) = 0;
  // NOT_FOUND if unknown.
  virtual absl::Status DeleteChargingPoint(const std::string& cp_id) = 0;
  virtual absl::Status UpdateChargingPoint(const common::v1::ChargingPoint& cp) = 0;
  virtual absl::StatusOr<common::v1::ChargingPoint> GetChargingPoint(const std::string& cp_id) = 0;
  // All charging points (of `city` when not empty), ordered by id.
  virtual absl::StatusOr<std::vector<common::v1::ChargingPoint>> ListChargingPoints(
      const std::string& city) = 0;
  virtual absl::Status SetSecretHash(const std::string& cp_id, const std::string& secret_hash) = 0;
  virtual absl::StatusOr<std::string> GetSecretHash(const std::string& cp_id) = 0;
};

}  // namespace evc::registry
