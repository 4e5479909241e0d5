#pragma once
// A command-line user's session with auth: log in with a username and a
// password (from a file or typed at a prompt without echo), keep the access
// token fresh with the refresh token, log out at the end. Used by the driver
// and admin CLIs, the integration tests and the benchmarks.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "evc/auth/v1/auth.grpc.pb.h"
#include "services/common/grpc_server.h"

namespace evc {

// The password in `file` (trailing whitespace dropped), or typed at the
// terminal when `file` is empty.
absl::StatusOr<std::string> ReadPassword(const std::string& file, const std::string& prompt);

class ClientSession {
 public:
  // `tls`: as for MakeChannel (the process's TLS when null).
  static absl::StatusOr<std::unique_ptr<ClientSession>> Login(const std::string& auth_target,
                                                              const std::string& username,
                                                              const std::string& password,
                                                              const TlsConfig* tls = nullptr);
  // A token good for at least another minute (refreshed when needed).
  std::string AccessToken();
  // For MakeChannel: every call carries the current token.
  BearerSource Bearer();
  absl::Status Logout();
  const std::string& username() const { return username_; }
  const std::string& role() const { return role_; }

 private:
  ClientSession(std::unique_ptr<auth::v1::AuthService::Stub> auth, auth::v1::TokenPair pair);

  std::unique_ptr<auth::v1::AuthService::Stub> auth_;
  const std::string username_;
  const std::string role_;
  absl::Mutex mu_;
  auth::v1::TokenPair tokens_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evc
