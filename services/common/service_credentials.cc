#include "services/common/service_credentials.h"

#include <cstdlib>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/crypto.h"
#include "services/common/secret_file.h"

ABSL_FLAG(std::string, service_credential_file, "",
          "this service's identity for internal calls when TLS is off, and the keys that verify its "
          "callers (./evc up and the chart generate it); without one, internal RPCs are refused");

namespace evc {
namespace {

constexpr absl::string_view kMacSalt = "evc-service-credential-v1";

bool IsHexKey(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsName(absl::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

absl::StatusOr<std::string> Mac(absl::string_view verifying_key, absl::string_view caller,
                                absl::string_view audience, int64_t expiry) {
  absl::StatusOr<std::string> mac =
      crypto::HkdfSha256(verifying_key, kMacSalt, absl::StrCat(caller, "|", audience, "|", expiry), 32);
  if (!mac.ok()) return mac.status();
  return crypto::Hex(*mac);
}

}  // namespace

std::string ServiceVerifyingKey(absl::string_view key, absl::string_view audience) {
  return crypto::Hex(crypto::Sha256(absl::StrCat("evc-service-key|", key, "|", audience)));
}

absl::StatusOr<ServiceCredential> ServiceCredential::Parse(absl::string_view text) {
  ServiceCredential c;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() != 3 || (f[0] != "service" && f[0] != "peer") || !IsName(f[1]) || !IsHexKey(f[2])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "service credential line ", line_number,
          ": expected 'service <name> <64 hex>' or 'peer <name> <64 hex>' (regenerate the file)"));
    }
    if (f[0] == "service") {
      if (!c.name_.empty()) {
        return absl::InvalidArgumentError("service credential: more than one 'service' line");
      }
      c.name_ = std::string(f[1]);
      c.key_ = std::string(f[2]);
    } else {
      c.peers_[std::string(f[1])] = std::string(f[2]);
    }
  }
  if (c.name_.empty()) return absl::InvalidArgumentError("service credential: no 'service <name> <key>' line");
  return c;
}

std::map<std::string, std::string> ServiceCredential::Generate(const std::vector<std::string>& services) {
  std::map<std::string, std::string> keys;
  for (const auto& s : services) keys[s] = crypto::Hex(crypto::RandomBytes(32));
  std::map<std::string, std::string> files;
  for (const auto& self : services) {
    std::string text = absl::StrCat("service ", self, " ", keys[self], "\n");
    for (const auto& other : services) {
      if (other != self) absl::StrAppend(&text, "peer ", other, " ", ServiceVerifyingKey(keys[other], self), "\n");
    }
    files[self] = std::move(text);
  }
  return files;
}

absl::StatusOr<std::string> ServiceCredential::TokenFor(absl::string_view audience, absl::Time now) const {
  const int64_t expiry = absl::ToUnixSeconds(now + kServiceTokenLifetime);
  absl::StatusOr<std::string> mac = Mac(ServiceVerifyingKey(key_, audience), name_, audience, expiry);
  if (!mac.ok()) return mac.status();
  return absl::StrCat(name_, ".", expiry, ".", *mac);
}

absl::StatusOr<std::string> ServiceCredential::Verify(absl::string_view token, absl::Time now) const {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  int64_t expiry = 0;
  if (parts.size() != 3 || !IsName(parts[0]) || !absl::SimpleAtoi(parts[1], &expiry) || !IsHexKey(parts[2])) {
    return absl::UnauthenticatedError(
        absl::StrCat("malformed ", kServiceCredentialHeader, " (expected <service>.<expiry>.<mac>)"));
  }
  // Its own calls too (a service calling itself), with the key it derives.
  std::string verifying_key;
  if (parts[0] == name_) {
    verifying_key = ServiceVerifyingKey(key_, name_);
  } else if (auto peer = peers_.find(parts[0]); peer != peers_.end()) {
    verifying_key = peer->second;
  } else {
    return absl::UnauthenticatedError(absl::StrCat("service credential of '", parts[0],
                                                   "', a service this one has no key for"));
  }
  absl::StatusOr<std::string> mac = Mac(verifying_key, parts[0], name_, expiry);
  if (!mac.ok()) return mac.status();
  if (!crypto::ConstantTimeEquals(*mac, parts[2])) {
    return absl::UnauthenticatedError(absl::StrCat(
        "service credential of '", parts[0], "' does not verify (forged, or made for another service)"));
  }
  const int64_t now_s = absl::ToUnixSeconds(now);
  // A minute of clock skew either way; never a token that lives longer.
  const int64_t lifetime = absl::ToInt64Seconds(kServiceTokenLifetime);
  if (expiry < now_s - 60 || expiry > now_s + lifetime + 60) {
    return absl::UnauthenticatedError(absl::StrCat("service credential of '", parts[0],
                                                   "' expired or not yet valid (check the clocks)"));
  }
  return std::string(parts[0]);
}

absl::StatusOr<ServiceCredential> LoadServiceCredential(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSecretFile(path, "service credential");
  if (!text.ok()) return text.status();
  absl::StatusOr<ServiceCredential> c = ServiceCredential::Parse(*text);
  if (!c.ok()) return absl::Status(c.status().code(), absl::StrCat(path, ": ", c.status().message()));
  return c;
}

const ServiceCredential* ProcessServiceCredential() {
  static const ServiceCredential* credential = []() -> const ServiceCredential* {
    const std::string path = absl::GetFlag(FLAGS_service_credential_file);
    if (path.empty()) return nullptr;
    absl::StatusOr<ServiceCredential> c = LoadServiceCredential(path);
    if (!c.ok()) {
      std::cerr << "--service_credential_file: " << c.status().message() << "\n";
      std::exit(2);
    }
    return new ServiceCredential(std::move(*c));
  }();
  return credential;
}

std::string AudienceOfMethod(absl::string_view method) {
  if (!absl::ConsumePrefix(&method, "/evc.")) return "";
  return std::string(method.substr(0, method.find('.')));
}

}  // namespace evc
