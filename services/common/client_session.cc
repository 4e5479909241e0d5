#include "services/common/client_session.h"

#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/grpc_util.h"
#include "services/common/proto_time.h"
#include "services/common/secret_file.h"

namespace evc {

absl::StatusOr<std::string> ReadPassword(const std::string& file, const std::string& prompt) {
  if (!file.empty()) return ReadSecretFile(file, "password");
  std::string password;
  {
    if (!isatty(STDIN_FILENO)) {
      return absl::InvalidArgumentError("no password: give --password_file or run on a terminal");
    }
    std::cerr << prompt << std::flush;
    termios saved{};
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::getline(std::cin, password);
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  if (password.empty()) return absl::InvalidArgumentError("the password is empty");
  return password;
}

absl::StatusOr<std::unique_ptr<ClientSession>> ClientSession::Login(const std::string& auth_target,
                                                                    const std::string& username,
                                                                    const std::string& password,
                                                                    const TlsConfig* tls) {
  auto auth = auth::v1::AuthService::NewStub(MakeChannel(auth_target, nullptr, tls));
  auth::v1::LoginRequest request;
  request.set_username(username);
  request.set_password(password);
  auto pair = CallUnary(&auth::v1::AuthService::Stub::Login, *auth, request, absl::Seconds(10));
  if (!pair.ok()) return pair.status();
  return std::unique_ptr<ClientSession>(new ClientSession(std::move(auth), std::move(*pair)));
}

ClientSession::ClientSession(std::unique_ptr<auth::v1::AuthService::Stub> auth, auth::v1::TokenPair pair)
    : auth_(std::move(auth)), username_(pair.username()), role_(pair.role()), tokens_(std::move(pair)) {}

std::string ClientSession::AccessToken() {
  absl::MutexLock lock(&mu_);
  if (FromProto(tokens_.access_expires_at()) - absl::Now() > absl::Minutes(1)) {
    return tokens_.access_token();
  }
  auth::v1::RefreshRequest request;
  request.set_refresh_token(tokens_.refresh_token());
  auto next = CallUnary(&auth::v1::AuthService::Stub::Refresh, *auth_, request, absl::Seconds(10));
  // If refreshing fails, the old token is still tried: the server's answer
  // then tells the user what to do.
  if (next.ok()) tokens_ = std::move(*next);
  return tokens_.access_token();
}

BearerSource ClientSession::Bearer() {
  return [this] { return AccessToken(); };
}

absl::Status ClientSession::Logout() {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  context.AddMetadata("authorization", "Bearer " + AccessToken());
  auth::v1::LogoutResponse response;
  return FromGrpcStatus(auth_->Logout(&context, auth::v1::LogoutRequest(), &response));
}

}  // namespace evc
