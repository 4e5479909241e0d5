#include "services/common/authz.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

namespace evc {

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

absl::StatusOr<Caller> CallAuthorizer::Identify(const grpc::ServerContextBase& context) const {
  return IdentifyWithToken(BearerToken(context), context.peer());
}

absl::StatusOr<Caller> CallAuthorizer::IdentifyWithToken(const std::string& token,
                                                         std::string source) const {
  if (token.empty()) {
    return absl::UnauthenticatedError(
        "no access token: log in and send it as 'authorization: Bearer <token>'");
  }
  absl::StatusOr<Claims> claims = verifier_.Verify(token);
  if (!claims.ok()) return claims.status();
  return CallerFromClaims(*claims, std::move(source));
}

absl::StatusOr<Caller> CallAuthorizer::RequireOperator(const grpc::ServerContextBase& context) const {
  absl::StatusOr<Caller> caller = Identify(context);
  if (!caller.ok()) return caller;
  if (!caller->is_operator()) {
    return absl::PermissionDeniedError(
        absl::StrCat("'", caller->name, "' is a ", caller->role(), "; this needs an operator"));
  }
  return caller;
}

absl::StatusOr<Caller> CallAuthorizer::RequireSelfOrOperator(const grpc::ServerContextBase& context,
                                                             const std::string& subject) const {
  absl::StatusOr<Caller> caller = Identify(context);
  if (!caller.ok()) return caller;
  if (!caller->is_operator() && caller->name != subject) {
    return absl::PermissionDeniedError(
        absl::StrCat("'", caller->name, "' may not act for '", subject, "'"));
  }
  return caller;
}

std::string ServiceCredentialHeader(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(kServiceCredentialHeader.data(), kServiceCredentialHeader.size()));
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

absl::Status CallAuthorizer::RequireService(const grpc::ServerContextBase& context,
                                            std::initializer_list<absl::string_view> allowed) const {
  return RequireService(PeerCertificateName(context), ServiceCredentialHeader(context), allowed);
}

absl::Status CallAuthorizer::RequireService(absl::string_view certificate_name, absl::string_view credential,
                                            std::initializer_list<absl::string_view> allowed) const {
  const std::string who = absl::StrJoin(allowed, " or ");
  std::string caller;
  if (!certificate_name.empty()) {
    caller = std::string(certificate_name);
  } else if (credential.empty()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "internal call (", who, " only): present a service certificate (mutual TLS) or a service "
        "credential (--service_credential_file)"));
  } else if (services_ == nullptr) {
    return absl::UnauthenticatedError(absl::StrCat(
        "internal call (", who, " only): this service has no --service_credential_file to verify "
        "service credentials with, so it refuses every internal call; give it one (./evc up and the "
        "chart generate them) or turn mutual TLS on"));
  } else {
    absl::StatusOr<std::string> verified = services_->Verify(credential, absl::Now());
    if (!verified.ok()) return verified.status();
    caller = std::move(*verified);
  }
  for (absl::string_view service : allowed) {
    if (caller == service) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("internal call: '", caller, "' may not make it; only ", who, " may"));
}

}  // namespace evc
