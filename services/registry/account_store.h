#pragma once
// Persistence of driver and operator accounts (the logic: accounts.h).

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "evc/registry/v1/registry.pb.h"

namespace evc::registry {

struct StoredAccount {
  v1::Account account;  // with its id_tags
  std::string password_hash;
};

class AccountStore {
 public:
  virtual ~AccountStore() = default;
  // ALREADY_EXISTS if the username is taken (in any case).
  virtual absl::Status InsertAccount(const v1::Account& account,
                                     const std::string& password_hash) = 0;
  // NOT_FOUND if unknown.
  virtual absl::StatusOr<StoredAccount> GetAccount(const std::string& username) = 0;
  // Also replaces the account's id_tags: ALREADY_EXISTS if one belongs to
  // another account.
  virtual absl::Status UpdateAccount(const StoredAccount& account) = 0;
  // The username that registered `id_tag` (upper case), NOT_FOUND if none.
  virtual absl::StatusOr<std::string> AccountOfIdTag(const std::string& id_tag) = 0;
};

}  // namespace evc::registry
