#pragma once
// Who is calling, for the gRPC handlers of every service: the bearer token
// of a driver or operator (verified locally), or a peer service, by its
// certificate (mutual TLS) or its service credential (TLS off, see
// service_credentials.h). Every refusal is UNAUTHENTICATED or
// PERMISSION_DENIED with a reason.

#include <initializer_list>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "services/common/caller.h"
#include "services/common/service_credentials.h"
#include "services/common/tokens.h"

namespace evc {

class CallAuthorizer {
 public:
  // `verifier` and `services` must outlive the authorizer. `services`
  // verifies service credentials (the process's --service_credential_file by
  // default); without it only certificates identify services.
  explicit CallAuthorizer(TokenVerifier& verifier,
                          const ServiceCredential* services = ProcessServiceCredential())
      : verifier_(verifier), services_(services) {}

  // The driver or operator whose "authorization: Bearer <token>" the call
  // carries (UNAUTHENTICATED without a valid one).
  absl::StatusOr<Caller> Identify(const grpc::ServerContextBase& context) const;
  // The same from a token taken off the call earlier (for work that outlives
  // the call's context); `source` is the call's peer, for the audit trail.
  absl::StatusOr<Caller> IdentifyWithToken(const std::string& token, std::string source) const;
  absl::StatusOr<Caller> RequireOperator(const grpc::ServerContextBase& context) const;
  // The account `subject` itself, or an operator.
  absl::StatusOr<Caller> RequireSelfOrOperator(const grpc::ServerContextBase& context,
                                               const std::string& subject) const;
  // Internal RPCs: the caller must be one of `allowed` (kAuth, kCentral...),
  // by its certificate's CN when TLS authenticated it, else by its service
  // credential. No identity: UNAUTHENTICATED; another one: PERMISSION_DENIED.
  // Least privilege by default: with TLS off and no credential configured,
  // every internal call is refused.
  absl::Status RequireService(const grpc::ServerContextBase& context,
                              std::initializer_list<absl::string_view> allowed) const;
  // The same decision from what a call carries (for tests and callers
  // outside gRPC): the certificate CN ("" if none) and the credential header
  // ("" if none).
  absl::Status RequireService(absl::string_view certificate_name, absl::string_view credential,
                              std::initializer_list<absl::string_view> allowed) const;

  TokenVerifier& verifier() { return verifier_; }

 private:
  TokenVerifier& verifier_;
  const ServiceCredential* services_;
};

// The bearer token of a call, or "".
std::string BearerToken(const grpc::ServerContextBase& context);
// The certificate name of a peer authenticated by TLS, or "".
std::string PeerCertificateName(const grpc::ServerContextBase& context);
// The call's service credential header, or "".
std::string ServiceCredentialHeader(const grpc::ServerContextBase& context);

}  // namespace evc
