// Who may make an internal call: each RPC's allowed services against every
// identity, by certificate (TLS on) and by service credential (TLS off).

#include "services/common/authz.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "services/common/clock.h"
#include "services/common/service_credentials.h"

namespace evc {
namespace {

const std::vector<std::string> kServices = {"registry", "auth", "central", "weather", "edge"};

class AuthzTest : public ::testing::Test {
 protected:
  AuthzTest()
      : verifier_([] { return std::vector<VerifyingKey>(); }, clock_),
        files_(ServiceCredential::Generate(kServices)) {
    for (const auto& [name, text] : files_) {
      auto c = ServiceCredential::Parse(text);
      EXPECT_TRUE(c.ok()) << c.status();
      credentials_.emplace(name, *c);
    }
  }
  const ServiceCredential& Of(const std::string& name) { return credentials_.at(name); }
  // The token `caller` sends to `callee`.
  std::string Token(const std::string& caller, const std::string& callee, absl::Time at = absl::Now()) {
    auto t = Of(caller).TokenFor(callee, at);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : "";
  }

  SystemClock clock_;
  TokenVerifier verifier_;
  std::map<std::string, std::string> files_;
  std::map<std::string, ServiceCredential> credentials_;
};

// The internal RPCs and who may call them (as in the services' *_grpc.cc).
struct Rule {
  const char* rpc;
  const char* callee;
  std::initializer_list<absl::string_view> allowed;
};
const Rule kRules[] = {
    {"registry VerifyPassword", "registry", {kAuth}},
    {"registry VerifyCredentials", "registry", {kAuth}},
    {"auth GetChargingPointKeys", "auth", {kCentral}},
    {"auth ValidateChargingPointToken", "auth", {kCentral}},
    {"central ApplyWeatherHolds", "central", {kWeather}},
};

bool Allowed(const Rule& rule, const std::string& service) {
  for (absl::string_view a : rule.allowed) {
    if (a == service) return true;
  }
  return false;
}

TEST_F(AuthzTest, EachRpcAnswersItsServicesAndRefusesTheOthersWithTlsOff) {
  for (const Rule& rule : kRules) {
    CallAuthorizer authz(verifier_, &Of(rule.callee));
    for (const std::string& caller : kServices) {
      absl::Status s = authz.RequireService("", Token(caller, rule.callee), rule.allowed);
      if (Allowed(rule, caller)) {
        EXPECT_TRUE(s.ok()) << rule.rpc << " as " << caller << ": " << s;
      } else {
        EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << rule.rpc << " as " << caller << ": " << s;
        EXPECT_TRUE(absl::StrContains(s.message(), caller)) << s;
      }
    }
    absl::Status none = authz.RequireService("", "", rule.allowed);
    EXPECT_EQ(none.code(), absl::StatusCode::kUnauthenticated) << rule.rpc;
    EXPECT_TRUE(absl::StrContains(none.message(), "--service_credential_file")) << none;
  }
}

TEST_F(AuthzTest, EachRpcAnswersItsServicesAndRefusesTheOthersWithTlsOn) {
  for (const Rule& rule : kRules) {
    // With TLS the certificate decides, whatever credential comes with it.
    CallAuthorizer authz(verifier_, nullptr);
    for (const std::string& caller : kServices) {
      absl::Status s = authz.RequireService(caller, "", rule.allowed);
      if (Allowed(rule, caller)) {
        EXPECT_TRUE(s.ok()) << rule.rpc << " as " << caller << ": " << s;
      } else {
        EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << rule.rpc << " as " << caller;
      }
    }
    EXPECT_EQ(authz.RequireService("cp", "", rule.allowed).code(), absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(authz.RequireService("admin", "", rule.allowed).code(), absl::StatusCode::kPermissionDenied);
    // A CA-only client (a CLI): no identity.
    EXPECT_EQ(authz.RequireService("", "", rule.allowed).code(), absl::StatusCode::kUnauthenticated);
  }
  // The certificate wins over a credential naming an allowed service.
  CallAuthorizer auth(verifier_, &Of("auth"));
  EXPECT_EQ(auth.RequireService("edge", Token("central", "auth"), {kCentral}).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AuthzTest, WithoutACredentialConfiguredEveryInternalCallIsRefused) {
  CallAuthorizer authz(verifier_, nullptr);
  absl::Status s = authz.RequireService("", Token("central", "auth"), {kCentral});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(s.message(), "--service_credential_file")) << s;
}

TEST_F(AuthzTest, ForgedReplayedElsewhereOrExpiredCredentialsAreRefused) {
  CallAuthorizer auth(verifier_, &Of("auth"));
  const absl::Time now = absl::Now();
  auto refused = [&](const std::string& credential) {
    return auth.RequireService("", credential, {kCentral}).code() == absl::StatusCode::kUnauthenticated;
  };
  EXPECT_TRUE(refused("central"));
  EXPECT_TRUE(refused("central.1.2.3"));
  EXPECT_TRUE(refused(absl::StrCat("central.", absl::ToUnixSeconds(now) + 60, ".", std::string(64, '0'))));
  // Central's token for registry is no good at auth.
  EXPECT_TRUE(refused(Token("central", "registry")));
  // Expired, or issued far in the future (a long-lived token).
  EXPECT_TRUE(refused(Token("central", "auth", now - absl::Minutes(10))));
  EXPECT_TRUE(refused(Token("central", "auth", now + absl::Hours(1))));
  // Its expiry changed: the MAC covers it.
  std::string token = Token("central", "auth");
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  EXPECT_TRUE(refused(absl::StrCat(parts[0], ".", std::stoll(parts[1]) + 30, ".", parts[2])));
  // A service the file does not know.
  EXPECT_TRUE(refused(absl::StrCat("ocpp.", parts[1], ".", parts[2])));
  EXPECT_TRUE(auth.RequireService("", token, {kCentral}).ok());
}

TEST_F(AuthzTest, AServiceCannotForgeAnotherAtAThirdService) {
  // Registry holds the key that verifies central's calls to registry; with it
  // it can make tokens "from central" for registry only, never for auth.
  const std::string& registry_file = files_.at("registry");
  std::string central_at_registry;
  for (absl::string_view line : absl::StrSplit(registry_file, '\n')) {
    if (absl::StartsWith(line, "peer central ")) central_at_registry = std::string(line.substr(13));
  }
  ASSERT_EQ(central_at_registry.size(), 64u);
  // Posing as central with that key as if it were central's own.
  auto fake = ServiceCredential::Parse(absl::StrCat("service central ", central_at_registry, "\n"));
  ASSERT_TRUE(fake.ok());
  auto forged = fake->TokenFor("auth", absl::Now());
  ASSERT_TRUE(forged.ok());
  CallAuthorizer auth(verifier_, &Of("auth"));
  EXPECT_EQ(auth.RequireService("", *forged, {kCentral}).code(), absl::StatusCode::kUnauthenticated);
}

TEST(ServiceCredentialTest, TheKeyDerivationMatchesTheShellAndTheChart) {
  // printf 'evc-service-key|%s|%s' 111...1 registry | sha256sum (./evc, the chart's sha256sum).
  EXPECT_EQ(ServiceVerifyingKey(std::string(64, '1'), "registry"),
            "da2161d4b5ae7401610660554a3fc76483e67264f45105cc06deb4f7ef7f0fd1");
}

TEST(ServiceCredentialTest, MalformedFilesSayWhatIsWrong) {
  EXPECT_FALSE(ServiceCredential::Parse("").ok());
  EXPECT_FALSE(ServiceCredential::Parse("peer auth " + std::string(64, 'a')).ok());
  auto bad = ServiceCredential::Parse("service auth short\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "line 1")) << bad.status();
  EXPECT_FALSE(ServiceCredential::Parse("service auth " + std::string(64, 'a') + "\nservice central " +
                                        std::string(64, 'b'))
                   .ok());
  EXPECT_TRUE(ServiceCredential::Parse("# comment\nservice auth " + std::string(64, 'a') + "\n").ok());
}

TEST(ServiceCredentialTest, TheAudienceIsTheCalledService) {
  EXPECT_EQ(AudienceOfMethod("/evc.registry.v1.RegistryService/VerifyPassword"), "registry");
  EXPECT_EQ(AudienceOfMethod("/evc.auth.v1.AuthService/GetChargingPointKeys"), "auth");
  EXPECT_EQ(AudienceOfMethod("/grpc.health.v1.Health/Check"), "");
}

}  // namespace
}  // namespace evc
