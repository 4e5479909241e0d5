#pragma once
// Who a calling service is when TLS is off (TLS on: its certificate's CN).
//
// Each service holds a random key K (its "service" line) and, for each other
// service x, the verifying key D(x, self) = SHA-256("evc-service-key|" K_x
// "|" self) in hex (its "peer" lines). A call from x to c carries
//   x-evc-service: <x>.<expiry unix seconds>.<hex MAC>
// with MAC = HKDF-SHA256(ikm = D(x, c), info = "x|c|expiry") (HKDF-Expand is
// HMAC, so this is a keyed PRF). Why this shape:
//  - verified locally, no round trip;
//  - per-service keys: c can check x's tokens for calls to c only. D(x, c)
//    does not give D(x, c'), so no service can act as another elsewhere;
//  - a token names its audience and lives 2 minutes: a token captured on a
//    plaintext link replays only against the same service, briefly (TLS off
//    is for a single machine; with TLS the link hides it);
//  - a plain derivation (SHA-256 of text) so `./evc up` (sha256sum) and the
//    chart (sprig's sha256sum) generate the files without a tool.
// Files (mode 600), one per service:
//   service <name> <K hex>
//   peer <name> <D(name, self) hex>     (one line per other service)

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace evc {

inline constexpr absl::string_view kServiceCredentialHeader = "x-evc-service";
inline constexpr absl::Duration kServiceTokenLifetime = absl::Minutes(2);

// The services that hold identities (certificate CNs, credential names).
inline constexpr absl::string_view kRegistry = "registry";
inline constexpr absl::string_view kAuth = "auth";
inline constexpr absl::string_view kCentral = "central";
inline constexpr absl::string_view kWeather = "weather";
inline constexpr absl::string_view kEdge = "edge";

class ServiceCredential {
 public:
  // The text of a credential file; INVALID_ARGUMENT says which line is wrong.
  static absl::StatusOr<ServiceCredential> Parse(absl::string_view text);
  // Fresh files for `services`: name -> file text.
  static std::map<std::string, std::string> Generate(const std::vector<std::string>& services);

  const std::string& name() const { return name_; }
  // A token proving this service to `audience`, issued at `now`.
  absl::StatusOr<std::string> TokenFor(absl::string_view audience, absl::Time now) const;
  // The service that made `token` for this one; UNAUTHENTICATED with the
  // reason when it is malformed, forged, for another service or expired.
  absl::StatusOr<std::string> Verify(absl::string_view token, absl::Time now) const;

 private:
  std::string name_;
  std::string key_;
  std::map<std::string, std::string, std::less<>> peers_;
};

// SHA-256("evc-service-key|" key "|" audience), hex: the verifying key of
// `key`'s service at `audience`.
std::string ServiceVerifyingKey(absl::string_view key, absl::string_view audience);

// Reads a credential file (see ReadSecretFile for the errors).
absl::StatusOr<ServiceCredential> LoadServiceCredential(const std::string& path);
// The process's from --service_credential_file (EVC_SERVICE_CREDENTIAL_FILE),
// read once; nullptr when not set. An unreadable file ends the process.
const ServiceCredential* ProcessServiceCredential();

// "registry" from "/evc.registry.v1.RegistryService/VerifyPassword"; "" for
// other methods (health, reflection).
std::string AudienceOfMethod(absl::string_view method);

}  // namespace evc
