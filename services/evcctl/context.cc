#include "services/evcctl/context.h"

#include "services/common/grpc_server.h"

namespace evc::evcctl {

absl::StatusOr<std::shared_ptr<grpc::Channel>> OperatorConnections::Open(const std::string& address,
                                                                         bool login) {
  BearerSource bearer;
  if (login) {
    if (session_ == nullptr) {
      if (absl::Status s = LogIn(); !s.ok()) return s;
    }
    bearer = session_->Bearer();
  }
  // --central may name several replicas: commands reach the leader.
  if (address == options_.central) return MakeCentralChannel(address, std::move(bearer));
  return MakeChannel(address, std::move(bearer));
}

absl::Status OperatorConnections::LogIn() {
  const std::string& user = options_.user;
  if (user.empty()) {
    return absl::UnauthenticatedError("this command needs an operator: give --user (or EVC_USER)");
  }
  auto password = ReadPassword(options_.password_file, "password for " + user + ": ");
  if (!password.ok()) return password.status();
  auto opened = ClientSession::Login(options_.auth, user, *password);
  if (!opened.ok()) return opened.status();
  session_ = *std::move(opened);
  return absl::OkStatus();
}

int Fail(Context& context, const absl::Status& status) {
  std::fprintf(context.err, "evcctl: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace evc::evcctl
