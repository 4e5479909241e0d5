#include "services/registry/registry.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "evc/events/v1/events.pb.h"
#include "services/common/kafka.h"
#include "services/common/log.h"
#include "services/common/proto_time.h"
#include "services/common/validation.h"

namespace evc::registry {
namespace {

// 1 MW is far beyond any real charger: larger is a typo.
constexpr int64_t kMaxPowerW = 1'000'000;
constexpr size_t kSecretBytes = 32;

// NaN and infinities are checked apart: a range check alone lets NaN through
// (every comparison with it is false), and protobuf's JSON mapping accepts
// "NaN" and "Infinity" for doubles.
absl::Status ValidateDegrees(const std::string& field, double value, double limit) {
  if (!std::isfinite(value)) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be a finite number of degrees"));
  }
  if (value < -limit || value > limit) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be between ", -limit, " and ",
                                                   limit, " degrees (got ", value, ")"));
  }
  return absl::OkStatus();
}

constexpr char kUpdatablePaths[] =
    "location, location.address, location.city, location.country, location.coordinates, "
    "price_millieuros_per_kwh, max_power_w";

// Copies the field an update mask path names from `patch` to `cp`; false for a
// path that cannot be changed. "location" replaces the whole Location, so a
// Location sent without coordinates removes them; "location.FIELD" changes
// only that field (and "location.coordinates" with none set removes them).
bool ApplyPath(const std::string& path, const common::v1::ChargingPoint& patch,
               common::v1::ChargingPoint& cp) {
  const common::v1::Location& from = patch.location();
  common::v1::Location& to = *cp.mutable_location();
  if (path == "location") {
    to = from;
  } else if (path == "location.address") {
    to.set_address(from.address());
  } else if (path == "location.city") {
    to.set_city(from.city());
  } else if (path == "location.country") {
    to.set_country(from.country());
  } else if (path == "location.coordinates") {
    if (from.has_coordinates()) {
      *to.mutable_coordinates() = from.coordinates();
    } else {
      to.clear_coordinates();
    }
  } else if (path == "price_millieuros_per_kwh") {
    cp.set_price_millieuros_per_kwh(patch.price_millieuros_per_kwh());
  } else if (path == "max_power_w") {
    cp.set_max_power_w(patch.max_power_w());
  } else {
    return false;
  }
  return true;
}

}  // namespace

absl::Status ValidateCoordinates(const common::v1::GeoPoint& point) {
  if (absl::Status s = ValidateDegrees("location.coordinates.latitude", point.latitude(), 90);
      !s.ok()) {
    return s;
  }
  return ValidateDegrees("location.coordinates.longitude", point.longitude(), 180);
}

absl::Status ValidateChargingPoint(const common::v1::ChargingPoint& cp) {
  if (absl::Status s = ValidateCpId(cp.cp_id()); !s.ok()) return s;
  const auto& loc = cp.location();
  if (absl::StripAsciiWhitespace(loc.address()).empty()) {
    return absl::InvalidArgumentError("location.address is required");
  }
  if (absl::StripAsciiWhitespace(loc.city()).empty()) {
    return absl::InvalidArgumentError("location.city is required");
  }
  if (loc.country().size() != 2 || !absl::ascii_isalpha(loc.country()[0]) ||
      !absl::ascii_isalpha(loc.country()[1])) {
    return absl::InvalidArgumentError(
        absl::StrCat("location.country '", loc.country(), "' must be a two-letter ISO code, e.g. ES"));
  }
  if (loc.has_coordinates()) {
    if (absl::Status s = ValidateCoordinates(loc.coordinates()); !s.ok()) return s;
  }
  if (absl::Status s = ValidatePriceMillieurosPerKwh(cp.price_millieuros_per_kwh()); !s.ok()) return s;
  if (cp.max_power_w() <= 0 || cp.max_power_w() > kMaxPowerW) {
    return absl::InvalidArgumentError(absl::StrCat("max_power_w must be between 1 and ", kMaxPowerW,
                                                   " (got ", cp.max_power_w(), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Credentials> Registry::NewCredentials(const std::string& cp_id,
                                                         std::string* hash) {
  v1::Credentials credentials;
  credentials.set_cp_id(cp_id);
  credentials.set_secret(crypto::Base64Url(crypto::RandomBytes(kSecretBytes)));
  absl::StatusOr<std::string> h = crypto::HashSecret(credentials.secret(), hash_params_);
  if (!h.ok()) return h.status();
  *hash = *h;
  return credentials;
}

void Registry::Announce(const std::string& cp_id,
                        const std::function<void(events::v1::RegistryEvent&)>& fill) {
  events::v1::RegistryEvent event;
  event.set_cp_id(cp_id);
  *event.mutable_at() = ToProto(clock_.Now());
  fill(event);
  absl::Status s = events_.Publish(topics::kRegistryEvents, cp_id, event);
  if (!s.ok()) log::Error("registry event not published", {{"cp_id", cp_id}, {"error", s.ToString()}});
}

void Registry::Audit(const std::string& action, const Caller& who, const std::string& cp_id,
                     const absl::Status& outcome) {
  nlohmann::json details = nlohmann::json::object();
  if (!outcome.ok()) details["reason"] = std::string(outcome.message());
  audit_.Record({clock_.Now(), AuditCategory::kSystem, action, who.AuditName(), cp_id,
                 outcome.ok() ? "OK" : "REJECTED", std::move(details), who.source});
}

absl::StatusOr<v1::RegisterChargingPointResponse> Registry::Register(
    const v1::RegisterChargingPointRequest& request, const Caller& who) {
  absl::StatusOr<v1::RegisterChargingPointResponse> response = Enrol(request);
  Audit("cp_registered", who, request.cp_id(), response.status());
  return response;
}

absl::StatusOr<v1::RegisterChargingPointResponse> Registry::Enrol(
    const v1::RegisterChargingPointRequest& request) {
  common::v1::ChargingPoint cp;
  cp.set_cp_id(request.cp_id());
  *cp.mutable_location() = request.location();
  cp.mutable_location()->set_country(absl::AsciiStrToUpper(request.location().country()));
  cp.set_price_millieuros_per_kwh(request.price_millieuros_per_kwh());
  cp.set_max_power_w(request.max_power_w());
  if (absl::Status s = ValidateChargingPoint(cp); !s.ok()) return s;
  std::string hash;
  absl::StatusOr<v1::Credentials> credentials = NewCredentials(cp.cp_id(), &hash);
  if (!credentials.ok()) return credentials.status();
  if (absl::Status s = store_.InsertChargingPoint(cp, hash); !s.ok()) return s;
  absl::StatusOr<common::v1::ChargingPoint> stored = store_.GetChargingPoint(cp.cp_id());
  if (!stored.ok()) return stored.status();
  Announce(cp.cp_id(), [&](events::v1::RegistryEvent& e) { *e.mutable_registered() = *stored; });
  log::Info("charging point registered", {{"cp_id", cp.cp_id()}, {"city", cp.location().city()}});
  v1::RegisterChargingPointResponse response;
  *response.mutable_charging_point() = *stored;
  *response.mutable_credentials() = *credentials;
  return response;
}

absl::Status Registry::Unregister(const std::string& cp_id, const Caller& who) {
  absl::Status deleted = ValidateCpId(cp_id);
  if (deleted.ok()) deleted = store_.DeleteChargingPoint(cp_id);
  Audit("cp_unregistered", who, cp_id, deleted);
  if (!deleted.ok()) return deleted;
  Announce(cp_id, [](events::v1::RegistryEvent& e) { e.mutable_unregistered(); });
  log::Info("charging point unregistered", {{"cp_id", cp_id}});
  return absl::OkStatus();
}

absl::StatusOr<common::v1::ChargingPoint> Registry::Update(const v1::UpdateChargingPointRequest& request,
                                                           const Caller& who) {
  absl::StatusOr<common::v1::ChargingPoint> updated = Change(request);
  Audit("cp_updated", who, request.charging_point().cp_id(), updated.status());
  return updated;
}

absl::StatusOr<common::v1::ChargingPoint> Registry::Change(const v1::UpdateChargingPointRequest& request) {
  const common::v1::ChargingPoint& patch = request.charging_point();
  absl::StatusOr<common::v1::ChargingPoint> current = Get(patch.cp_id());
  if (!current.ok()) return current.status();
  common::v1::ChargingPoint updated = *current;
  if (request.update_mask().paths_size() == 0) {
    for (const char* path : {"location", "price_millieuros_per_kwh", "max_power_w"}) {
      ApplyPath(path, patch, updated);
    }
  }
  for (const std::string& p : request.update_mask().paths()) {
    if (!ApplyPath(p, patch, updated)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "update_mask path '", p, "' cannot be changed (allowed: ", kUpdatablePaths, ")"));
    }
  }
  updated.mutable_location()->set_country(absl::AsciiStrToUpper(updated.location().country()));
  if (absl::Status s = ValidateChargingPoint(updated); !s.ok()) return s;
  if (absl::Status s = store_.UpdateChargingPoint(updated); !s.ok()) return s;
  Announce(updated.cp_id(), [&](events::v1::RegistryEvent& e) { *e.mutable_updated() = updated; });
  return updated;
}

absl::StatusOr<common::v1::ChargingPoint> Registry::Get(const std::string& cp_id) {
  if (absl::Status s = ValidateCpId(cp_id); !s.ok()) return s;
  return store_.GetChargingPoint(cp_id);
}

absl::StatusOr<v1::ListChargingPointsResponse> Registry::List(const v1::ListChargingPointsRequest& request) {
  absl::StatusOr<std::vector<common::v1::ChargingPoint>> cps = store_.ListChargingPoints(request.city());
  if (!cps.ok()) return cps.status();
  v1::ListChargingPointsResponse response;
  for (auto& cp : *cps) *response.add_charging_points() = std::move(cp);
  return response;
}

absl::StatusOr<v1::Credentials> Registry::ResetCredentials(const std::string& cp_id,
                                                           const Caller& who) {
  std::string hash;
  const absl::Status valid = ValidateCpId(cp_id);
  absl::StatusOr<v1::Credentials> credentials =
      valid.ok() ? NewCredentials(cp_id, &hash) : absl::StatusOr<v1::Credentials>(valid);
  absl::Status stored = credentials.ok() ? store_.SetSecretHash(cp_id, hash) : credentials.status();
  Audit("cp_credentials_reset", who, cp_id, stored);
  if (!stored.ok()) return stored;
  Announce(cp_id, [](events::v1::RegistryEvent& e) { e.mutable_credentials_reset(); });
  return credentials;
}

absl::StatusOr<common::v1::ChargingPoint> Registry::Verify(const v1::VerifyCredentialsRequest& request) {
  const absl::Status refused =
      absl::UnauthenticatedError("unknown charging point or wrong secret");
  if (!ValidateCpId(request.cp_id()).ok() || request.secret().empty()) return refused;
  absl::StatusOr<std::string> hash = store_.GetSecretHash(request.cp_id());
  if (absl::IsNotFound(hash.status())) return refused;
  if (!hash.ok()) return hash.status();
  if (!crypto::VerifySecret(request.secret(), *hash)) return refused;
  return store_.GetChargingPoint(request.cp_id());
}

}  // namespace evc::registry
