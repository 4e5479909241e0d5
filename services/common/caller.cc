#include "services/common/caller.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace evc {
namespace {

Caller Make(Caller::Kind kind, std::string name, std::string source, std::string session_id = "") {
  Caller caller;
  caller.kind = kind;
  caller.name = std::move(name);
  caller.source = std::move(source);
  caller.session_id = std::move(session_id);
  return caller;
}

}  // namespace

Caller Caller::Anonymous(std::string source) { return Make(Kind::kAnonymous, "", std::move(source)); }
Caller Caller::Driver(std::string username, std::string source, std::string session_id) {
  return Make(Kind::kDriver, std::move(username), std::move(source), std::move(session_id));
}
Caller Caller::Operator(std::string username, std::string source, std::string session_id) {
  return Make(Kind::kOperator, std::move(username), std::move(source), std::move(session_id));
}
Caller Caller::ChargingPoint(std::string cp_id, std::string source) {
  return Make(Kind::kChargingPoint, std::move(cp_id), std::move(source));
}
Caller Caller::Service(std::string name, std::string source) {
  return Make(Kind::kService, std::move(name), std::move(source));
}
Caller Caller::System(std::string name, std::string source) {
  return Make(Kind::kSystem, std::move(name), std::move(source));
}

std::string Caller::role() const {
  if (is_driver()) return kRoleDriver;
  if (is_operator()) return kRoleOperator;
  return "";
}

std::string Caller::AuditName() const {
  if (kind == Kind::kChargingPoint) return absl::StrCat("cp:", name);
  return name;
}

std::string Caller::Describe() const {
  switch (kind) {
    case Kind::kAnonymous: return "anonymous caller";
    case Kind::kDriver: return absl::StrCat("driver '", name, "'");
    case Kind::kOperator: return absl::StrCat("operator '", name, "'");
    case Kind::kChargingPoint: return absl::StrCat("CP '", name, "'");
    case Kind::kService: return absl::StrCat("service '", name, "'");
    case Kind::kSystem: return name;
  }
  return name;
}

absl::StatusOr<Caller> CallerFromClaims(const Claims& claims, std::string source) {
  Caller caller;
  if (claims.role == kRoleDriver) {
    caller = Caller::Driver(claims.subject, std::move(source), claims.session_id);
  } else if (claims.role == kRoleOperator) {
    caller = Caller::Operator(claims.subject, std::move(source), claims.session_id);
  } else {
    return absl::UnauthenticatedError(
        absl::StrCat("the token names an unknown role '", claims.role, "'; log in again"));
  }
  caller.expires_at = claims.expires_at;
  return caller;
}

}  // namespace evc
