// Hostile Kafka clients (issue 15, point 5): the single-machine broker has no
// authentication, so anyone who reaches it may read every topic and produce
// to every topic. Nothing read there may be a reusable credential or a
// driver's ticket, and nothing produced there may act in a driver's, the
// registry's or auth's name.

#include <fstream>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "evc/events/v1/events.pb.h"
#include "services/common/crypto.h"
#include "services/common/grpc_util.h"
#include "services/common/kafka.h"
#include "services/common/proto_time.h"
#include "tests/integration/loop_client.h"
#include "tests/integration/stack.h"

namespace evc::testing {
namespace {

using common::v1::CpState;

class HostileKafkaTest : public StackSuite<HostileKafkaTest> {
 public:
  static Stack::Options StackOptions() { return {}; }

 protected:
  // A broker client nobody authenticated.
  std::unique_ptr<KafkaProducer> Intruder() {
    auto producer = KafkaProducer::Create(stack().kafka(), "intruder");
    EXPECT_TRUE(producer.ok()) << producer.status();
    return producer.ok() ? std::move(*producer) : nullptr;
  }
  void Produce(const std::string& topic, const std::string& key, const google::protobuf::Message& m) {
    auto producer = Intruder();
    ASSERT_NE(producer, nullptr);
    ASSERT_TRUE(producer->Produce(topic, key, m).ok());
    ASSERT_TRUE(producer->Flush(absl::Seconds(10)).ok());
  }
  int AuditRows(const std::string& action, const std::string& cp_id) {
    const std::string n = stack().Sql("SELECT count(*) FROM audit_events WHERE action = '" + action +
                                      "' AND cp_id = '" + cp_id + "'");
    return n.empty() ? -1 : std::stoi(n);
  }
  // Waits `settle` and reports whether `cp_id` is still ACTIVE with no supply.
  bool StaysIdle(const std::string& cp_id, absl::Duration settle = absl::Seconds(6)) {
    const absl::Time end = absl::Now() + settle;
    while (absl::Now() < end) {
      auto st = stack().Status(cp_id);
      if (!st || st->has_supply() || st->state() == common::v1::CP_STATE_SUPPLYING) return false;
      absl::SleepFor(absl::Milliseconds(250));
    }
    return true;
  }
  // Every message on `topic` from now until `run` returns plus a moment.
  std::vector<KafkaMessage> Capture(const std::string& topic, const std::function<void()>& run) {
    auto tail = TopicTail::Open(stack().kafka(), topic, absl::Seconds(20));
    EXPECT_TRUE(tail.ok()) << tail.status();
    if (!tail.ok()) return {};
    run();
    std::vector<KafkaMessage> seen;
    const absl::Time end = absl::Now() + absl::Seconds(3);
    while (absl::Now() < end) {
      if (auto m = (*tail)->Next(absl::Milliseconds(200))) seen.push_back(std::move(*m));
    }
    return seen;
  }
};

// The driver's bearer access token, produced on the charge-request topic by
// someone who read it there (or stole it elsewhere), does not charge.
TEST_F(HostileKafkaTest, AccessTokenOnKafkaIsNotAChargeRequest) {
  ASSERT_NO_FATAL_FAILURE(LoopClient(stack()).BringUp("HK-TOKEN", "hk-ana"));
  events::v1::ChargeRequest r;
  r.set_request_id(crypto::RandomId());
  r.set_cp_id("HK-TOKEN");
  r.set_driver_id("hk-ana");
  *r.mutable_requested_at() = ToProto(absl::Now());
  r.set_access_token(stack().driver("hk-ana").AccessToken());
  ASSERT_NO_FATAL_FAILURE(Produce(topics::kChargeRequests, "HK-TOKEN", r));
  EXPECT_TRUE(StaysIdle("HK-TOKEN")) << "a bearer token on Kafka started a supply";
  EXPECT_TRUE(Stack::WaitFor([&] { return AuditRows("charge_request_refused", "HK-TOKEN") >= 1; }))
      << "the refusal was not audited";
}

// A charge assertion is good for its own CP and request, once.
TEST_F(HostileKafkaTest, AssertionIsSingleUseAndBoundToItsCp) {
  ASSERT_NO_FATAL_FAILURE(LoopClient(stack()).BringUp("HK-ASSERT", "hk-bea"));
  auto auth = auth::v1::AuthService::NewStub(
      MakeChannel(stack().auth_address(), stack().driver("hk-bea").Bearer(), &stack().client_tls()));
  auto assertion_for = [&](const std::string& cp, const std::string& request_id) {
    auth::v1::IssueChargeAssertionRequest ask;
    ask.set_cp_id(cp);
    ask.set_request_id(request_id);
    auto a = CallUnary(&auth::v1::AuthService::Stub::IssueChargeAssertion, *auth, ask, absl::Seconds(5));
    EXPECT_TRUE(a.ok()) << a.status();
    events::v1::ChargeRequest r;
    r.set_request_id(request_id);
    r.set_cp_id("HK-ASSERT");
    r.set_driver_id("hk-bea");
    *r.mutable_requested_at() = ToProto(absl::Now());
    if (a.ok()) r.set_assertion(a->assertion());
    return r;
  };
  auto refusals = [&](const std::string& like) {
    return stack().Sql("SELECT count(*) FROM audit_events WHERE action = 'charge_request_refused'"
                       " AND cp_id = 'HK-ASSERT' AND details->>'reason' LIKE '%" + like + "%'");
  };
  // Asked for another CP.
  ASSERT_NO_FATAL_FAILURE(Produce(topics::kChargeRequests, "HK-ASSERT", assertion_for("HK-ELSEWHERE", "hk-r1")));
  EXPECT_TRUE(StaysIdle("HK-ASSERT")) << "an assertion for another CP started a supply";
  EXPECT_TRUE(Stack::WaitFor([&] { return refusals("not for this request") == "1"; }));
  // The genuine one charges...
  const events::v1::ChargeRequest genuine = assertion_for("HK-ASSERT", "hk-r2");
  ASSERT_NO_FATAL_FAILURE(Produce(topics::kChargeRequests, "HK-ASSERT", genuine));
  ASSERT_TRUE(Stack::WaitFor([&] {
    auto st = stack().Status("HK-ASSERT");
    return st && st->has_supply();
  })) << "a genuine assertion did not charge";
  const std::string supply_id = stack().Status("HK-ASSERT")->supply().supply_id();
  ASSERT_TRUE(LoopClient(stack()).Stop(supply_id, "hk-bea").ok());
  ASSERT_TRUE(LoopClient(stack()).WaitForTicket(supply_id).has_value());
  ASSERT_TRUE(stack().WaitForState("HK-ASSERT", common::v1::CP_STATE_ACTIVE));
  // ...once: the same message again is a replay.
  ASSERT_NO_FATAL_FAILURE(Produce(topics::kChargeRequests, "HK-ASSERT", genuine));
  EXPECT_TRUE(StaysIdle("HK-ASSERT")) << "a replayed assertion started a supply";
  EXPECT_TRUE(Stack::WaitFor([&] { return refusals("already used") == "1"; })) << "the replay was not refused";
}

// The real driver CLI still charges over Kafka, and a reader of both topics
// sees neither its token nor its ticket.
TEST_F(HostileKafkaTest, DriverCliWorksAndTopicsShowNoTokenOrTicket) {
  ASSERT_NO_FATAL_FAILURE(LoopClient(stack()).BringUp("HK-CLI", "hk-cli"));
  std::string out;
  int code = 0;
  std::vector<KafkaMessage> requests;
  std::vector<KafkaMessage> notices = Capture(topics::kDriverNotifications, [&] {
    requests = Capture(topics::kChargeRequests, [&] {
      code = stack().RunTool("evc-driver", {"--user=hk-cli", "--password_file=" + stack().PasswordFile("hk-cli"),
                                            "--cp=HK-CLI", "--stop_after=3s"}, &out);
    });
  });
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(absl::StrContains(out, "TICKET")) << out;
  central::v1::ListTicketsRequest list;
  list.set_driver_id("hk-cli");
  auto tickets = CallUnary(&central::v1::CentralService::Stub::ListTickets,
                           *stack().CentralAs(stack().driver("hk-cli")), list, absl::Seconds(5));
  ASSERT_TRUE(tickets.ok()) << tickets.status();
  ASSERT_FALSE(tickets->tickets().empty());
  const std::string supply_id = tickets->tickets(0).supply_id();
  ASSERT_TRUE(absl::StrContains(out, supply_id)) << out;

  ASSERT_FALSE(requests.empty()) << "the CLI sent nothing on " << topics::kChargeRequests;
  for (const KafkaMessage& m : requests) {
    events::v1::ChargeRequest r;
    ASSERT_TRUE(r.ParseFromString(m.payload));
    EXPECT_TRUE(r.access_token().empty()) << "a bearer access token travels on Kafka";
    // No JWT of any kind (a header is base64url of '{"alg"...').
    EXPECT_FALSE(absl::StrContains(m.payload, "eyJ")) << "a JWT travels on Kafka";
  }
  int for_driver = 0;
  for (const KafkaMessage& m : notices) {
    if (m.key != "hk-cli") continue;
    ++for_driver;
    EXPECT_FALSE(absl::StrContains(m.payload, supply_id)) << "notification readable by any broker client";
    EXPECT_FALSE(absl::StrContains(m.payload, "HK-CLI")) << "notification readable by any broker client";
    events::v1::DriverNotification n;
    EXPECT_FALSE(n.ParseFromString(m.payload) &&
                 (n.ticket().supply_id() == supply_id || n.accepted().supply_id() == supply_id))
        << "a plaintext DriverNotification on Kafka";
  }
  EXPECT_GT(for_driver, 0) << "the CLI got its answers some other way?";
}

// A forged "registered" registry event does not lift an operator's
// revocation in auth, nor bring an unregistered CP back into central.
TEST_F(HostileKafkaTest, ForgedRegistryEventChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(LoopClient(stack()).BringUp("HK-REVOKED"));
  std::string secret;
  std::ifstream(stack().dir() + "/HK-REVOKED.secret") >> secret;
  ASSERT_FALSE(secret.empty());
  auth::v1::RevokeChargingPointRequest revoke;
  revoke.set_cp_id("HK-REVOKED");
  ASSERT_TRUE(CallUnary(&auth::v1::AuthService::Stub::RevokeChargingPoint, stack().auth(), revoke,
                        absl::Seconds(5)).ok());
  ASSERT_TRUE(stack().RegisterCp("HK-GONE").ok());
  registry::v1::UnregisterChargingPointRequest gone;
  gone.set_cp_id("HK-GONE");
  ASSERT_TRUE(CallUnary(&registry::v1::RegistryService::Stub::UnregisterChargingPoint, stack().registry(),
                        gone, absl::Seconds(5)).ok());
  ASSERT_TRUE(Stack::WaitFor([&] { return !stack().Status("HK-GONE").has_value(); }));

  for (const char* cp : {"HK-REVOKED", "HK-GONE"}) {
    events::v1::RegistryEvent forged;
    forged.set_cp_id(cp);
    *forged.mutable_at() = ToProto(absl::Now());
    forged.mutable_registered()->set_cp_id(cp);
    forged.mutable_registered()->mutable_location()->set_city("Alicante");
    forged.mutable_registered()->set_price_millieuros_per_kwh(1);
    ASSERT_NO_FATAL_FAILURE(Produce(topics::kRegistryEvents, cp, forged));
  }
  // What the forgery would have done shows within a few seconds.
  absl::SleepFor(absl::Seconds(5));
  EXPECT_FALSE(stack().Status("HK-GONE").has_value()) << "a forged event re-registered a removed CP";
  auth::v1::AuthenticateChargingPointRequest login;
  login.set_cp_id("HK-REVOKED");
  login.set_secret(secret);
  auto again = CallUnary(&auth::v1::AuthService::Stub::AuthenticateChargingPoint, stack().auth(), login,
                         absl::Seconds(5));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kPermissionDenied)
      << "a forged event lifted a revocation: " << again.status();
}

// A forged "CP revoked" auth event does not drop a live CP's keys nor cut it.
TEST_F(HostileKafkaTest, ForgedAuthEventChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(LoopClient(stack()).BringUp("HK-KEYS", "hk-keys"));
  events::v1::AuthEvent forged;
  *forged.mutable_at() = ToProto(absl::Now());
  forged.mutable_cp_revoked()->set_cp_id("HK-KEYS");
  forged.mutable_cp_revoked()->set_reason("forged");
  ASSERT_NO_FATAL_FAILURE(Produce(topics::kAuthEvents, "HK-KEYS", forged));
  absl::SleepFor(absl::Seconds(5));
  EXPECT_EQ(AuditRows("cp_link_cut_revoked", "HK-KEYS"), 0) << "a forged event cut a CP's link";
  // The CP still charges: its keys are intact.
  auto supply = LoopClient(stack()).Request("HK-KEYS", "hk-keys");
  ASSERT_TRUE(supply.ok()) << supply.status();
  EXPECT_GT(LoopClient(stack()).WaitForEnergy(supply->supply_id(), 10), 0);
}

}  // namespace
}  // namespace evc::testing
