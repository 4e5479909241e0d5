#include "services/registry/accounts.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/proto_time.h"
#include "services/common/tokens.h"
#include "services/common/validation.h"

namespace evc::registry {
namespace {

constexpr size_t kMinPassword = 10;
constexpr size_t kMaxPassword = 128;
constexpr size_t kMaxName = 100;
constexpr size_t kMaxEmail = 254;

absl::Status ValidateUsername(const std::string& username) {
  if (username.size() < 3) {
    return absl::InvalidArgumentError("username must have at least 3 characters");
  }
  return ValidateDriverId(username);
}

absl::Status ValidateName(absl::string_view name) {
  if (absl::StripAsciiWhitespace(name).empty()) return absl::InvalidArgumentError("name is required");
  if (name.size() > kMaxName) return absl::InvalidArgumentError("name is longer than 100 characters");
  return absl::OkStatus();
}

absl::Status CheckConfirmation(absl::string_view password, absl::string_view confirmation) {
  if (password != confirmation) {
    return absl::InvalidArgumentError("password and its confirmation differ");
  }
  return absl::OkStatus();
}

// The tags an update asks for, normalised (upper case) and without repeats.
absl::StatusOr<std::vector<std::string>> IdTagsOf(const v1::UpdateProfileRequest& request,
                                                  const v1::Account& account) {
  constexpr int kMaxIdTags = 10;
  if (account.role() != kRoleDriver) {
    return absl::FailedPreconditionError("only driver accounts can have RFID tags (id_tags)");
  }
  std::vector<std::string> tags;
  for (const std::string& given : request.id_tags()) {
    absl::StatusOr<std::string> tag = NormalizeIdTag(given);
    if (!tag.ok()) return tag.status();
    if (std::find(tags.begin(), tags.end(), *tag) == tags.end()) tags.push_back(*std::move(tag));
  }
  if (tags.size() > kMaxIdTags) {
    return absl::InvalidArgumentError(absl::StrCat("an account can have at most ", kMaxIdTags, " id_tags"));
  }
  return tags;
}

}  // namespace

absl::Status ValidatePassword(absl::string_view password, absl::string_view username) {
  if (password.size() < kMinPassword || password.size() > kMaxPassword) {
    return absl::InvalidArgumentError(
        absl::StrCat("password must have between ", kMinPassword, " and ", kMaxPassword, " characters"));
  }
  bool letter = false, digit = false;
  for (char c : password) {
    letter |= absl::ascii_isalpha(static_cast<unsigned char>(c));
    digit |= absl::ascii_isdigit(static_cast<unsigned char>(c));
  }
  if (!letter || !digit) {
    return absl::InvalidArgumentError("password must contain at least one letter and one digit");
  }
  if (!username.empty() &&
      absl::StrContains(absl::AsciiStrToLower(password), absl::AsciiStrToLower(username))) {
    return absl::InvalidArgumentError("password must not contain the username");
  }
  return absl::OkStatus();
}

absl::Status ValidateEmail(absl::string_view email) {
  const size_t at = email.find('@');
  const bool plausible = email.size() <= kMaxEmail && at != absl::string_view::npos && at > 0 &&
                         email.find('.', at) != absl::string_view::npos && email.back() != '.' &&
                         email.find_first_of(" \t\r\n,;<>") == absl::string_view::npos &&
                         email.find('@', at + 1) == absl::string_view::npos;
  if (!plausible) {
    return absl::InvalidArgumentError(absl::StrCat("email '", email, "' is not a valid address"));
  }
  return absl::OkStatus();
}

void Accounts::Audit(const std::string& action, const Caller& who, const std::string& subject,
                     const std::string& outcome, nlohmann::json details) {
  details["account"] = subject;
  audit_.Record({clock_.Now(), AuditCategory::kAuth, action,
                 who.name.empty() ? "anonymous" : who.name, "", outcome,
                 std::move(details), who.source});
}

absl::StatusOr<v1::Account> Accounts::SignUp(const v1::SignUpRequest& request, const Caller& who) {
  const std::string role = request.role().empty() ? kRoleDriver : request.role();
  if (role != kRoleDriver && role != kRoleOperator) {
    return absl::InvalidArgumentError(absl::StrCat("role '", role, "' must be driver or operator"));
  }
  if (role == kRoleOperator && !who.is_operator()) {
    Audit("account_create", who, request.username(), "REJECTED", {{"reason", "operator role"}});
    return absl::PermissionDeniedError("only an operator can create operator accounts");
  }
  for (absl::Status s : {ValidateUsername(request.username()), ValidateName(request.name()),
                         ValidateEmail(request.email()),
                         ValidatePassword(request.password(), request.username()),
                         CheckConfirmation(request.password(), request.password_confirmation())}) {
    if (!s.ok()) return s;
  }
  absl::StatusOr<std::string> hash = crypto::HashSecret(request.password(), hash_params_);
  if (!hash.ok()) return hash.status();
  v1::Account account;
  account.set_username(request.username());
  account.set_name(std::string(absl::StripAsciiWhitespace(request.name())));
  account.set_email(request.email());
  account.set_role(role);
  absl::Status s = store_.InsertAccount(account, *hash);
  if (absl::IsAlreadyExists(s)) {
    return absl::AlreadyExistsError(
        absl::StrCat("username '", request.username(), "' is taken; choose another"));
  }
  if (!s.ok()) return s;
  Audit("account_created", who, request.username(), "OK", {{"role", role}});
  return Get(request.username());
}

absl::StatusOr<v1::Account> Accounts::UpdateProfile(const v1::UpdateProfileRequest& request,
                                                    const Caller& who) {
  if (who.name != request.username() && !who.is_operator()) {
    Audit("profile_update", who, request.username(), "REJECTED", {{"reason", "not the owner"}});
    return absl::PermissionDeniedError(
        absl::StrCat("'", who.name, "' may not change the profile of '", request.username(), "'"));
  }
  absl::StatusOr<StoredAccount> stored = store_.GetAccount(request.username());
  if (!stored.ok()) return stored.status();
  auto wanted = [&](const std::string& field, bool given) {
    if (request.update_mask().paths_size() == 0) return given;
    for (const std::string& p : request.update_mask().paths()) {
      if (p == field) return true;
    }
    return false;
  };
  for (const std::string& p : request.update_mask().paths()) {
    if (p != "name" && p != "email" && p != "password" && p != "id_tags") {
      return absl::InvalidArgumentError(absl::StrCat(
          "update_mask path '", p, "' cannot be changed (allowed: name, email, password, id_tags)"));
    }
  }
  const bool name = wanted("name", !request.name().empty());
  const bool email = wanted("email", !request.email().empty());
  const bool password = wanted("password", !request.new_password().empty());
  const bool id_tags = wanted("id_tags", request.id_tags_size() > 0);
  if (!name && !email && !password && !id_tags) return absl::InvalidArgumentError("nothing to change");
  // The owner proves it is them before changing what logs them in or recovers the account.
  if ((email || password) && !who.is_operator() &&
      !crypto::VerifySecret(request.current_password(), stored->password_hash)) {
    Audit("profile_update", who, request.username(), "REJECTED", {{"reason", "wrong current password"}});
    return absl::PermissionDeniedError("current_password is wrong (needed to change email or password)");
  }
  nlohmann::json changed = nlohmann::json::array();
  if (name) {
    if (absl::Status s = ValidateName(request.name()); !s.ok()) return s;
    stored->account.set_name(std::string(absl::StripAsciiWhitespace(request.name())));
    changed.push_back("name");
  }
  if (email) {
    if (absl::Status s = ValidateEmail(request.email()); !s.ok()) return s;
    stored->account.set_email(request.email());
    changed.push_back("email");
  }
  if (password) {
    for (absl::Status s : {ValidatePassword(request.new_password(), request.username()),
                           CheckConfirmation(request.new_password(), request.new_password_confirmation())}) {
      if (!s.ok()) return s;
    }
    absl::StatusOr<std::string> hash = crypto::HashSecret(request.new_password(), hash_params_);
    if (!hash.ok()) return hash.status();
    stored->password_hash = *hash;
    changed.push_back("password");
  }
  if (id_tags) {
    absl::StatusOr<std::vector<std::string>> tags = IdTagsOf(request, stored->account);
    if (!tags.ok()) return tags.status();
    stored->account.clear_id_tags();
    for (std::string& tag : *tags) stored->account.add_id_tags(std::move(tag));
    changed.push_back("id_tags");
  }
  if (absl::Status s = store_.UpdateAccount(*stored); !s.ok()) {
    if (absl::IsAlreadyExists(s)) Audit("profile_update", who, request.username(), "REJECTED", {{"reason", s.message()}});
    return s;
  }
  Audit("profile_updated", who, request.username(), "OK", {{"changed", changed}});
  return Get(request.username());
}

absl::StatusOr<v1::Account> Accounts::ResolveIdTag(const std::string& id_tag) {
  absl::StatusOr<std::string> tag = NormalizeIdTag(id_tag);
  if (!tag.ok()) return tag.status();
  absl::StatusOr<std::string> username = store_.AccountOfIdTag(*tag);
  if (!username.ok()) return username.status();
  return Get(*username);
}

absl::StatusOr<v1::Account> Accounts::Get(const std::string& username) {
  if (absl::Status s = ValidateDriverId(username); !s.ok()) return s;
  absl::StatusOr<StoredAccount> stored = store_.GetAccount(username);
  if (!stored.ok()) return stored.status();
  return stored->account;
}

absl::StatusOr<v1::Account> Accounts::VerifyPassword(const v1::VerifyPasswordRequest& request) {
  const absl::Status refused = absl::UnauthenticatedError("unknown username or wrong password");
  if (!ValidateDriverId(request.username()).ok() || request.password().empty() ||
      request.password().size() > kMaxPassword) {
    return refused;
  }
  absl::StatusOr<StoredAccount> stored = store_.GetAccount(request.username());
  if (absl::IsNotFound(stored.status())) {
    // Same work as for a real account, so timing does not reveal which exist.
    (void)crypto::HashSecret(request.password(), hash_params_);
    return refused;
  }
  if (!stored.ok()) return stored.status();
  if (!crypto::VerifySecret(request.password(), stored->password_hash)) return refused;
  return stored->account;
}

absl::Status Accounts::EnsureOperator(const std::string& username, const std::string& password) {
  if (absl::Status s = ValidateUsername(username); !s.ok()) return s;
  if (absl::Status s = ValidatePassword(password, username); !s.ok()) return s;
  absl::StatusOr<std::string> hash = crypto::HashSecret(password, hash_params_);
  if (!hash.ok()) return hash.status();
  const Caller system = Caller::System("registry", "startup");
  absl::StatusOr<StoredAccount> stored = store_.GetAccount(username);
  if (absl::IsNotFound(stored.status())) {
    v1::Account account;
    account.set_username(username);
    account.set_name("Operator " + username);
    account.set_email(username + "@operators.invalid");
    account.set_role(kRoleOperator);
    if (absl::Status s = store_.InsertAccount(account, *hash); !s.ok() && !absl::IsAlreadyExists(s)) return s;
    Audit("operator_bootstrapped", system, username, "OK");
    return absl::OkStatus();
  }
  if (!stored.ok()) return stored.status();
  stored->account.set_role(kRoleOperator);
  stored->password_hash = *hash;
  if (absl::Status s = store_.UpdateAccount(*stored); !s.ok()) return s;
  Audit("operator_bootstrapped", system, username, "OK", {{"existing", true}});
  return absl::OkStatus();
}

}  // namespace evc::registry
