#pragma once
// What evc-registry settles before it serves: how secrets are hashed, and the
// first operator account.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/common/crypto.h"
#include "services/registry/accounts.h"

namespace evc::registry {

// scrypt with N = 2^cost for stored CP secrets and passwords (--secret_hash_cost):
// 14 in production; benchmarks that enrol thousands lower it. Outside 10..20:
// INVALID_ARGUMENT.
absl::StatusOr<crypto::ScryptParams> SecretHashing(int cost);

// How the first operator gets in: creates `username` as an operator (or resets
// its password and role) with the password in `password_file`. Nothing to do
// when `username` is empty. The error names the flag to fix.
absl::Status BootstrapOperator(Accounts& accounts, const std::string& username,
                               const std::string& password_file);

}  // namespace evc::registry
