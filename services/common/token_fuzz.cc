// Access tokens come from anyone who can reach the edge or a gRPC port: a malformed
// one must be refused with a status, never crash, hang or pass as signed.

#include <cstdint>
#include <string>

#include "services/common/clock.h"
#include "services/common/crypto.h"
#include "services/common/testing/fake_clock.h"
#include "services/common/tokens.h"

namespace {

// A fixed key, so the seeds' signed tokens (tests/fuzz/corpus/token_fuzz) verify.
const std::string& PrivateKey() {
  static const std::string key(32, '\x2a');
  return key;
}

evc::TokenVerifier& Verifier() {
  static evc::FakeClock clock(absl::FromUnixSeconds(1'800'000'100));
  static evc::TokenVerifier* verifier = new evc::TokenVerifier(
      []() -> absl::StatusOr<std::vector<evc::VerifyingKey>> {
        return std::vector<evc::VerifyingKey>{
            {"fuzz-kid", *evc::crypto::Ed25519PublicKey(PrivateKey())}};
      },
      clock);
  return *verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string token(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<evc::Claims> claims = Verifier().Verify(token);
  if (claims.ok() && claims->subject.empty()) __builtin_trap();  // accepted a token naming nobody
  return 0;
}
