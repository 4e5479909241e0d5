#include "services/registry/startup.h"

#include "absl/strings/str_cat.h"
#include "services/common/secret_file.h"

namespace evc::registry {

absl::StatusOr<crypto::ScryptParams> SecretHashing(int cost) {
  if (cost < 10 || cost > 20) return absl::InvalidArgumentError("must be between 10 and 20");
  return crypto::ScryptParams{1ull << cost, 8, 1};
}

absl::Status BootstrapOperator(Accounts& accounts, const std::string& username,
                               const std::string& password_file) {
  if (username.empty()) return absl::OkStatus();
  auto password = ReadSecretFile(password_file, "bootstrap operator's password");
  if (!password.ok()) {
    return absl::Status(password.status().code(),
                        absl::StrCat("--bootstrap_operator_password_file: ",
                                     password.status().message()));
  }
  absl::Status created = accounts.EnsureOperator(username, *password);
  if (!created.ok()) {
    return absl::Status(created.code(), absl::StrCat("cannot create the bootstrap operator: ",
                                                     created.message()));
  }
  return absl::OkStatus();
}

}  // namespace evc::registry
