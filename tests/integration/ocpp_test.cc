// Issue 18: real chargers over OCPP 1.6J. A charger nobody here wrote (npm's
// ocpp-rpc in strict mode, tests/ocpp/charger.mjs) joins a private network
// through evc-ocpp: boot and status make it ACTIVE at central; a driver's charge
// requested over REST at the edge becomes RemoteStartTransaction ->
// StartTransaction -> MeterValues, the driver's stop RemoteStopTransaction ->
// StopTransaction, and the ticket has the charger's kWh and the CP's price; an
// RFID tag a driver registered starts a charge billed to her; an operator's
// stop and resume reach the charger as ChangeAvailability; a Faulted status
// during a charge ends it with a ticket; a charge runs over wss:// (security
// profile 2, TLS 1.2+ and Basic); a transaction survives a gateway restart; bad frames get the
// spec's CALLERRORs; a revoked charger is refused at the upgrade.
//
// Needs `npm ci` in tests/ocpp (./evc test runs it).

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/edge/test_http_client.h"
#include "tests/integration/loop_client.h"
#include "tests/integration/stack.h"

namespace evc::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class OcppTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A monitor link may be away for as long as a gateway restart takes
    // (OcppTest.ATransactionSurvivesAGatewayRestart).
    auto s = Stack::Start({.link_timeout = absl::Seconds(20)});
    ASSERT_TRUE(s.ok()) << s.status();
    stack_ = s->release();
    // Drivers charge through the REST edge, as the driver app does.
    absl::StatusOr<int> edge = stack_->StartEdge();
    ASSERT_TRUE(edge.ok()) << edge.status();
    edge_port_ = *edge;
  }
  static void TearDownTestSuite() {
    gateway_.reset();
    delete stack_;
    stack_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(stack_, nullptr);
    const std::string source = std::getenv("EVC_SOURCE_DIR") ? std::getenv("EVC_SOURCE_DIR") : ".";
    script_ = source + "/tests/ocpp/charger.mjs";
    ASSERT_TRUE(std::filesystem::exists(source + "/tests/ocpp/node_modules/ocpp-rpc"))
        << "run `npm ci` in tests/ocpp (./evc test does) for the ocpp-rpc client";
    if (gateway_ == nullptr) {
      port_ = FreePort();
      StartGateway("ocpp");
    }
  }

  // The suite's gateway (again, after a restart: same port, same consumer group).
  static void StartGateway(const std::string& name) {
    gateway_ = stack_->Spawn(name, "evc-ocpp",
                             {absl::StrCat("--listen=127.0.0.1:", port_), "--auth=" + stack_->auth_address(),
                              "--central=" + stack_->central_address(), "--metrics_listen=off",
                              "--group=evc-ocpp-it"});
    ASSERT_TRUE(Stack::WaitFor([&] {
      return absl::StrContains(ReadAll(gateway_->log_path()), "chargers are admitted");
    }, absl::Seconds(60))) << "evc-ocpp never became ready: see " << gateway_->log_path();
  }

  // The charger script for `cp` in `scenario`, logging to <stack>/charger-<cp>-<scenario>.log;
  // over wss to `url` when given, trusting `ca_file`.
  std::unique_ptr<Process> Charger(const std::string& cp, const std::string& secret, const std::string& scenario,
                                   const std::string& url = "", const std::string& ca_file = "") {
    std::map<std::string, std::string> env;
    if (!ca_file.empty()) env["OCPP_CA_FILE"] = ca_file;
    return std::make_unique<Process>(
        "charger",
        std::vector<std::string>{"/usr/bin/node", script_,
                                 url.empty() ? absl::StrCat("ws://127.0.0.1:", port_, "/ocpp") : url, cp, secret,
                                 scenario},
        env, absl::StrCat(stack_->dir(), "/charger-", cp, "-", scenario, ".log"));
  }

  // Registers `cp` and `driver`, connects the charger script in `scenario`,
  // waits for the CP to be ACTIVE at central.
  std::unique_ptr<Process> ActiveCharger(const std::string& cp, const std::string& driver,
                                         const std::string& scenario) {
    auto secret = stack_->RegisterCp(cp);
    EXPECT_TRUE(secret.ok()) << secret.status();
    EXPECT_TRUE(stack_->AddDriver(driver).ok());
    if (!secret.ok()) return nullptr;
    auto charger = Charger(cp, *secret, scenario);
    EXPECT_TRUE(stack_->WaitForState(cp, common::v1::CP_STATE_ACTIVE, absl::Seconds(30)))
        << cp << " never became ACTIVE: see " << charger->log_path();
    return charger;
  }

  // The "charge" scenario's whole supply at `cp` for `driver`, as the driver
  // app does it: requested over REST at the edge (RemoteStartTransaction ->
  // StartTransaction -> MeterValues at 1,500 Wh), stopped over REST
  // (RemoteStopTransaction -> StopTransaction at 3,000 Wh, the script exits
  // 0); its ticket.
  std::optional<common::v1::Ticket> ChargeAndStop(const std::string& cp, const std::string& driver, Process& charger) {
    const edge::testing::Headers as_driver = {{"authorization", "Bearer " + stack_->driver(driver).AccessToken()},
                                              {"content-type", "application/json"}};
    edge::testing::HttpReply requested =
        edge::testing::HttpCall(edge_port_, boost::beast::http::verb::post, "/v1/charging-points/" + cp + ":charge",
                                R"({"requestId":"ocpp-it-)" + cp + R"("})", as_driver);
    EXPECT_EQ(requested.status, 200) << requested.body;
    const std::string supply_id = requested.json()["supply"].value("supplyId", "");
    if (supply_id.empty()) return std::nullopt;
    LoopClient loop(*stack_);
    EXPECT_EQ(loop.WaitForEnergy(supply_id, 1500), 1500) << ReadAll(charger.log_path());
    edge::testing::HttpReply stopped = edge::testing::HttpCall(
        edge_port_, boost::beast::http::verb::post, "/v1/supplies/" + supply_id + ":stop", "{}", as_driver);
    EXPECT_EQ(stopped.status, 200) << stopped.body;
    EXPECT_TRUE(Exits(charger, 0)) << ReadAll(charger.log_path());
    return loop.WaitForTicket(supply_id);
  }

  static bool Exits(Process& p, int code, absl::Duration timeout = absl::Seconds(60)) {
    return Stack::WaitFor([&] { return !p.Running(); }, timeout) && p.exit_code() == code;
  }

  // A gateway with a certificate made here: wss:// only (security profile 2).
  std::unique_ptr<Process> TlsGateway(int port, std::string* ca_file) {
    const std::string dir = stack_->dir() + "/wss";
    const std::string make = absl::StrCat(
        "mkdir -p ", dir, " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 ",
        "-subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout ", dir, "/key.pem -out ", dir,
        "/cert.pem 2>/dev/null");
    EXPECT_EQ(std::system(make.c_str()), 0) << "openssl could not make a certificate";
    *ca_file = dir + "/cert.pem";  // self-signed: its own CA
    auto gateway = stack_->Spawn("ocpp-wss", "evc-ocpp",
                                 {absl::StrCat("--listen=127.0.0.1:", port), "--auth=" + stack_->auth_address(),
                                  "--central=" + stack_->central_address(), "--metrics_listen=off",
                                  "--group=evc-ocpp-wss-it", "--wss_cert=" + dir + "/cert.pem",
                                  "--wss_key=" + dir + "/key.pem"});
    EXPECT_TRUE(Stack::WaitFor([&] {
      return absl::StrContains(ReadAll(gateway->log_path()), "chargers are admitted");
    }, absl::Seconds(60))) << "evc-ocpp (wss) never became ready: see " << gateway->log_path();
    return gateway;
  }

  static Stack* stack_;
  static std::unique_ptr<Process> gateway_;
  static int port_;
  static int edge_port_;
  std::string script_;
};

Stack* OcppTest::stack_ = nullptr;
std::unique_ptr<Process> OcppTest::gateway_;
int OcppTest::port_ = 0;
int OcppTest::edge_port_ = 0;

TEST_F(OcppTest, DriversChargeOnARealChargerAndGetTheRightTicket) {
  auto charger = ActiveCharger("OCPP-001", "ocpp-ana", "charge");
  ASSERT_TRUE(charger != nullptr && !HasFailure());
  std::optional<common::v1::Ticket> ticket = ChargeAndStop("OCPP-001", "ocpp-ana", *charger);
  ASSERT_TRUE(ticket.has_value());
  EXPECT_EQ(ticket->energy_wh(), 3000);
  EXPECT_EQ(ticket->amount_millieuros(), 1050);  // 3 kWh at 0.35 €/kWh
  EXPECT_EQ(ticket->end_reason(), common::v1::END_REASON_DRIVER_STOP);
  const std::string log = ReadAll(charger->log_path());
  for (const char* step : {"\"booted\"", "\"remote-start\"", "\"started\"", "\"metered\"", "\"remote-stop\"", "\"stopped\""}) {
    EXPECT_TRUE(absl::StrContains(log, step)) << step << " missing from " << log;
  }
}

TEST_F(OcppTest, FaultedDuringAChargeEndsItWithATicket) {
  LoopClient loop(*stack_);
  auto charger = ActiveCharger("OCPP-002", "ocpp-bea", "fault");
  ASSERT_TRUE(charger != nullptr && !HasFailure());
  auto supply = loop.Request("OCPP-002", "ocpp-bea");
  ASSERT_TRUE(supply.ok()) << supply.status();
  std::optional<common::v1::Ticket> ticket = loop.WaitForTicket(supply->supply_id(), absl::Seconds(40));
  ASSERT_TRUE(ticket.has_value()) << ReadAll(charger->log_path());
  EXPECT_EQ(ticket->end_reason(), common::v1::END_REASON_ENGINE_FAULT);
  EXPECT_EQ(ticket->energy_wh(), 1500);
  EXPECT_EQ(ticket->amount_millieuros(), 525);
  // Central told the charger to stop: RemoteStopTransaction, then its StopTransaction.
  EXPECT_TRUE(Exits(*charger, 0)) << ReadAll(charger->log_path());
}

TEST_F(OcppTest, AnRfidTagAtTheChargerChargesTheDriverWhoRegisteredIt) {
  auto secret = stack_->RegisterCp("OCPP-005");
  ASSERT_TRUE(secret.ok()) << secret.status();
  ASSERT_TRUE(stack_->AddDriver("ocpp-eva").ok());
  // An operator hands the driver a card: its tag goes on her account.
  registry::v1::UpdateProfileRequest card;
  card.set_username("ocpp-eva");
  card.add_id_tags("04e1c2d3");
  auto account = CallUnary(&registry::v1::RegistryService::Stub::UpdateProfile, stack_->registry(), card,
                           absl::Seconds(5));
  ASSERT_TRUE(account.ok()) << account.status();
  ASSERT_EQ(account->id_tags_size(), 1);
  EXPECT_EQ(account->id_tags(0), "04E1C2D3");

  // Authorize -> StartTransaction -> MeterValues -> StopTransaction (Local),
  // then an unknown tag refused: the script exits 0.
  auto charger = Charger("OCPP-005", *secret, "rfid");
  EXPECT_TRUE(Exits(*charger, 0, absl::Seconds(90))) << ReadAll(charger->log_path());
  central::v1::ListTicketsRequest mine;
  mine.set_cp_id("OCPP-005");
  std::optional<common::v1::Ticket> ticket;
  ASSERT_TRUE(Stack::WaitFor([&] {
    auto list = CallUnary(&central::v1::CentralService::Stub::ListTickets, stack_->CentralAsDriver("ocpp-eva"),
                          mine, absl::Seconds(5));
    if (list.ok() && list->tickets_size() > 0) ticket = list->tickets(0);
    return ticket.has_value();
  })) << "no ticket for the driver at OCPP-005: " << ReadAll(charger->log_path());
  EXPECT_EQ(ticket->driver_id(), "ocpp-eva");
  EXPECT_EQ(ticket->energy_wh(), 2000);
  EXPECT_EQ(ticket->amount_millieuros(), 700);  // 2 kWh at 0.35 €/kWh
  EXPECT_EQ(ticket->end_reason(), common::v1::END_REASON_UNPLUGGED);
  // Both answers came from central, which audited the refusal with its tag.
  EXPECT_TRUE(Stack::WaitFor([&] {
    return std::stoi(stack_->Sql("SELECT count(*) FROM audit_events WHERE action = 'charge_rejected' AND "
                                 "cp_id = 'OCPP-005' AND details->>'id_tag' = 'NOBODY-1' AND "
                                 "details->>'reason' = 'unknown driver'")) == 1;
  })) << "central did not audit the unknown tag (as a tag nobody holds, looked up at the registry)";
}

TEST_F(OcppTest, AnOperatorStopAndResumeReachTheChargerAsChangeAvailability) {
  auto charger = ActiveCharger("OCPP-006", "ocpp-fay", "holds");
  ASSERT_TRUE(charger != nullptr && !HasFailure());
  central::v1::OperatorRequest op;
  op.set_cp_id("OCPP-006");
  ASSERT_TRUE(CallUnary(&central::v1::CentralService::Stub::StopChargingPoints, stack_->central(), op,
                        absl::Seconds(5)).ok());
  EXPECT_TRUE(Stack::WaitFor([&] {
    return absl::StrContains(ReadAll(charger->log_path()), R"("type":"Inoperative")");
  })) << "the charger was never told Inoperative: " << ReadAll(charger->log_path());
  ASSERT_TRUE(CallUnary(&central::v1::CentralService::Stub::ResumeChargingPoints, stack_->central(), op,
                        absl::Seconds(5)).ok());
  // Told Operative again: the script exits 0.
  EXPECT_TRUE(Exits(*charger, 0)) << ReadAll(charger->log_path());
}

TEST_F(OcppTest, SecurityProfileTwoChargesOverTls) {
  std::string ca_file;
  const int port = FreePort();
  auto gateway = TlsGateway(port, &ca_file);
  ASSERT_FALSE(HasFailure());
  auto secret = stack_->RegisterCp("OCPP-007");
  ASSERT_TRUE(secret.ok()) << secret.status();
  ASSERT_TRUE(stack_->AddDriver("ocpp-gus").ok());
  const std::string url = absl::StrCat("wss://localhost:", port, "/ocpp");
  // Without trusting the gateway's certificate the charger cannot connect.
  auto untrusting = Charger("OCPP-007", *secret, "charge", url);
  EXPECT_TRUE(Exits(*untrusting, 1)) << ReadAll(untrusting->log_path());
  auto charger = Charger("OCPP-007", *secret, "charge", url, ca_file);
  ASSERT_TRUE(stack_->WaitForState("OCPP-007", common::v1::CP_STATE_ACTIVE, absl::Seconds(30)))
      << ReadAll(charger->log_path());
  std::optional<common::v1::Ticket> ticket = ChargeAndStop("OCPP-007", "ocpp-gus", *charger);
  ASSERT_TRUE(ticket.has_value());
  EXPECT_EQ(ticket->energy_wh(), 3000);
  // A plain ws:// upgrade on the wss port is no connection at all.
  auto plain = Charger("OCPP-007", *secret, "charge", absl::StrCat("ws://127.0.0.1:", port, "/ocpp"));
  EXPECT_TRUE(Exits(*plain, 1)) << ReadAll(plain->log_path());
}

TEST_F(OcppTest, ATransactionSurvivesAGatewayRestart) {
  LoopClient loop(*stack_);
  auto charger = ActiveCharger("OCPP-008", "ocpp-hal", "survive");
  ASSERT_TRUE(charger != nullptr && !HasFailure());
  auto supply = loop.Request("OCPP-008", "ocpp-hal");
  ASSERT_TRUE(supply.ok()) << supply.status();
  ASSERT_EQ(loop.WaitForEnergy(supply->supply_id(), 1000), 1000) << ReadAll(charger->log_path());
  // Killed: nothing of the transaction is left in the gateway.
  gateway_->Kill();
  ASSERT_NO_FATAL_FAILURE(StartGateway("ocpp-restarted"));
  // The charger reconnects, meters on and stops locally at 4,000 Wh; the new
  // gateway learns the supply from central and bills all of it.
  EXPECT_TRUE(Exits(*charger, 0, absl::Seconds(60))) << ReadAll(charger->log_path());
  std::optional<common::v1::Ticket> ticket = loop.WaitForTicket(supply->supply_id(), absl::Seconds(30));
  ASSERT_TRUE(ticket.has_value()) << ReadAll(charger->log_path()) << ReadAll(gateway_->log_path());
  EXPECT_EQ(ticket->energy_wh(), 4000);
  EXPECT_EQ(ticket->amount_millieuros(), 1400);  // 4 kWh at 0.35 €/kWh
  EXPECT_EQ(ticket->end_reason(), common::v1::END_REASON_UNPLUGGED);
  EXPECT_EQ(stack_->Sql(absl::StrCat("SELECT count(*) FROM tickets WHERE supply_id = '", supply->supply_id(), "'")),
            "1");
  EXPECT_TRUE(absl::StrContains(ReadAll(charger->log_path()), "\"reconnected\""));
  EXPECT_TRUE(absl::StrContains(ReadAll(gateway_->log_path()), "transaction taken up again after a gap"));
}

// evc-cp-fleet --ocpp, the load tests' chargers (./evc bench ocpp), through
// the same gateway: they boot and become ACTIVE at central; a driver's charge
// runs on one (RemoteStartTransaction -> StartTransaction -> MeterValues every
// 500 ms at 36 kW), which unplugs after 3 readings: a ticket for what it metered.
TEST_F(OcppTest, TheFleetSimulatorsChargersJoinThroughTheGatewayAndCharge) {
  ASSERT_TRUE(stack_->AddDriver("ocpp-gil").ok());
  auto fleet = stack_->Spawn("fleet-ocpp", "evc-cp-fleet",
                             {"--count=3", "--prefix=OF-", "--registry=" + stack_->registry_address(),
                              "--auth=" + stack_->auth_address(), absl::StrCat("--ocpp=ws://127.0.0.1:", port_, "/ocpp"),
                              "--telemetry_period=500ms", "--unplug_after_readings=3", "--power_w=36000",
                              "--price=350", "--user=admin", "--password_file=" + stack_->PasswordFile("admin")});
  for (const char* cp : {"OF-00001", "OF-00002", "OF-00003"}) {
    ASSERT_TRUE(stack_->WaitForState(cp, common::v1::CP_STATE_ACTIVE, absl::Seconds(60)))
        << cp << " never became ACTIVE: see " << fleet->log_path() << " and " << gateway_->log_path();
  }
  LoopClient loop(*stack_);
  auto supply = loop.Request("OF-00002", "ocpp-gil");
  ASSERT_TRUE(supply.ok()) << supply.status();
  std::optional<common::v1::Ticket> ticket = loop.WaitForTicket(supply->supply_id(), absl::Seconds(40));
  ASSERT_TRUE(ticket.has_value()) << ReadAll(fleet->log_path());
  EXPECT_EQ(ticket->end_reason(), common::v1::END_REASON_UNPLUGGED);
  // Three readings 500 ms apart at 36 kW: 15 Wh, give or take the ticks.
  EXPECT_GE(ticket->energy_wh(), 10);
  EXPECT_LE(ticket->energy_wh(), 40);
  EXPECT_EQ(ticket->driver_id(), "ocpp-gil");
  fleet->Stop();
  EXPECT_TRUE(stack_->WaitForState("OF-00001", common::v1::CP_STATE_DISCONNECTED, absl::Seconds(30)))
      << "the gateway kept a charger linked after the fleet left";
}

TEST_F(OcppTest, BadFramesGetTheSpecsCallErrors) {
  auto secret = stack_->RegisterCp("OCPP-003");
  ASSERT_TRUE(secret.ok()) << secret.status();
  auto charger = Charger("OCPP-003", *secret, "bad");
  EXPECT_TRUE(Exits(*charger, 0)) << ReadAll(charger->log_path());
}

TEST_F(OcppTest, RevokedChargerRefusedAtTheUpgrade) {
  // On the network first (auth has seen its registration), then revoked.
  auto live = ActiveCharger("OCPP-004", "ocpp-dan", "charge");
  ASSERT_TRUE(live != nullptr && !HasFailure());
  auth::v1::RevokeChargingPointRequest revoke;
  revoke.set_cp_id("OCPP-004");
  ASSERT_TRUE(CallUnary(&auth::v1::AuthService::Stub::RevokeChargingPoint, stack_->auth(), revoke,
                        absl::Seconds(5)).ok());
  live->Stop();
  const std::string secret = ReadAll(absl::StrCat(stack_->dir(), "/OCPP-004.secret"));
  ASSERT_FALSE(secret.empty());
  auto charger = Charger("OCPP-004", secret, "refused");
  EXPECT_TRUE(Exits(*charger, 0)) << ReadAll(charger->log_path());
  // A wrong password for a valid CP too.
  auto wrong = Charger("OCPP-003", "not-the-secret", "refused");
  EXPECT_TRUE(Exits(*wrong, 0)) << ReadAll(wrong->log_path());
  EXPECT_TRUE(absl::StrContains(ReadAll(gateway_->log_path()), "charger refused at the upgrade"));
  // Auth audited both refusals.
  EXPECT_TRUE(Stack::WaitFor([&] {
    return std::stoi(stack_->Sql("SELECT count(*) FROM audit_events WHERE action = 'cp_auth_failed' AND "
                                 "cp_id IN ('OCPP-004', 'OCPP-003')")) >= 2;
  })) << "auth did not audit the refused chargers";
}

}  // namespace
}  // namespace evc::testing
