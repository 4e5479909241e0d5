#include "services/common/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdexcept>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace evc::crypto {
namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kDerivedBytes = 32;

bool Derive(absl::string_view secret, absl::string_view salt, const ScryptParams& params,
            std::string* out) {
  out->resize(kDerivedBytes);
  // Enough memory for N*r*128 bytes plus slack.
  uint64_t max_mem = params.n * params.r * 128 * 2 + (1 << 20);
  return EVP_PBE_scrypt(secret.data(), secret.size(),
                        reinterpret_cast<const unsigned char*>(salt.data()), salt.size(),
                        params.n, params.r, params.p, max_mem,
                        reinterpret_cast<unsigned char*>(out->data()), out->size()) == 1;
}

}  // namespace

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return out;
}

std::string RandomId() { return Hex(RandomBytes(16)); }

std::string Base64Url(absl::string_view bytes) { return absl::WebSafeBase64Escape(bytes); }

std::string Hex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

std::string Sha256(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<char*>(digest), sizeof(digest));
}

absl::StatusOr<std::string> HashSecret(absl::string_view secret, ScryptParams params) {
  std::string salt = RandomBytes(kSaltBytes);
  std::string derived;
  if (!Derive(secret, salt, params, &derived)) return absl::InternalError("scrypt failed");
  return absl::StrCat("scrypt$", params.n, "$", params.r, "$", params.p, "$", Hex(salt), "$",
                      Hex(derived));
}

bool VerifySecret(absl::string_view secret, absl::string_view stored_hash) {
  std::vector<absl::string_view> parts = absl::StrSplit(stored_hash, '$');
  if (parts.size() != 6 || parts[0] != "scrypt") return false;
  ScryptParams params;
  if (!absl::SimpleAtoi(parts[1], &params.n) || !absl::SimpleAtoi(parts[2], &params.r) ||
      !absl::SimpleAtoi(parts[3], &params.p)) {
    return false;
  }
  // Refuse absurd parameters from a tampered row rather than burn memory.
  if (params.n < 2 || params.n > (1 << 20) || params.r == 0 || params.r > 32 || params.p == 0 ||
      params.p > 16) {
    return false;
  }
  std::string salt = absl::HexStringToBytes(parts[4]);
  std::string expected = absl::HexStringToBytes(parts[5]);
  if (salt.size() != kSaltBytes || expected.size() != kDerivedBytes) return false;
  std::string derived;
  if (!Derive(secret, salt, params, &derived)) return false;
  return CRYPTO_memcmp(derived.data(), expected.data(), kDerivedBytes) == 0;
}

}  // namespace evc::crypto
