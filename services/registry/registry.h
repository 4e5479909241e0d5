#pragma once
// The registry's rules: what a valid charging point is, credentials issued
// once and stored only as a slow hash, and an event for every change so that
// auth and central follow without polling.

#include "absl/status/statusor.h"
#include "evc/events/v1/events.pb.h"
#include "evc/registry/v1/registry.pb.h"
#include "services/common/clock.h"
#include "services/common/crypto.h"
#include "services/common/publisher.h"
#include "services/registry/accounts.h"
#include "services/registry/registry_store.h"

namespace evc::registry {

class Registry {
 public:
  Registry(RegistryStore& store, Publisher& events, AuditSink& audit, const Clock& clock,
           crypto::ScryptParams hash_params = {})
      : store_(store), events_(events), audit_(audit), clock_(clock), hash_params_(hash_params) {}

  // Enrolment changes are operators' (checked by the caller) and audited.
  absl::StatusOr<v1::RegisterChargingPointResponse> Register(
      const v1::RegisterChargingPointRequest& request, const Caller& who);
  absl::Status Unregister(const std::string& cp_id, const Caller& who);
  absl::StatusOr<common::v1::ChargingPoint> Update(const v1::UpdateChargingPointRequest& request,
                                                   const Caller& who);
  absl::StatusOr<common::v1::ChargingPoint> Get(const std::string& cp_id);
  absl::StatusOr<v1::ListChargingPointsResponse> List(const v1::ListChargingPointsRequest& request);
  absl::StatusOr<v1::Credentials> ResetCredentials(const std::string& cp_id, const Caller& who);
  // UNAUTHENTICATED for an unknown CP or a wrong secret (the same message for
  // both, so the answer does not reveal which ids exist).
  absl::StatusOr<common::v1::ChargingPoint> Verify(const v1::VerifyCredentialsRequest& request);

 private:
  absl::StatusOr<v1::RegisterChargingPointResponse> Enrol(
      const v1::RegisterChargingPointRequest& request);
  absl::StatusOr<common::v1::ChargingPoint> Change(const v1::UpdateChargingPointRequest& request);
  absl::StatusOr<v1::Credentials> NewCredentials(const std::string& cp_id, std::string* hash);
  void Audit(const std::string& action, const Caller& who, const std::string& cp_id,
             const absl::Status& outcome);
  void Announce(const std::string& cp_id, const std::function<void(events::v1::RegistryEvent&)>& fill);

  RegistryStore& store_;
  Publisher& events_;
  AuditSink& audit_;
  const Clock& clock_;
  crypto::ScryptParams hash_params_;
};

// Checks location, price and power; empty fields are errors. Coordinates are
// optional, but checked when present.
absl::Status ValidateChargingPoint(const common::v1::ChargingPoint& cp);
// Finite, latitude -90..90 and longitude -180..180 degrees; the error names the field.
absl::Status ValidateCoordinates(const common::v1::GeoPoint& point);

}  // namespace evc::registry
