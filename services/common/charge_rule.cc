#include "services/common/charge_rule.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace evc {

absl::Status MayChargeAs(const Caller& caller, absl::string_view named_driver,
                         absl::string_view credential) {
  if (!caller.is_driver()) {
    const std::string who = caller.is_account()
                                ? absl::StrCat("'", caller.name, "' is a ", caller.role())
                                : caller.Describe();
    return absl::PermissionDeniedError(absl::StrCat(who, "; only drivers charge"));
  }
  if (!named_driver.empty() && named_driver != caller.name) {
    return absl::PermissionDeniedError(absl::StrCat("the ", credential, " belongs to '", caller.name,
                                                    "', not to driver '", named_driver, "'"));
  }
  return absl::OkStatus();
}

}  // namespace evc
