#pragma once
// Small wrappers over OpenSSL; no primitive is implemented here.

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace evc::crypto {

// Cryptographically secure random bytes.
std::string RandomBytes(size_t n);
// A random identifier: 16 random bytes as 32 lowercase hex characters.
std::string RandomId();
// URL-safe base64 without padding.
std::string Base64Url(absl::string_view bytes);
std::string Hex(absl::string_view bytes);
std::string Sha256(absl::string_view data);

// Secrets are stored as "scrypt$N$r$p$<salt hex>$<hash hex>": memory-hard and
// salted, so a stolen table does not give the secrets away cheaply.
struct ScryptParams {
  uint64_t n = 1 << 14;
  uint64_t r = 8;
  uint64_t p = 1;
};
absl::StatusOr<std::string> HashSecret(absl::string_view secret, ScryptParams params = {});
// Constant-time comparison of the derived key. False for a malformed hash.
bool VerifySecret(absl::string_view secret, absl::string_view stored_hash);

}  // namespace evc::crypto
