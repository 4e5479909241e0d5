#pragma once
// Who is calling, for the gRPC handlers of every service: the bearer token
// of a driver or operator (verified locally), or the certificate of a peer
// service (mutual TLS). Every refusal is UNAUTHENTICATED or
// PERMISSION_DENIED with a reason.

#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "services/common/tokens.h"

namespace evc {

class CallAuthorizer {
 public:
  // `verifier` must outlive the authorizer.
  explicit CallAuthorizer(TokenVerifier& verifier) : verifier_(verifier) {}

  // The claims of the call's "authorization: Bearer <token>".
  absl::StatusOr<Claims> Caller(const grpc::ServerContextBase& context) const;
  // The same from a token taken off the call earlier (for work that outlives
  // the call's context).
  absl::StatusOr<Claims> CallerWithToken(const std::string& token) const;
  absl::StatusOr<Claims> RequireOperator(const grpc::ServerContextBase& context) const;
  // The account `subject` itself, or an operator.
  absl::StatusOr<Claims> RequireSelfOrOperator(const grpc::ServerContextBase& context,
                                               const std::string& subject) const;
  // Internal RPCs: over mutual TLS the peer must present a service
  // certificate (CN registry, auth, central, weather or edge). Without TLS
  // (local development) every peer is let through.
  absl::Status RequireService(const grpc::ServerContextBase& context) const;

  TokenVerifier& verifier() { return verifier_; }

 private:
  TokenVerifier& verifier_;
};

// The bearer token of a call, or "".
std::string BearerToken(const grpc::ServerContextBase& context);
// The certificate name of a peer authenticated by TLS, or "".
std::string PeerCertificateName(const grpc::ServerContextBase& context);

}  // namespace evc
