#pragma once
// Driver and operator accounts (the seeds' visitor registry): sign-up with
// password rules, profile updates, password checks for auth's login.
// Passwords are stored only as a salted scrypt hash: memory-hard, in the
// OpenSSL we already link (no extra dependency), and compared in constant
// time. Every change is audited.

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "evc/registry/v1/registry.pb.h"
#include "services/common/audit.h"
#include "services/common/caller.h"
#include "services/common/clock.h"
#include "services/common/crypto.h"
#include "services/registry/account_store.h"

namespace evc::registry {

// Length 10-128, at least one letter and one digit, not the username.
absl::Status ValidatePassword(absl::string_view password, absl::string_view username);
absl::Status ValidateEmail(absl::string_view email);

class Accounts {
 public:
  Accounts(AccountStore& store, AuditSink& audit, const Clock& clock,
           crypto::ScryptParams hash_params = {})
      : store_(store), audit_(audit), clock_(clock), hash_params_(hash_params) {}

  absl::StatusOr<v1::Account> SignUp(const v1::SignUpRequest& request, const Caller& who);
  absl::StatusOr<v1::Account> UpdateProfile(const v1::UpdateProfileRequest& request,
                                            const Caller& who);
  absl::StatusOr<v1::Account> Get(const std::string& username);
  // The driver who registered an RFID tag (NOT_FOUND if nobody did).
  absl::StatusOr<v1::Account> ResolveIdTag(const std::string& id_tag);
  absl::StatusOr<v1::Account> VerifyPassword(const v1::VerifyPasswordRequest& request);
  // Creates or resets an operator account at start-up (the first operator).
  absl::Status EnsureOperator(const std::string& username, const std::string& password);

 private:
  void Audit(const std::string& action, const Caller& who, const std::string& subject,
             const std::string& outcome, nlohmann::json details = nlohmann::json::object());

  AccountStore& store_;
  AuditSink& audit_;
  const Clock& clock_;
  crypto::ScryptParams hash_params_;
};

}  // namespace evc::registry
