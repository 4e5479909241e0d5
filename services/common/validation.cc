#include "services/common/validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace evc {
namespace {

absl::Status ValidateId(absl::string_view kind, absl::string_view id, absl::string_view extra) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(kind, " is required"));
  if (id.size() > 64) {
    return absl::InvalidArgumentError(absl::StrCat(kind, " is longer than 64 characters"));
  }
  if (!absl::ascii_isalnum(static_cast<unsigned char>(id[0]))) {
    return absl::InvalidArgumentError(absl::StrCat(kind, " '", id, "' must start with a letter or digit"));
  }
  for (char c : id) {
    bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
              c == '-' || extra.find(c) != absl::string_view::npos;
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(kind, " '", id,
                                                     "' may only contain letters, digits and . _ -",
                                                     extra));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateCpId(absl::string_view cp_id) { return ValidateId("cp_id", cp_id, ""); }
absl::Status ValidateDriverId(absl::string_view driver_id) {
  return ValidateId("driver_id", driver_id, "@");
}
absl::Status ValidateSupplyId(absl::string_view supply_id) {
  return ValidateId("supply_id", supply_id, "");
}

absl::Status ValidatePriceMillieurosPerKwh(int64_t price) {
  constexpr int64_t kMaxPrice = 100'000;
  if (price > 0 && price <= kMaxPrice) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("price_millieuros_per_kwh must be between 1 and ", kMaxPrice,
                                                 " (got ", price, "; 350 means 0.35 €/kWh)"));
}

absl::StatusOr<std::string> NormalizeIdTag(absl::string_view id_tag) {
  constexpr size_t kMaxIdTag = 20;  // OCPP 1.6 IdToken
  if (absl::Status s = ValidateId("id_tag", id_tag, ""); !s.ok()) return s;
  if (id_tag.size() > kMaxIdTag) {
    return absl::InvalidArgumentError(absl::StrCat("id_tag '", id_tag, "' is longer than 20 characters"));
  }
  return absl::AsciiStrToUpper(id_tag);
}

}  // namespace evc
