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
// Strict: INVALID_ARGUMENT for anything but unpadded URL-safe base64.
absl::StatusOr<std::string> FromBase64Url(absl::string_view text);
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
// Compares in time independent of where the inputs differ (only the length
// leaks), so a comparison cannot be used as an oracle.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);
// Constant-time comparison of the derived key. False for a malformed hash.
bool VerifySecret(absl::string_view secret, absl::string_view stored_hash);

// AES-256-GCM with a 12-byte nonce and a 16-byte tag.
struct Sealed {
  std::string nonce;
  std::string ciphertext;
  std::string tag;
};
absl::StatusOr<Sealed> AesGcmSeal(absl::string_view key, absl::string_view aad,
                                  absl::string_view plaintext);
// UNAUTHENTICATED when the tag does not verify (wrong key, tampered data or aad).
absl::StatusOr<std::string> AesGcmOpen(absl::string_view key, absl::string_view aad,
                                       const Sealed& sealed);

// Ed25519 signatures (RFC 8032), raw 32-byte keys, 64-byte signatures.
struct Ed25519KeyPair {
  std::string private_key;
  std::string public_key;
};
Ed25519KeyPair NewEd25519KeyPair();
absl::StatusOr<std::string> Ed25519PublicKey(absl::string_view private_key);
absl::StatusOr<std::string> Ed25519Sign(absl::string_view private_key, absl::string_view message);
bool Ed25519Verify(absl::string_view public_key, absl::string_view message,
                   absl::string_view signature);

// HKDF-SHA256 (RFC 5869): `length` bytes of key material derived from `ikm`
// for the purpose named by `info`; different infos give independent keys.
absl::StatusOr<std::string> HkdfSha256(absl::string_view ikm, absl::string_view salt,
                                       absl::string_view info, size_t length);

}  // namespace evc::crypto
