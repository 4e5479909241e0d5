#include "services/evcctl/account_commands.h"

#include "evc/auth/v1/auth.grpc.pb.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "services/common/grpc_util.h"
#include "services/common/proto_time.h"

namespace evc::evcctl {
namespace {

using auth::v1::AuthService;
using registry::v1::RegistryService;

// The new account's password and its confirmation: both from --new_password_file,
// else typed twice.
absl::Status ReadNewPassword(const Options& o, const std::string& username,
                             registry::v1::SignUpRequest& r) {
  const std::string& file = o.new_password_file;
  auto password = ReadPassword(file, "new password for " + username + ": ");
  if (!password.ok()) return password.status();
  auto confirmation = file.empty() ? ReadPassword("", "again: ") : password;
  if (!confirmation.ok()) return confirmation.status();
  r.set_password(*password);
  r.set_password_confirmation(*confirmation);
  return absl::OkStatus();
}

}  // namespace

int SignUp(Context& c, const std::string& username) {
  const Options& o = c.options;
  registry::v1::SignUpRequest r;
  r.set_username(username);
  r.set_name(o.name);
  r.set_email(o.email);
  r.set_role(o.role);
  if (absl::Status s = ReadNewPassword(o, username, r); !s.ok()) return Fail(c, s);
  // Only an operator may create another operator.
  auto account = Call(c, o.registry, r.role() == "operator", &RegistryService::Stub::SignUp, r);
  if (absl::IsAlreadyExists(account.status()) && o.if_missing) return 0;
  if (!account.ok()) return Fail(c, account.status());
  std::fprintf(c.out, "%s account %s created\n", account->role().c_str(),
               account->username().c_str());
  return 0;
}

int RevokeCp(Context& c, const std::string& cp_id) {
  auth::v1::RevokeChargingPointRequest r;
  r.set_cp_id(cp_id);
  auto done = Call(c, c.options.auth, true, &AuthService::Stub::RevokeChargingPoint, r);
  if (!done.ok()) return Fail(c, done.status());
  std::fprintf(c.out, "revoked %s: %d tokens and %d keys dead; its link is cut\n", cp_id.c_str(),
               done->revoked_tokens(), done->revoked_keys());
  return 0;
}

int RotateKey(Context& c, const std::string& cp_id) {
  auth::v1::RotateChargingPointKeyRequest r;
  r.set_cp_id(cp_id);
  *r.mutable_grace() = ToProto(c.options.grace);
  auto done = Call(c, c.options.auth, true, &AuthService::Stub::RotateChargingPointKey, r);
  if (!done.ok()) return Fail(c, done.status());
  std::fprintf(
      c.out, "%s: new key %s; the old one works until %s\n", cp_id.c_str(),
      done->new_key_id().c_str(),
      absl::FormatTime("%H:%M:%S", FromProto(done->old_keys_valid_until()), absl::LocalTimeZone())
          .c_str());
  return 0;
}

int RotateSigningKey(Context& c) {
  auto done = Call(c, c.options.auth, true, &AuthService::Stub::RotateSigningKey,
                   auth::v1::RotateSigningKeyRequest());
  if (!done.ok()) return Fail(c, done.status());
  std::fprintf(c.out, "new token-signing key %s\n", done->key_id().c_str());
  return 0;
}

}  // namespace evc::evcctl
