// Least privilege (issue 15, points 3 and 4). Anonymous readers of the
// network see states, prices and locations, never which driver charges
// where nor any ticket. Internal RPCs answer only the services named for
// them: without a service identity, with a forged one or with another
// service's, they are refused, with TLS off (service credentials) and on
// (certificates).

#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "evc/auth/v1/auth.grpc.pb.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "services/common/grpc_util.h"
#include "services/common/service_credentials.h"
#include "services/edge/test_http_client.h"
#include "tests/integration/loop_client.h"
#include "tests/integration/stack.h"

namespace evc::testing {
namespace {

using auth::v1::AuthService;
using central::v1::CentralService;
using registry::v1::RegistryService;

constexpr char kCp[] = "PRIV-001";
constexpr char kDriver[] = "priv-driver";

// Every message of an anonymous (or `bearer`) WatchNetwork stream until its
// deadline.
std::vector<central::v1::NetworkUpdate> Watch(Stack& stack, BearerSource bearer, absl::Duration how_long) {
  auto stub = CentralService::NewStub(MakeChannel(stack.central_address(), std::move(bearer), &stack.client_tls()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(how_long));
  auto reader = stub->WatchNetwork(&context, central::v1::WatchNetworkRequest());
  std::vector<central::v1::NetworkUpdate> seen;
  central::v1::NetworkUpdate update;
  while (reader->Read(&update)) seen.push_back(update);
  reader->Finish();
  return seen;
}

// A unary call with `credential` as the service credential header ("" sends
// none), over the stack's client TLS.
template <typename Stub, typename Request, typename Response>
absl::Status CallWith(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*), Stub& stub,
                      const Request& request, const std::string& credential) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (!credential.empty()) context.AddMetadata(std::string(kServiceCredentialHeader), credential);
  Response response;
  return FromGrpcStatus((stub.*method)(&context, request, &response));
}

// The internal RPCs that were open, each called with `credential`
// ("" for none), over `tls`; their statuses in order.
struct InternalCalls {
  absl::Status verify_password;
  absl::Status charging_point_keys;
  absl::Status weather_holds;
  absl::Status validate_cp_token;
  absl::Status revoked_sessions;
  absl::Status resolve_id_tag;
};
InternalCalls CallInternal(Stack& stack, const TlsConfig& tls, const ServiceCredential* as,
                           const std::string& raw_header = "") {
  auto registry = RegistryService::NewStub(MakeChannel(stack.registry_address(), nullptr, &tls, as));
  auto auth = AuthService::NewStub(MakeChannel(stack.auth_address(), nullptr, &tls, as));
  auto central = CentralService::NewStub(MakeChannel(stack.central_address(), nullptr, &tls, as));
  registry::v1::VerifyPasswordRequest password;
  password.set_username(kDriver);
  password.set_password("guess-number-1");
  auth::v1::GetChargingPointKeysRequest keys;
  keys.set_cp_id(kCp);
  central::v1::ApplyWeatherHoldsRequest holds;  // empty: would lift every weather hold
  auth::v1::ValidateChargingPointTokenRequest token;
  token.set_token("not-a-token");
  registry::v1::ResolveIdTagRequest tag;
  tag.set_id_tag("UNREGISTERED1");
  return {CallWith(&RegistryService::Stub::VerifyPassword, *registry, password, raw_header),
          CallWith(&AuthService::Stub::GetChargingPointKeys, *auth, keys, raw_header),
          CallWith(&CentralService::Stub::ApplyWeatherHolds, *central, holds, raw_header),
          CallWith(&AuthService::Stub::ValidateChargingPointToken, *auth, token, raw_header),
          CallWith(&AuthService::Stub::ListRevokedSessions, *auth, auth::v1::ListRevokedSessionsRequest(),
                   raw_header),
          CallWith(&RegistryService::Stub::ResolveIdTag, *registry, tag, raw_header)};
}

void ExpectAllRefused(const InternalCalls& calls, absl::StatusCode code, const std::string& what) {
  EXPECT_EQ(calls.verify_password.code(), code) << what << ": VerifyPassword " << calls.verify_password;
  EXPECT_EQ(calls.charging_point_keys.code(), code) << what << ": GetChargingPointKeys " << calls.charging_point_keys;
  EXPECT_EQ(calls.weather_holds.code(), code) << what << ": ApplyWeatherHolds " << calls.weather_holds;
  EXPECT_EQ(calls.validate_cp_token.code(), code) << what << ": ValidateChargingPointToken "
                                                  << calls.validate_cp_token;
  EXPECT_EQ(calls.revoked_sessions.code(), code) << what << ": ListRevokedSessions " << calls.revoked_sessions;
  EXPECT_EQ(calls.resolve_id_tag.code(), code) << what << ": ResolveIdTag " << calls.resolve_id_tag;
}

absl::StatusOr<ServiceCredential> CredentialOf(Stack& stack, const std::string& service) {
  return LoadServiceCredential(stack.ServiceCredentialFile(service));
}

class HostilePrivilegeTest : public StackSuite<HostilePrivilegeTest> {
 public:
  static Stack::Options StackOptions() { return {}; }
};

TEST_F(HostilePrivilegeTest, AnonymousReadersSeeNoDriverAndNoTicket) {
  LoopClient loop(stack());
  ASSERT_NO_FATAL_FAILURE(loop.BringUp(kCp, kDriver));
  ASSERT_TRUE(stack().AddDriver("priv-other").ok());
  auto supply = loop.Request(kCp, kDriver);
  ASSERT_TRUE(supply.ok()) << supply.status();
  ASSERT_GE(loop.WaitForEnergy(supply->supply_id(), 1), 1);

  auto anonymous = CentralService::NewStub(MakeChannel(stack().central_address(), nullptr, &stack().client_tls()));
  auto list = CallUnary(&CentralService::Stub::ListChargingPoints, *anonymous,
                        central::v1::ListChargingPointsRequest(), absl::Seconds(5));
  ASSERT_TRUE(list.ok()) << list.status();
  bool found = false;
  for (const auto& cp : list->charging_points()) {
    if (cp.charging_point().cp_id() != kCp) continue;
    found = true;
    // The public view: the state, the price and the place stay.
    EXPECT_EQ(cp.state(), common::v1::CP_STATE_SUPPLYING);
    EXPECT_EQ(cp.charging_point().price_millieuros_per_kwh(), 350);
    EXPECT_EQ(cp.charging_point().location().city(), "Alicante");
    EXPECT_EQ(cp.supply().driver_id(), "");
    EXPECT_EQ(cp.supply().supply_id(), "");
  }
  EXPECT_TRUE(found);
  EXPECT_FALSE(absl::StrContains(list->DebugString(), kDriver)) << list->DebugString();
  EXPECT_FALSE(absl::StrContains(list->DebugString(), supply->supply_id())) << list->DebugString();

  // Another driver sees the same public view; the driver sees their own supply.
  auto other = CallUnary(&CentralService::Stub::ListChargingPoints, *stack().CentralAs(stack().driver("priv-other")),
                         central::v1::ListChargingPointsRequest(), absl::Seconds(5));
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_FALSE(absl::StrContains(other->DebugString(), kDriver)) << other->DebugString();
  auto own = stack().CentralAs(stack().driver(kDriver));
  auto mine = CallUnary(&CentralService::Stub::ListChargingPoints, *own, central::v1::ListChargingPointsRequest(),
                        absl::Seconds(5));
  ASSERT_TRUE(mine.ok()) << mine.status();
  EXPECT_TRUE(absl::StrContains(mine->DebugString(), supply->supply_id())) << mine->DebugString();

  // Through the edge without a token, as the outsider tried it.
  auto edge_port = stack().StartEdge();
  ASSERT_TRUE(edge_port.ok()) << edge_port.status();
  auto http = edge::testing::HttpCall(*edge_port, boost::beast::http::verb::get, "/v1/charging-points");
  EXPECT_EQ(http.status, 200) << http.body;
  EXPECT_TRUE(absl::StrContains(http.body, kCp)) << http.body;
  EXPECT_FALSE(absl::StrContains(http.body, kDriver)) << http.body;

  // The streams: anonymous, the operator's (who must see the ticket, or this
  // test proves nothing) and another driver's, while the supply ends.
  std::vector<central::v1::NetworkUpdate> anonymous_stream, operator_stream, other_stream;
  std::thread anonymous_watch([&] { anonymous_stream = Watch(stack(), nullptr, absl::Seconds(10)); });
  std::thread operator_watch([&] { operator_stream = Watch(stack(), stack().operator_session().Bearer(), absl::Seconds(10)); });
  std::thread other_watch([&] { other_stream = Watch(stack(), stack().driver("priv-other").Bearer(), absl::Seconds(10)); });
  absl::SleepFor(absl::Seconds(2));  // the streams are open (a watch has no ready signal)
  ASSERT_TRUE(loop.Stop(supply->supply_id(), kDriver).ok());
  ASSERT_TRUE(loop.WaitForTicket(supply->supply_id()).has_value());
  anonymous_watch.join();
  operator_watch.join();
  other_watch.join();

  auto tickets = [](const std::vector<central::v1::NetworkUpdate>& stream) {
    int n = 0;
    for (const auto& u : stream) n += u.has_ticket();
    return n;
  };
  ASSERT_GE(tickets(operator_stream), 1) << "the operator's stream saw no ticket";
  ASSERT_FALSE(anonymous_stream.empty());
  EXPECT_TRUE(anonymous_stream.front().has_snapshot());
  EXPECT_EQ(tickets(anonymous_stream), 0);
  EXPECT_EQ(tickets(other_stream), 0);
  for (const auto* stream : {&anonymous_stream, &other_stream}) {
    for (const auto& u : *stream) {
      EXPECT_FALSE(absl::StrContains(u.DebugString(), kDriver)) << u.DebugString();
      EXPECT_FALSE(absl::StrContains(u.DebugString(), supply->supply_id())) << u.DebugString();
    }
  }
}

TEST_F(HostilePrivilegeTest, InternalRpcsRefuseCallersWithoutTheRightServiceIdentity) {
  const TlsConfig& plaintext = stack().client_tls();
  // No credential at all: anyone who reaches a port.
  ExpectAllRefused(CallInternal(stack(), plaintext, nullptr), absl::StatusCode::kUnauthenticated, "no credential");
  // A forged one (right shape, wrong MAC) and garbage.
  const int64_t later = absl::ToUnixSeconds(absl::Now() + absl::Minutes(1));
  ExpectAllRefused(CallInternal(stack(), plaintext, nullptr, absl::StrCat("central.", later, ".", std::string(64, 'a'))),
                   absl::StatusCode::kUnauthenticated, "forged credential");
  ExpectAllRefused(CallInternal(stack(), plaintext, nullptr, "let-me-in"), absl::StatusCode::kUnauthenticated,
                   "garbage credential");
  // The edge is a service, but none of these is its to call.
  auto edge = CredentialOf(stack(), "edge");
  ASSERT_TRUE(edge.ok()) << edge.status();
  ExpectAllRefused(CallInternal(stack(), plaintext, &*edge), absl::StatusCode::kPermissionDenied, "the edge");

  // Each RPC refuses the other services and answers the one named for it.
  auto auth = CredentialOf(stack(), "auth");
  auto central = CredentialOf(stack(), "central");
  auto weather = CredentialOf(stack(), "weather");
  ASSERT_TRUE(auth.ok() && central.ok() && weather.ok());
  InternalCalls as_auth = CallInternal(stack(), plaintext, &*auth);
  InternalCalls as_central = CallInternal(stack(), plaintext, &*central);
  InternalCalls as_weather = CallInternal(stack(), plaintext, &*weather);
  // VerifyPassword: auth only (a wrong password is its answer, not a refusal).
  EXPECT_EQ(as_auth.verify_password.code(), absl::StatusCode::kUnauthenticated) << as_auth.verify_password;
  EXPECT_TRUE(absl::StrContains(as_auth.verify_password.message(), "password")) << as_auth.verify_password;
  EXPECT_EQ(as_central.verify_password.code(), absl::StatusCode::kPermissionDenied) << as_central.verify_password;
  EXPECT_EQ(as_weather.verify_password.code(), absl::StatusCode::kPermissionDenied) << as_weather.verify_password;
  // GetChargingPointKeys and ValidateChargingPointToken: central only.
  EXPECT_TRUE(as_central.charging_point_keys.ok()) << as_central.charging_point_keys;
  EXPECT_EQ(as_weather.charging_point_keys.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(as_auth.charging_point_keys.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(as_central.validate_cp_token.code(), absl::StatusCode::kUnauthenticated) << as_central.validate_cp_token;
  EXPECT_EQ(as_weather.validate_cp_token.code(), absl::StatusCode::kPermissionDenied);
  // ListRevokedSessions: the services that verify access tokens.
  auto registry = CredentialOf(stack(), "registry");
  ASSERT_TRUE(registry.ok()) << registry.status();
  EXPECT_TRUE(as_central.revoked_sessions.ok()) << as_central.revoked_sessions;
  EXPECT_TRUE(as_weather.revoked_sessions.ok()) << as_weather.revoked_sessions;
  EXPECT_TRUE(CallInternal(stack(), plaintext, &*registry).revoked_sessions.ok());
  EXPECT_EQ(as_auth.revoked_sessions.code(), absl::StatusCode::kPermissionDenied);
  // ApplyWeatherHolds: weather only.
  EXPECT_TRUE(as_weather.weather_holds.ok()) << as_weather.weather_holds;
  EXPECT_EQ(as_central.weather_holds.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(as_auth.weather_holds.code(), absl::StatusCode::kPermissionDenied);
  // ResolveIdTag: central only (an unknown tag is its answer, not a refusal).
  EXPECT_EQ(as_central.resolve_id_tag.code(), absl::StatusCode::kNotFound) << as_central.resolve_id_tag;
  EXPECT_EQ(as_weather.resolve_id_tag.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(as_auth.resolve_id_tag.code(), absl::StatusCode::kPermissionDenied);

  // A credential made for one service is no good at another (the edge's
  // token to central replayed at auth).
  auto token = edge->TokenFor("central", absl::Now());
  ASSERT_TRUE(token.ok()) << token.status();
  auto central_token_at_auth = CallInternal(stack(), plaintext, nullptr, *token);
  EXPECT_EQ(central_token_at_auth.charging_point_keys.code(), absl::StatusCode::kUnauthenticated);
  // An expired one.
  auto old = central->TokenFor("auth", absl::Now() - absl::Hours(1));
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(CallInternal(stack(), plaintext, nullptr, *old).charging_point_keys.code(),
            absl::StatusCode::kUnauthenticated);
}

class HostilePrivilegeMtlsTest : public StackSuite<HostilePrivilegeMtlsTest> {
 public:
  static Stack::Options StackOptions() { return {.tls = true}; }
};

TEST_F(HostilePrivilegeMtlsTest, ServiceCertificatesOnlyReachTheirOwnRpcs) {
  auto cert = [&](const std::string& name) {
    auto tls = LoadTls(stack().dir() + "/tls/" + name + ".crt", stack().dir() + "/tls/" + name + ".key",
                       stack().dir() + "/tls/ca.crt");
    EXPECT_TRUE(tls.ok()) << tls.status();
    return tls.ok() ? *tls : TlsConfig();
  };
  // The edge's certificate read every CP's key.
  ExpectAllRefused(CallInternal(stack(), cert("edge"), nullptr), absl::StatusCode::kPermissionDenied, "edge cert");
  InternalCalls as_weather = CallInternal(stack(), cert("weather"), nullptr);
  EXPECT_EQ(as_weather.charging_point_keys.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(as_weather.verify_password.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(as_weather.weather_holds.ok()) << as_weather.weather_holds;
  InternalCalls as_central = CallInternal(stack(), cert("central"), nullptr);
  EXPECT_TRUE(as_central.charging_point_keys.ok()) << as_central.charging_point_keys;
  EXPECT_EQ(as_central.weather_holds.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(as_central.revoked_sessions.ok()) << as_central.revoked_sessions;
  EXPECT_TRUE(as_weather.revoked_sessions.ok()) << as_weather.revoked_sessions;
  // No certificate (a CLI with the CA only): refused as unauthenticated.
  ExpectAllRefused(CallInternal(stack(), stack().client_tls(), nullptr), absl::StatusCode::kUnauthenticated,
                   "CA only");
}

}  // namespace
}  // namespace evc::testing
