#pragma once
// Input rules shared by every service, with messages a person can act on.

#include <cstdint>

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace evc {

// Charging-point and driver ids: 1-64 of [A-Za-z0-9._-] (drivers also '@'),
// starting with a letter or digit. `kind` names the field in the error.
absl::Status ValidateCpId(absl::string_view cp_id);
absl::Status ValidateDriverId(absl::string_view driver_id);
// Supply ids (central makes them; a CP's reports name them): as CP ids.
absl::Status ValidateSupplyId(absl::string_view supply_id);
// Prices in millieuros per kWh: 1 to 100,000 (100 €/kWh is beyond any real
// charger: larger is a typo, and it keeps every amount far from overflow).
absl::Status ValidatePriceMillieurosPerKwh(int64_t price);
// An RFID tag as a driver registers it and a CP presents it (OCPP idTag,
// CiString20: compared case-insensitively): 1-20 of [A-Za-z0-9._-], starting
// with a letter or digit. Returns it in upper case, the one spelling stored.
absl::StatusOr<std::string> NormalizeIdTag(absl::string_view id_tag);

}  // namespace evc
