// The whole loop with mutual TLS between every service and CP process, and
// the clients it must refuse: plaintext, a certificate from another CA, and a
// CA-only client (like the CLIs) asking for a service-only call.

#include <cstdlib>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "evc/auth/v1/auth.grpc.pb.h"
#include "services/common/grpc_util.h"
#include "tests/integration/loop_client.h"
#include "tests/integration/stack.h"

namespace evc::testing {
namespace {

class MutualTlsTest : public StackSuite<MutualTlsTest> {
 public:
  static Stack::Options StackOptions() { return {.tls = true}; }
};

TEST_F(MutualTlsTest, TheCoreLoopRunsOnMutualTls) {
  LoopClient loop(stack());
  ASSERT_NO_FATAL_FAILURE(loop.BringUp("TLS-001", "tls-driver"));
  auto supply = loop.Request("TLS-001", "tls-driver");
  ASSERT_TRUE(supply.ok()) << supply.status();
  EXPECT_GE(loop.WaitForEnergy(supply->supply_id(), 20), 20);
  ASSERT_TRUE(loop.Stop(supply->supply_id(), "tls-driver").ok());
  auto ticket = loop.WaitForTicket(supply->supply_id());
  ASSERT_TRUE(ticket.has_value());
  EXPECT_EQ(ticket->end_reason(), common::v1::END_REASON_DRIVER_STOP);
  // The driver CLI works with only the CA.
  std::string out;
  EXPECT_EQ(stack().RunTool("evc-driver", {"--user=tls-driver", "--password_file=" + stack().PasswordFile("tls-driver"),
                                           "--cp=TLS-001", "--stop_after=2s"},
                            &out),
            0)
      << out;
  EXPECT_NE(out.find("TICKET"), std::string::npos) << out;
}

TEST_F(MutualTlsTest, ClientsWithoutAValidCertificateAreRefused) {
  central::v1::ListChargingPointsRequest list;
  // Plaintext against a TLS server.
  TlsConfig plaintext;
  auto plain = central::v1::CentralService::NewStub(MakeChannel(stack().central_address(), nullptr, &plaintext));
  EXPECT_EQ(CallUnary(&central::v1::CentralService::Stub::ListChargingPoints, *plain, list, absl::Seconds(3))
                .status().code(),
            absl::StatusCode::kUnavailable);

  // A certificate from another CA: the handshake fails.
  const std::string rogue = stack().dir() + "/rogue-tls";
  const char* src = std::getenv("EVC_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  ASSERT_EQ(std::system(absl::StrCat(src, "/evc _certs ", rogue, " >/dev/null 2>&1").c_str()), 0);
  auto rogue_tls = LoadTls(rogue + "/central.crt", rogue + "/central.key", stack().dir() + "/tls/ca.crt");
  ASSERT_TRUE(rogue_tls.ok());
  auto impostor = auth::v1::AuthService::NewStub(MakeChannel(stack().auth_address(), nullptr, &*rogue_tls));
  auth::v1::GetChargingPointKeysRequest keys;
  keys.set_cp_id("TLS-001");
  EXPECT_EQ(CallUnary(&auth::v1::AuthService::Stub::GetChargingPointKeys, *impostor, keys, absl::Seconds(3))
                .status().code(),
            absl::StatusCode::kUnavailable);

  // A CA-only client (a CLI) may not make the service-only call for CP keys.
  auto cli = auth::v1::AuthService::NewStub(MakeChannel(stack().auth_address(), nullptr, &stack().client_tls()));
  auto refused = CallUnary(&auth::v1::AuthService::Stub::GetChargingPointKeys, *cli, keys, absl::Seconds(3));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated) << refused.status();
  // Nor can a CP's certificate: it is not a service's.
  auto cp_tls = LoadTls(stack().dir() + "/tls/cp.crt", stack().dir() + "/tls/cp.key", stack().dir() + "/tls/ca.crt");
  ASSERT_TRUE(cp_tls.ok());
  auto cp = auth::v1::AuthService::NewStub(MakeChannel(stack().auth_address(), nullptr, &*cp_tls));
  EXPECT_EQ(CallUnary(&auth::v1::AuthService::Stub::GetChargingPointKeys, *cp, keys, absl::Seconds(3))
                .status().code(),
            absl::StatusCode::kPermissionDenied);
  // Central's own certificate may.
  auto central_tls = LoadTls(stack().dir() + "/tls/central.crt", stack().dir() + "/tls/central.key",
                             stack().dir() + "/tls/ca.crt");
  auto service = auth::v1::AuthService::NewStub(MakeChannel(stack().auth_address(), nullptr, &*central_tls));
  auto allowed = CallUnary(&auth::v1::AuthService::Stub::GetChargingPointKeys, *service, keys, absl::Seconds(3));
  EXPECT_TRUE(allowed.ok()) << allowed.status();
}

}  // namespace
}  // namespace evc::testing
