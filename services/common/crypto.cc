#include "services/common/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <vector>

#include "absl/strings/ascii.h"
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

absl::StatusOr<std::string> FromBase64Url(absl::string_view text) {
  std::string out;
  const bool url_safe = std::all_of(text.begin(), text.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  if (!url_safe || !absl::WebSafeBase64Unescape(text, &out)) {
    return absl::InvalidArgumentError("not unpadded URL-safe base64");
  }
  return out;
}

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
  return ConstantTimeEquals(derived, expected);
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {

constexpr size_t kAesKeyBytes = 32;
constexpr size_t kGcmNonceBytes = 12;
constexpr size_t kGcmTagBytes = 16;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

const unsigned char* U(absl::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* U(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
int Len(absl::string_view s) { return static_cast<int>(s.size()); }

// Sets key and nonce and feeds the aad: the common start of seal and open.
// Fetched once: OpenSSL 3 looks EVP_aes_256_gcm() up in its providers again
// at every init, under locks, which cost more than the decryption itself of
// a telemetry message (central opens every one).
const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* const cipher = [] {
    const EVP_CIPHER* fetched = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    return fetched != nullptr ? fetched : EVP_aes_256_gcm();
  }();
  return cipher;
}

bool StartGcm(EVP_CIPHER_CTX* ctx, bool encrypt, absl::string_view key, absl::string_view nonce,
              absl::string_view aad) {
  int unused = 0;
  auto init = encrypt ? EVP_EncryptInit_ex : EVP_DecryptInit_ex;
  auto update = encrypt ? EVP_EncryptUpdate : EVP_DecryptUpdate;
  return init(ctx, Aes256Gcm(), nullptr, nullptr, nullptr) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, Len(nonce), nullptr) == 1 &&
         init(ctx, nullptr, nullptr, U(key), U(nonce)) == 1 &&
         (aad.empty() || update(ctx, nullptr, &unused, U(aad), Len(aad)) == 1);
}

}  // namespace

absl::StatusOr<Sealed> AesGcmSeal(absl::string_view key, absl::string_view aad,
                                  absl::string_view plaintext) {
  if (key.size() != kAesKeyBytes) return absl::InvalidArgumentError("AES-256 needs a 32-byte key");
  Sealed out{RandomBytes(kGcmNonceBytes), std::string(plaintext.size(), '\0'),
             std::string(kGcmTagBytes, '\0')};
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int n = 0, tail = 0;
  if (!ctx || !StartGcm(ctx.get(), true, key, out.nonce, aad) ||
      EVP_EncryptUpdate(ctx.get(), U(out.ciphertext), &n, U(plaintext), Len(plaintext)) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), U(out.ciphertext) + n, &tail) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagBytes, U(out.tag)) != 1) {
    return absl::InternalError("AES-GCM encryption failed");
  }
  return out;
}

absl::StatusOr<std::string> AesGcmOpen(absl::string_view key, absl::string_view aad,
                                       const Sealed& sealed) {
  if (key.size() != kAesKeyBytes) return absl::InvalidArgumentError("AES-256 needs a 32-byte key");
  if (sealed.nonce.size() != kGcmNonceBytes || sealed.tag.size() != kGcmTagBytes) {
    return absl::InvalidArgumentError("AES-GCM needs a 12-byte nonce and a 16-byte tag");
  }
  std::string plaintext(sealed.ciphertext.size(), '\0');
  std::string tag = sealed.tag;
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int n = 0, tail = 0;
  if (!ctx || !StartGcm(ctx.get(), false, key, sealed.nonce, aad) ||
      EVP_DecryptUpdate(ctx.get(), U(plaintext), &n, U(sealed.ciphertext),
                        Len(sealed.ciphertext)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagBytes, U(tag)) != 1) {
    return absl::InternalError("AES-GCM decryption failed");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), U(plaintext) + n, &tail) != 1) {
    return absl::UnauthenticatedError("authentication tag does not verify");
  }
  return plaintext;
}

Ed25519KeyPair NewEd25519KeyPair() {
  Ed25519KeyPair pair{RandomBytes(32), ""};
  absl::StatusOr<std::string> pub = Ed25519PublicKey(pair.private_key);
  if (!pub.ok()) throw std::runtime_error("Ed25519 key generation failed");
  pair.public_key = *pub;
  return pair;
}

absl::StatusOr<std::string> Ed25519PublicKey(absl::string_view private_key) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, U(private_key), private_key.size()));
  std::string pub(32, '\0');
  size_t len = pub.size();
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), U(pub), &len) != 1 || len != 32) {
    return absl::InvalidArgumentError("not an Ed25519 private key");
  }
  return pub;
}

absl::StatusOr<std::string> Ed25519Sign(absl::string_view private_key, absl::string_view message) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, U(private_key), private_key.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  std::string signature(64, '\0');
  size_t len = signature.size();
  if (!key || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), U(signature), &len, U(message), message.size()) != 1) {
    return absl::InternalError("Ed25519 signing failed");
  }
  return signature;
}

bool Ed25519Verify(absl::string_view public_key, absl::string_view message,
                   absl::string_view signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, U(public_key), public_key.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  return key && ctx &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), U(signature), signature.size(), U(message), message.size()) == 1;
}

absl::StatusOr<std::string> HkdfSha256(absl::string_view ikm, absl::string_view salt,
                                       absl::string_view info, size_t length) {
  if (ikm.empty() || length == 0 || length > 255 * 32) {
    return absl::InvalidArgumentError("HKDF needs key material and 1..8160 output bytes");
  }
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr), EVP_PKEY_CTX_free);
  std::string out(length, '\0');
  size_t len = length;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) != 1 ||
      (!salt.empty() &&
       EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), U(salt), static_cast<int>(salt.size())) != 1) ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), U(ikm), static_cast<int>(ikm.size())) != 1 ||
      EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), U(info), static_cast<int>(info.size())) != 1 ||
      EVP_PKEY_derive(ctx.get(), U(out), &len) != 1 || len != length) {
    return absl::InternalError("HKDF-SHA256 failed");
  }
  return out;
}

}  // namespace evc::crypto
