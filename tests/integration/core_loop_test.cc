// The core charging loop with real processes: registry, auth, central, CP
// engines and monitors, a private Postgres and the dev Kafka broker.

#include <fstream>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "evc/events/v1/events.pb.h"
#include "services/central/effects.h"
#include "services/common/client_session.h"
#include "services/common/grpc_util.h"
#include "services/common/sealed.h"
#include "tests/integration/loop_client.h"
#include "tests/integration/stack.h"

namespace evc::testing {
namespace {

using central::v1::CentralService;
using common::v1::CpState;

class CoreLoopTest : public StackSuite<CoreLoopTest> {
 public:
  static Stack::Options StackOptions() { return {}; }

 protected:
  // Registers the CP and a driver, starts engine and monitor, waits for ACTIVE.
  void BringUp(const std::string& cp, const std::string& driver = "") {
    ASSERT_NO_FATAL_FAILURE(LoopClient(stack()).BringUp(cp, driver));
  }
  absl::StatusOr<common::v1::Supply> Request(const std::string& cp, const std::string& driver) {
    return LoopClient(stack()).Request(cp, driver);
  }
  absl::StatusOr<central::v1::SupplyView> GetSupply(const std::string& id) {
    return LoopClient(stack()).GetSupply(id);
  }
  int64_t WaitForEnergy(const std::string& supply_id, int64_t wh) {
    return LoopClient(stack()).WaitForEnergy(supply_id, wh);
  }
  std::optional<common::v1::Ticket> WaitForTicket(const std::string& supply_id,
                                                  absl::Duration timeout = absl::Seconds(20)) {
    return LoopClient(stack()).WaitForTicket(supply_id, timeout);
  }
  absl::Status Stop(const std::string& supply_id, const std::string& driver) {
    return LoopClient(stack()).Stop(supply_id, driver);
  }
  int TicketRows(const std::string& supply_id) { return LoopClient(stack()).TicketRows(supply_id); }

};

TEST_F(CoreLoopTest, ChargeTelemetryStopGivesExactlyOneCorrectTicket) {
  BringUp("IT-LOOP", "it-ana");
  auto supply = Request("IT-LOOP", "it-ana");
  ASSERT_TRUE(supply.ok()) << supply.status();
  int64_t seen = WaitForEnergy(supply->supply_id(), 20);  // 36 kW: 10 Wh per second
  ASSERT_GE(seen, 20) << "telemetry did not flow";
  EXPECT_EQ(stack().Status("IT-LOOP")->state(), common::v1::CP_STATE_SUPPLYING);
  ASSERT_TRUE(Stop(supply->supply_id(), "it-ana").ok());
  auto ticket = WaitForTicket(supply->supply_id());
  ASSERT_TRUE(ticket.has_value());
  EXPECT_EQ(ticket->end_reason(), common::v1::END_REASON_DRIVER_STOP);
  EXPECT_GE(ticket->energy_wh(), seen);
  EXPECT_EQ(ticket->amount_millieuros(), central::AmountMillieuros(ticket->energy_wh(), 350));
  EXPECT_EQ(ticket->driver_id(), "it-ana");
  EXPECT_EQ(TicketRows(supply->supply_id()), 1);
  EXPECT_TRUE(stack().WaitForState("IT-LOOP", common::v1::CP_STATE_ACTIVE));
  // The ticket went out on Kafka (outbox marked).
  EXPECT_TRUE(Stack::WaitFor([&] {
    return stack().Sql("SELECT count(*) FROM tickets WHERE published_at IS NOT NULL AND supply_id = '" +
                       supply->supply_id() + "'") == "1";
  }));
}

TEST_F(CoreLoopTest, RejectionsCarryAReason) {
  BringUp("IT-REJ", "it-rej");
  ASSERT_TRUE(stack().AddDriver("it-rej2").ok());
  auto unknown_cp = Request("IT-NOWHERE", "it-rej");
  EXPECT_EQ(unknown_cp.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(unknown_cp.status().message(), "IT-NOWHERE"));
  // Without an account there is no token: refused with what to do.
  auto unknown_driver = Request("IT-REJ", "it-nobody");
  EXPECT_EQ(unknown_driver.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(unknown_driver.status().message(), "log in")) << unknown_driver.status();
  auto first = Request("IT-REJ", "it-rej");
  ASSERT_TRUE(first.ok());
  auto busy = Request("IT-REJ", "it-rej2");
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(busy.status().message(), "SUPPLYING")) << busy.status();
  // Only the owner can stop it.
  EXPECT_EQ(Stop(first->supply_id(), "it-rej2").code(), absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(Stop(first->supply_id(), "it-rej").ok());
  ASSERT_TRUE(WaitForTicket(first->supply_id()).has_value());
}

TEST_F(CoreLoopTest, EngineKilledDuringSupplyEndsItWithATicketAndFaults) {
  BringUp("IT-FAULT", "it-fault");
  auto supply = Request("IT-FAULT", "it-fault");
  ASSERT_TRUE(supply.ok()) << supply.status();
  int64_t seen = WaitForEnergy(supply->supply_id(), 10);
  stack().engine("IT-FAULT").Kill();
  ASSERT_TRUE(stack().WaitForState("IT-FAULT", common::v1::CP_STATE_FAULTED));
  auto ticket = WaitForTicket(supply->supply_id());
  ASSERT_TRUE(ticket.has_value());
  EXPECT_EQ(ticket->end_reason(), common::v1::END_REASON_ENGINE_FAULT);
  EXPECT_GE(ticket->energy_wh(), seen);
  EXPECT_EQ(TicketRows(supply->supply_id()), 1);
  auto faulted = Request("IT-FAULT", "it-fault");
  EXPECT_EQ(faulted.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(faulted.status().message(), "FAULTED"));
  // Recovery: the engine comes back, the CP is ACTIVE again.
  stack().StartEngine("IT-FAULT");
  EXPECT_TRUE(stack().WaitForState("IT-FAULT", common::v1::CP_STATE_ACTIVE));
}

TEST_F(CoreLoopTest, MonitorKilledDisconnectsAndReturns) {
  BringUp("IT-MON");
  stack().monitor("IT-MON").Kill();
  ASSERT_TRUE(stack().WaitForState("IT-MON", common::v1::CP_STATE_DISCONNECTED, absl::Seconds(10)));
  EXPECT_EQ(Request("IT-MON", "it-ana").status().code(), absl::StatusCode::kFailedPrecondition);
  stack().StartMonitor("IT-MON");
  EXPECT_TRUE(stack().WaitForState("IT-MON", common::v1::CP_STATE_ACTIVE));
}

TEST_F(CoreLoopTest, OperatorStopDuringSupplyTicketsAndHoldsUntilResume) {
  BringUp("IT-OPS", "it-ops");
  auto supply = Request("IT-OPS", "it-ops");
  ASSERT_TRUE(supply.ok());
  WaitForEnergy(supply->supply_id(), 10);
  std::string out;
  ASSERT_EQ(stack().RunTool("evcctl", {"--central=" + stack().central_address(), "stop", "IT-OPS"}, &out), 0) << out;
  auto ticket = WaitForTicket(supply->supply_id());
  ASSERT_TRUE(ticket.has_value());
  EXPECT_EQ(ticket->end_reason(), common::v1::END_REASON_OPERATOR_STOP);
  ASSERT_TRUE(stack().WaitForState("IT-OPS", common::v1::CP_STATE_OUT_OF_SERVICE));
  EXPECT_EQ(Request("IT-OPS", "it-ops").status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(stack().RunTool("evcctl", {"--central=" + stack().central_address(), "resume", "IT-OPS"}, &out), 0) << out;
  EXPECT_TRUE(stack().WaitForState("IT-OPS", common::v1::CP_STATE_ACTIVE));
}

TEST_F(CoreLoopTest, CentralKilledDuringSupplyLosesNothing) {
  BringUp("IT-CRASH", "it-crash");
  auto supply = Request("IT-CRASH", "it-crash");
  ASSERT_TRUE(supply.ok());
  int64_t before = WaitForEnergy(supply->supply_id(), 20);
  ASSERT_TRUE(stack().RestartCentral().ok());
  // The monitor reconnects; the supply is still running and still growing.
  ASSERT_TRUE(stack().WaitForState("IT-CRASH", common::v1::CP_STATE_SUPPLYING));
  int64_t after = WaitForEnergy(supply->supply_id(), before + 20);
  EXPECT_GE(after, before + 20);
  ASSERT_TRUE(Stop(supply->supply_id(), "it-crash").ok());
  auto ticket = WaitForTicket(supply->supply_id());
  ASSERT_TRUE(ticket.has_value());
  EXPECT_EQ(ticket->end_reason(), common::v1::END_REASON_DRIVER_STOP);
  EXPECT_GE(ticket->energy_wh(), after);
  EXPECT_EQ(ticket->amount_millieuros(), central::AmountMillieuros(ticket->energy_wh(), 350));
  EXPECT_EQ(TicketRows(supply->supply_id()), 1);
}

TEST_F(CoreLoopTest, ReplayedOrForgedEngineMessagesAreRejectedAndApplyNothing) {
  BringUp("IT-DUP", "it-dup");
  auto supply = Request("IT-DUP", "it-dup");
  ASSERT_TRUE(supply.ok());
  int64_t seen = WaitForEnergy(supply->supply_id(), 30);
  auto producer = KafkaProducer::Create(stack().kafka(), "it-dup");
  ASSERT_TRUE(producer.ok());
  // An attacker on Kafka: a plain EngineEvent with a bogus figure, and one
  // sealed under a key of their own.
  events::v1::EngineEvent forged;
  forged.set_cp_id("IT-DUP");
  forged.mutable_telemetry()->set_supply_id(supply->supply_id());
  forged.mutable_telemetry()->set_seq(1'000'000);
  forged.mutable_telemetry()->set_energy_wh(999'999);
  ASSERT_TRUE((*producer)->Produce(topics::kEngineEvents, "IT-DUP", forged).ok());
  auto sealed = SealEnvelope(events::v1::SealedEnvelope::DIRECTION_ENGINE_TO_CENTRAL, "IT-DUP",
                             {"guessed", std::string(32, 'g')}, 1, forged.SerializeAsString());
  ASSERT_TRUE((*producer)->Produce(topics::kEngineEvents, "IT-DUP", *sealed).ok());
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(5)).ok());
  int64_t later = WaitForEnergy(supply->supply_id(), seen + 20);
  EXPECT_LT(later, 999'999);
  ASSERT_TRUE(Stop(supply->supply_id(), "it-dup").ok());
  auto ticket = WaitForTicket(supply->supply_id());
  ASSERT_TRUE(ticket.has_value());
  EXPECT_LT(ticket->energy_wh(), 999'999);
  EXPECT_TRUE(Stack::WaitFor([&] {
    return std::stoi(stack().Sql("SELECT count(*) FROM audit_events WHERE cp_id = 'IT-DUP' AND"
                                 " action = 'sealed_message_rejected' AND category = 'SECURITY'")) >= 2;
  }));
  EXPECT_EQ(stack().Sql("SELECT count(*) - count(DISTINCT seq) FROM supply_telemetry WHERE supply_id = '" +
                        supply->supply_id() + "'"),
            "0");
}

TEST_F(CoreLoopTest, BadInputIsRejectedClearlyAndLosesNothing) {
  BringUp("IT-BAD", "it-bad");
  auto producer = KafkaProducer::Create(stack().kafka(), "it-bad");
  ASSERT_TRUE(producer.ok());
  // Garbage on both topics central consumes, and a message under the wrong key.
  ASSERT_TRUE((*producer)->Produce(topics::kEngineEvents, "IT-BAD", std::string("\xff\xfe garbage", 10)).ok());
  ASSERT_TRUE((*producer)->Produce(topics::kChargeRequests, "IT-BAD", std::string("\x0a\xff\xff", 3)).ok());
  events::v1::EngineEvent wrong_key;
  wrong_key.set_cp_id("IT-LOOP");
  wrong_key.mutable_walk_in()->set_request_id("x");
  ASSERT_TRUE((*producer)->Produce(topics::kEngineEvents, "IT-BAD", wrong_key).ok());
  events::v1::EngineEvent unknown_cp;
  unknown_cp.set_cp_id("IT-GHOST");
  unknown_cp.mutable_walk_in()->set_request_id("y");
  ASSERT_TRUE((*producer)->Produce(topics::kEngineEvents, "IT-GHOST", unknown_cp).ok());
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(5)).ok());
  // None of them is sealed: each is refused and audited as a security event.
  EXPECT_TRUE(Stack::WaitFor([&] {
    return std::stoi(stack().Sql("SELECT count(*) FROM audit_events WHERE action = 'sealed_message_rejected'"
                                 " AND category = 'SECURITY'")) >= 3;
  }));
  // Central carries on: a normal charge still works.
  auto supply = Request("IT-BAD", "it-bad");
  ASSERT_TRUE(supply.ok()) << supply.status();
  ASSERT_TRUE(Stop(supply->supply_id(), "it-bad").ok());
  ASSERT_TRUE(WaitForTicket(supply->supply_id()).has_value());

  // Garbage on the monitor stream: Health before Register.
  {
    grpc::ClientContext context;
    auto stream = stack().central().MonitorLink(&context);
    central::v1::MonitorMessage health;
    health.mutable_health()->set_engine_ok(true);
    stream->Write(health);
    stream->WritesDone();
    central::v1::MonitorReply reply;
    while (stream->Read(&reply)) {}
    grpc::Status s = stream->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StrContains(s.error_message(), "Register"));
  }
  // A forged token.
  {
    grpc::ClientContext context;
    auto stream = stack().central().MonitorLink(&context);
    central::v1::MonitorMessage reg;
    reg.mutable_register_()->set_cp_id("IT-BAD");
    reg.mutable_register_()->set_token("forged");
    stream->Write(reg);
    central::v1::MonitorReply reply;
    while (stream->Read(&reply)) {}
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  // Bad credentials at auth.
  auth::v1::AuthenticateChargingPointRequest bad;
  bad.set_cp_id("IT-BAD");
  bad.set_secret("not-the-secret");
  auto refused = CallUnary(&auth::v1::AuthService::Stub::AuthenticateChargingPoint, stack().auth(), bad,
                           absl::Seconds(5));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  // The CP itself was never disturbed.
  EXPECT_EQ(stack().Status("IT-BAD")->state(), common::v1::CP_STATE_ACTIVE);
}

TEST_F(CoreLoopTest, DriverCliChargesOverKafkaAndPrintsTheTicket) {
  BringUp("IT-CLI", "it-cli");
  std::string out;
  const std::string password = "--password_file=" + stack().PasswordFile("it-cli");
  int code = stack().RunTool("evc-driver", {"--user=it-cli", password, "--cp=IT-CLI", "--stop_after=3s"}, &out);
  EXPECT_EQ(code, 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "ACCEPTED")) << out;
  EXPECT_TRUE(absl::StrContains(out, "kWh")) << out;
  EXPECT_TRUE(absl::StrContains(out, "TICKET")) << out;
  EXPECT_TRUE(absl::StrContains(out, "stopped by the driver")) << out;
  EXPECT_TRUE(absl::StrContains(out, "logged in as it-cli")) << out;
  code = stack().RunTool("evc-driver", {"--user=it-cli", password, "--cp=IT-NOWHERE"}, &out);
  EXPECT_EQ(code, 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "REJECTED")) << out;
  EXPECT_TRUE(absl::StrContains(out, "not registered")) << out;
}

TEST_F(CoreLoopTest, UnregisteredCpIsCutOffAndCannotAuthenticate) {
  BringUp("IT-GONE");
  std::string secret;
  std::ifstream(stack().dir() + "/IT-GONE.secret") >> secret;
  registry::v1::UnregisterChargingPointRequest r;
  r.set_cp_id("IT-GONE");
  ASSERT_TRUE(CallUnary(&registry::v1::RegistryService::Stub::UnregisterChargingPoint, stack().registry(),
                        r, absl::Seconds(5)).ok());
  EXPECT_TRUE(Stack::WaitFor([&] { return !stack().Status("IT-GONE").has_value(); }));
  auth::v1::AuthenticateChargingPointRequest a;
  a.set_cp_id("IT-GONE");
  a.set_secret(secret);
  auto refused = CallUnary(&auth::v1::AuthService::Stub::AuthenticateChargingPoint, stack().auth(), a,
                           absl::Seconds(5));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  // Its keys are revoked.
  EXPECT_TRUE(Stack::WaitFor([&] {
    return stack().Sql("SELECT count(*) FROM cp_keys WHERE cp_id = 'IT-GONE' AND revoked_at IS NULL") == "0";
  }));
}

TEST_F(CoreLoopTest, EveryServiceAnswersReflectionIncludingHealth) {
  const char* src = std::getenv("EVC_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  for (const std::string& address : {stack().registry_address(), stack().auth_address(),
                                     stack().central_address()}) {
    std::string out;
    std::string cmd = std::string("node ") + src + "/tests/reflection/list_services.js " + address + " 2>&1";
    FILE* pipe = popen(cmd.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
    EXPECT_EQ(pclose(pipe), 0) << out;
    EXPECT_TRUE(absl::StrContains(out, "grpc.health.v1.Health")) << address << ": " << out;
    EXPECT_TRUE(absl::StrContains(out, "grpc.reflection.v1alpha.ServerReflection")) << out;
    EXPECT_TRUE(absl::StrContains(out, "evc.")) << out;
  }
}

// ---- identity: accounts, tokens, roles, CP keys, audit ----

TEST_F(CoreLoopTest, SignUpLoginChargeAndTheTokenRules) {
  BringUp("IT-ID", "it-alice");
  ASSERT_TRUE(stack().AddDriver("it-bob").ok());
  auto supply = Request("IT-ID", "it-alice");
  ASSERT_TRUE(supply.ok()) << supply.status();
  // Bob, with a valid token of his own, can neither stop nor see Alice's supply.
  EXPECT_EQ(Stop(supply->supply_id(), "it-bob").code(), absl::StatusCode::kPermissionDenied);
  central::v1::GetSupplyRequest get;
  get.set_supply_id(supply->supply_id());
  EXPECT_EQ(CallUnary(&CentralService::Stub::GetSupply, *LoopClient(stack()).As("it-bob"), get,
                      absl::Seconds(5)).status().code(),
            absl::StatusCode::kPermissionDenied);
  // A driver's token is not an operator's.
  central::v1::OperatorRequest op;
  op.set_cp_id("IT-ID");
  auto denied = CallUnary(&CentralService::Stub::StopChargingPoints, *LoopClient(stack()).As("it-bob"), op,
                          absl::Seconds(5));
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied) << denied.status();
  ASSERT_TRUE(Stop(supply->supply_id(), "it-alice").ok());
  auto ticket = WaitForTicket(supply->supply_id());
  ASSERT_TRUE(ticket.has_value());
  EXPECT_EQ(ticket->driver_id(), "it-alice");

  // Logged out: the same access token is refused everywhere.
  const std::string token = stack().driver("it-bob").AccessToken();
  ASSERT_TRUE(stack().driver("it-bob").Logout().ok());
  auto revoked = CentralService::NewStub(MakeChannel(stack().central_address(), [token] { return token; },
                                                     &stack().client_tls()));
  central::v1::RequestChargeRequest r;
  r.set_cp_id("IT-ID");
  EXPECT_TRUE(Stack::WaitFor([&] {
    return CallUnary(&CentralService::Stub::RequestCharge, *revoked, r, absl::Seconds(5)).status().code() ==
           absl::StatusCode::kUnauthenticated;
  }));
  // A tampered token (role flipped in the payload) is refused.
  std::string forged = stack().driver("it-alice").AccessToken();
  forged[forged.find('.') + 5] ^= 1;
  auto tampered = CentralService::NewStub(MakeChannel(stack().central_address(), [forged] { return forged; },
                                                      &stack().client_tls()));
  EXPECT_EQ(CallUnary(&CentralService::Stub::RequestCharge, *tampered, r, absl::Seconds(5)).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(CoreLoopTest, RepeatedFailedLoginsLockTheAccountAndAreAudited) {
  ASSERT_TRUE(stack().AddDriver("it-locked").ok());
  for (int i = 0; i < 5; ++i) {
    auto refused = ClientSession::Login(stack().auth_address(), "it-locked", "wrong-guess-" + std::to_string(i),
                                        &stack().client_tls());
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  }
  auto locked = ClientSession::Login(stack().auth_address(), "it-locked", Stack::kDriverPassword,
                                     &stack().client_tls());
  EXPECT_EQ(locked.status().code(), absl::StatusCode::kResourceExhausted) << locked.status();
  EXPECT_TRUE(absl::StrContains(locked.status().message(), "try again")) << locked.status();
  EXPECT_TRUE(Stack::WaitFor([&] {
    return stack().Sql("SELECT count(*) FROM audit_events WHERE category = 'SECURITY' AND"
                       " action = 'login_failed' AND actor = 'it-locked'") == "5";
  }));
}

TEST_F(CoreLoopTest, KeyRotationDuringASupplyDoesNotBreakIt) {
  BringUp("IT-ROT", "it-rot");
  const std::string old_key =
      stack().Sql("SELECT key_id FROM cp_keys WHERE cp_id = 'IT-ROT' AND revoked_at IS NULL");
  auto supply = Request("IT-ROT", "it-rot");
  ASSERT_TRUE(supply.ok());
  int64_t before = WaitForEnergy(supply->supply_id(), 20);
  std::string out;
  ASSERT_EQ(stack().RunTool("evcctl", {"rotate-key", "IT-ROT", "--grace=30s"}, &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "new key")) << out;
  // Central cut the link; the monitor logged in again and handed the new key
  // to its engine, which now seals with it. The supply goes on meanwhile.
  EXPECT_TRUE(Stack::WaitFor([&] {
    std::ifstream log(stack().engine("IT-ROT").log_path());
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    return absl::StrContains(text, "key rotated by the monitor");
  }));
  int64_t after = WaitForEnergy(supply->supply_id(), before + 40);
  EXPECT_GE(after, before + 40);
  EXPECT_EQ(stack().Status("IT-ROT")->state(), common::v1::CP_STATE_SUPPLYING);
  ASSERT_TRUE(Stop(supply->supply_id(), "it-rot").ok());
  auto ticket = WaitForTicket(supply->supply_id());
  ASSERT_TRUE(ticket.has_value());
  EXPECT_EQ(ticket->end_reason(), common::v1::END_REASON_DRIVER_STOP);
  EXPECT_GE(ticket->energy_wh(), after);
  // Nothing the engine sent was refused along the way.
  EXPECT_EQ(stack().Sql("SELECT count(*) FROM audit_events WHERE cp_id = 'IT-ROT' AND"
                        " action = 'sealed_message_rejected'"),
            "0");
  EXPECT_NE(stack().Sql("SELECT key_id FROM cp_keys WHERE cp_id = 'IT-ROT' AND not_after IS NULL"), old_key);
}

TEST_F(CoreLoopTest, RevokedCpIsCutOffAndItsMessagesAreRejectedAndAudited) {
  BringUp("IT-REV", "it-rev");
  auto supply = Request("IT-REV", "it-rev");
  ASSERT_TRUE(supply.ok());
  WaitForEnergy(supply->supply_id(), 10);
  std::string out;
  ASSERT_EQ(stack().RunTool("evcctl", {"revoke-cp", "IT-REV"}, &out), 0) << out;
  // The link is cut, the monitor cannot log in again, and what the engine
  // still sends under its dead key is refused.
  EXPECT_TRUE(Stack::WaitFor([&] {
    return std::stoi(stack().Sql("SELECT count(*) FROM audit_events WHERE cp_id = 'IT-REV' AND"
                                 " action = 'cp_link_cut_revoked'")) >= 1;
  }));
  EXPECT_TRUE(Stack::WaitFor([&] {
    return std::stoi(stack().Sql("SELECT count(*) FROM audit_events WHERE cp_id = 'IT-REV' AND"
                                 " action = 'sealed_message_rejected' AND category = 'SECURITY'")) >= 1;
  }));
  EXPECT_TRUE(stack().WaitForState("IT-REV", common::v1::CP_STATE_DISCONNECTED));
  EXPECT_TRUE(Stack::WaitFor([&] {
    return std::stoi(stack().Sql("SELECT count(*) FROM audit_events WHERE cp_id = 'IT-REV' AND"
                                 " action = 'cp_auth_failed' AND outcome = 'REJECTED'")) >= 1;
  }));
  // The supply does not survive on a revoked CP: it ends with a ticket.
  auto ticket = WaitForTicket(supply->supply_id(), absl::Seconds(30));
  ASSERT_TRUE(ticket.has_value());
}

TEST_F(CoreLoopTest, OperatorSeesEveryStepOfASupplyInTheAuditTrail) {
  BringUp("IT-AUD", "it-aud");
  auto supply = Request("IT-AUD", "it-aud");
  ASSERT_TRUE(supply.ok());
  WaitForEnergy(supply->supply_id(), 10);
  ASSERT_TRUE(Stop(supply->supply_id(), "it-aud").ok());
  ASSERT_TRUE(WaitForTicket(supply->supply_id()).has_value());
  EXPECT_EQ(Request("IT-AUD", "nobody").status().code(), absl::StatusCode::kUnauthenticated);
  std::string out;
  EXPECT_TRUE(Stack::WaitFor([&] {
    stack().RunTool("evcctl", {"audit", "--cp=IT-AUD", "--limit=200"}, &out);
    return absl::StrContains(out, "CHARGE") && absl::StrContains(out, "cp_registered") &&
           absl::StrContains(out, "cp_authenticated") && absl::StrContains(out, "supply_ended") &&
           absl::StrContains(out, "charge_request_refused");
  })) << out;
  // Not for drivers.
  central::v1::ListAuditEventsRequest q;
  EXPECT_EQ(CallUnary(&CentralService::Stub::ListAuditEvents, *LoopClient(stack()).As("it-aud"), q,
                      absl::Seconds(5)).status().code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace evc::testing
