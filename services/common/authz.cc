#include "services/common/authz.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace evc {
namespace {
constexpr absl::string_view kServiceNames[] = {"registry", "auth", "central", "weather", "edge"};
}  // namespace

std::string BearerToken(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return "";
  absl::string_view value(it->second.data(), it->second.size());
  constexpr absl::string_view kScheme = "Bearer ";
  if (!absl::StartsWithIgnoreCase(value, kScheme)) return "";
  return std::string(value.substr(kScheme.size()));
}

std::string PeerCertificateName(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return "";
  std::vector<grpc::string_ref> names = auth->FindPropertyValues("x509_common_name");
  if (names.empty()) return "";
  return std::string(names.front().data(), names.front().size());
}

absl::StatusOr<Claims> CallAuthorizer::Caller(const grpc::ServerContextBase& context) const {
  return CallerWithToken(BearerToken(context));
}

absl::StatusOr<Claims> CallAuthorizer::CallerWithToken(const std::string& token) const {
  if (token.empty()) {
    return absl::UnauthenticatedError(
        "no access token: log in and send it as 'authorization: Bearer <token>'");
  }
  return verifier_.Verify(token);
}

absl::StatusOr<Claims> CallAuthorizer::RequireOperator(const grpc::ServerContextBase& context) const {
  absl::StatusOr<Claims> claims = Caller(context);
  if (!claims.ok()) return claims;
  if (claims->role != kRoleOperator) {
    return absl::PermissionDeniedError(
        absl::StrCat("'", claims->subject, "' is a ", claims->role, "; this needs an operator"));
  }
  return claims;
}

absl::StatusOr<Claims> CallAuthorizer::RequireSelfOrOperator(const grpc::ServerContextBase& context,
                                                             const std::string& subject) const {
  absl::StatusOr<Claims> claims = Caller(context);
  if (!claims.ok()) return claims;
  if (claims->role != kRoleOperator && claims->subject != subject) {
    return absl::PermissionDeniedError(
        absl::StrCat("'", claims->subject, "' may not act for '", subject, "'"));
  }
  return claims;
}

absl::Status CallAuthorizer::RequireService(const grpc::ServerContextBase& context) const {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  std::vector<grpc::string_ref> transport =
      auth == nullptr ? std::vector<grpc::string_ref>() : auth->FindPropertyValues("transport_security_type");
  if (transport.empty() || transport.front() != "ssl") return absl::OkStatus();
  const std::string name = PeerCertificateName(context);
  for (absl::string_view service : kServiceNames) {
    if (name == service) return absl::OkStatus();
  }
  if (name.empty()) {
    return absl::UnauthenticatedError("internal call: present a service certificate (mutual TLS)");
  }
  return absl::PermissionDeniedError(
      absl::StrCat("internal call: certificate '", name, "' is not a service's"));
}

}  // namespace evc
