// Hostile input against central's durability (issue 15, point 2): one request
// or record Postgres refuses must not freeze the journal. An anonymous token
// with a NUL in its JOSE header, Kafka keys with NUL or invalid UTF-8, a
// supply completed and a new one opened on the same CP in one batch: after
// each, a driver still charges within seconds, an operator command works, and
// SIGTERM still stops central within its drain timeout.

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "evc/events/v1/events.pb.h"
#include "services/central/journal.h"
#include "services/central/pg_supply_store.h"
#include "services/common/audit.h"
#include "services/common/crypto.h"
#include "services/common/kafka.h"
#include "services/common/postgres.h"
#include "services/common/proto_time.h"
#include "tests/integration/loop_client.h"
#include "tests/integration/stack.h"

namespace evc::testing {
namespace {

using central::v1::CentralService;

// A token whose header decodes to {"alg":"\u0000",...}: refused by the verifier,
// and the refusal (with the algorithm in its reason) is audited.
std::string NulAlgToken() {
  const std::string header = R"({"alg":"\u0000","typ":"JWT","kid":"k\u0000"})";
  const std::string payload = R"({"sub":"hostile\u0000","role":"driver"})";
  return absl::StrCat(crypto::Base64Url(header), ".", crypto::Base64Url(payload), ".",
                      crypto::Base64Url("not a signature"));
}

class HostileDurabilityTest : public StackSuite<HostileDurabilityTest> {
 public:
  static Stack::Options StackOptions() { return {}; }

 protected:
  // A driver's charge at an ACTIVE CP, accepted within a few seconds, then stopped.
  void ExpectChargeServed(const std::string& cp, const std::string& driver) {
    LoopClient loop(stack());
    const absl::Time asked = absl::Now();
    central::v1::RequestChargeRequest r;
    r.set_cp_id(cp);
    r.set_driver_id(driver);
    auto resp =
        CallUnary(&CentralService::Stub::RequestCharge, *loop.As(driver), r, absl::Seconds(5));
    ASSERT_TRUE(resp.ok()) << "a normal charge after hostile input: " << resp.status();
    EXPECT_LT(absl::Now() - asked, absl::Seconds(5));
    ASSERT_TRUE(loop.Stop(resp->supply().supply_id(), driver).ok());
    ASSERT_TRUE(loop.WaitForTicket(resp->supply().supply_id()).has_value());
    ASSERT_TRUE(stack().WaitForState(cp, common::v1::CP_STATE_ACTIVE));
  }

  // An operator stop and resume of `cp` answer within a few seconds.
  void ExpectOperatorServed(const std::string& cp) {
    central::v1::OperatorRequest r;
    r.set_cp_id(cp);
    auto stopped = CallUnary(&CentralService::Stub::StopChargingPoints, stack().central(), r,
                             absl::Seconds(5));
    ASSERT_TRUE(stopped.ok()) << stopped.status();
    auto resumed = CallUnary(&CentralService::Stub::ResumeChargingPoints, stack().central(), r,
                             absl::Seconds(5));
    ASSERT_TRUE(resumed.ok()) << resumed.status();
  }

  // A charging supply of `cp` and its ticket, for writing batches straight to the store.
  static central::SupplyRecord BatchSupply(const std::string& id, const std::string& cp) {
    central::SupplyRecord s;
    s.supply_id = id;
    s.cp_id = cp;
    s.driver_id = "hd-batch";
    s.request_id = id;
    s.phase = common::v1::SUPPLY_PHASE_CHARGING;
    s.authorized_at = BatchTime();
    s.started_at = BatchTime();
    s.price_millieuros_per_kwh = 350;
    return s;
  }
  static common::v1::Ticket BatchTicket(const std::string& id, const std::string& cp) {
    common::v1::Ticket t;
    t.set_supply_id(id);
    t.set_cp_id(cp);
    t.set_driver_id("hd-batch");
    *t.mutable_started_at() = ToProto(BatchTime());
    *t.mutable_ended_at() = ToProto(BatchTime() + absl::Seconds(5));
    t.set_energy_wh(50);
    t.set_amount_millieuros(18);
    t.set_price_millieuros_per_kwh(350);
    t.set_end_reason(common::v1::END_REASON_DRIVER_STOP);
    return t;
  }
  static absl::Time BatchTime() {
    static const absl::Time at = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
    return at;
  }

  static std::unique_ptr<KafkaProducer> Producer() {
    auto p = KafkaProducer::Create(stack().kafka(), "hostile-durability");
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? std::move(*p) : nullptr;
  }
};

TEST_F(HostileDurabilityTest, NulInTokenHeaderDoesNotFreezeTheJournal) {
  ASSERT_NO_FATAL_FAILURE(LoopClient(stack()).BringUp("HD-NUL", "hd-nul"));
  const std::string token = NulAlgToken();
  auto anonymous = CentralService::NewStub(MakeChannel(
      stack().central_address(), [token] { return token; }, &stack().client_tls()));
  central::v1::RequestChargeRequest r;
  r.set_cp_id("HD-NUL");
  auto refused = CallUnary(&CentralService::Stub::RequestCharge, *anonymous, r, absl::Seconds(5));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated) << refused.status();
  ASSERT_NO_FATAL_FAILURE(ExpectChargeServed("HD-NUL", "hd-nul"));
  ASSERT_NO_FATAL_FAILURE(ExpectOperatorServed("HD-NUL"));
  // The refusal is in the trail (its NUL made visible, not the transaction lost).
  EXPECT_TRUE(Stack::WaitFor(
      [&] {
        return stack().Sql(
                   "SELECT count(*) FROM audit_events WHERE action = 'charge_request_refused'"
                   " AND cp_id = 'HD-NUL' AND actor = 'anonymous'") != "0";
      },
      absl::Seconds(10)));
}

TEST_F(HostileDurabilityTest, HostileKafkaKeysDoNotFreezeTheJournal) {
  ASSERT_NO_FATAL_FAILURE(LoopClient(stack()).BringUp("HD-KEYS", "hd-keys"));
  auto producer = Producer();
  ASSERT_NE(producer, nullptr);
  const std::vector<std::string> keys = {std::string("HD\0KEY", 6), "HD-\xff\xfe", "\xc3\x28",
                                         std::string(1, '\0'), std::string(5000, 'K') + "\x80"};
  for (const std::string& key : keys) {
    // A charge request whose CP id is its key, so it reaches the token check.
    events::v1::ChargeRequest request;
    request.set_request_id(key);
    request.set_cp_id(key);
    request.set_driver_id(key);
    request.set_access_token(NulAlgToken());
    ASSERT_TRUE(producer->Produce(topics::kChargeRequests, key, request).ok());
    // Not a sealed envelope: refused and audited under the key.
    ASSERT_TRUE(producer->Produce(topics::kEngineEvents, key, std::string("\0\xff junk", 7)).ok());
    ASSERT_TRUE(producer->Produce(topics::kRegistryEvents, key, key).ok());
    ASSERT_TRUE(producer->Produce(topics::kAuthEvents, key, key).ok());
  }
  ASSERT_TRUE(producer->Flush(absl::Seconds(10)).ok());
  // The records are consumed (the sealed rejection of the first key is audited).
  EXPECT_TRUE(Stack::WaitFor(
      [&] {
        return stack().Sql(
                   "SELECT count(*) FROM audit_events WHERE action = 'sealed_message_rejected'"
                   " AND cp_id LIKE 'HD%KEY'") != "0";
      },
      absl::Seconds(15)));
  ASSERT_NO_FATAL_FAILURE(ExpectChargeServed("HD-KEYS", "hd-keys"));
  ASSERT_NO_FATAL_FAILURE(ExpectOperatorServed("HD-KEYS"));
}

// The close of a supply and a new supply on the same CP in one transaction
// (the one-open-supply-per-CP index), against the stack's Postgres.
TEST_F(HostileDurabilityTest, CompletedAndNewSupplyOfOneCpInOneBatch) {
  auto pool = PgPool::Connect(stack().postgres_url(), 1, absl::Seconds(10));
  ASSERT_TRUE(pool.ok()) << pool.status();
  central::PgSupplyStore store(**pool);
  auto supply = [](const std::string& id) { return BatchSupply(id, "HD-BATCH"); };
  auto ticket = [](const std::string& id) { return BatchTicket(id, "HD-BATCH"); };
  central::JournalBatch first;
  first.opened.push_back(supply("hd-batch-1"));
  ASSERT_TRUE(store.Write(first).ok());
  // Completed + next on the same CP; and one opened and completed at once
  // before a third opens (all in one batch).
  central::JournalBatch second;
  second.opened.push_back(supply("hd-batch-2"));
  second.opened.push_back(supply("hd-batch-3"));
  second.tickets.push_back(ticket("hd-batch-1"));
  second.tickets.push_back(ticket("hd-batch-2"));
  absl::Status written = store.Write(second);
  ASSERT_TRUE(written.ok()) << written;
  EXPECT_EQ(stack().Sql("SELECT string_agg(supply_id, ',' ORDER BY supply_id) FROM supplies"
                        " WHERE cp_id = 'HD-BATCH' AND ended_at IS NULL"),
            "hd-batch-3");
  EXPECT_EQ(stack().Sql("SELECT count(*) FROM tickets WHERE cp_id = 'HD-BATCH'"), "2");
}

// The telemetry applied in the batch that also closes its supply (the journal
// closes first) is kept: the closed row takes its sequence, the ticket's energy stays.
TEST_F(HostileDurabilityTest, ProgressInTheBatchThatClosesASupplyIsKept) {
  auto pool = PgPool::Connect(stack().postgres_url(), 1, absl::Seconds(10));
  ASSERT_TRUE(pool.ok()) << pool.status();
  central::PgSupplyStore store(**pool);
  central::JournalBatch first;
  first.opened.push_back(BatchSupply("hd-close-1", "HD-CLOSE"));
  ASSERT_TRUE(store.Write(first).ok());
  central::JournalBatch last;
  central::SupplyRecord progress = BatchSupply("hd-close-1", "HD-CLOSE");
  progress.last_seq = 7;
  progress.energy_wh = 40;
  last.changed.push_back(progress);
  last.tickets.push_back(BatchTicket("hd-close-1", "HD-CLOSE"));
  absl::Status written = store.Write(last);
  ASSERT_TRUE(written.ok()) << written;
  EXPECT_EQ(stack().Sql("SELECT concat_ws(',', phase, energy_wh, last_seq, ended_at IS NOT NULL)"
                        " FROM supplies WHERE supply_id = 'hd-close-1'"),
            "SUPPLY_PHASE_ENDED,50,7,t");
  EXPECT_EQ(stack().Sql("SELECT count(*) FROM supply_telemetry WHERE supply_id = 'hd-close-1'"),
            "1");
}

// The charger's meterStart (OCPP) is kept with its supply and comes back with
// it after a restart: a restarted gateway bills the rest from it.
TEST_F(HostileDurabilityTest, AMeterStartSurvivesWithItsSupply) {
  auto pool = PgPool::Connect(stack().postgres_url(), 1, absl::Seconds(10));
  ASSERT_TRUE(pool.ok()) << pool.status();
  central::PgSupplyStore store(**pool);
  central::JournalBatch opened;
  opened.opened.push_back(BatchSupply("hd-meter-1", "HD-METER"));
  ASSERT_TRUE(store.Write(opened).ok());
  central::JournalBatch started;
  central::SupplyRecord charging = BatchSupply("hd-meter-1", "HD-METER");
  charging.phase = common::v1::SUPPLY_PHASE_CHARGING;
  charging.meter_start_wh = 123456;
  started.changed.push_back(charging);
  ASSERT_TRUE(store.Write(started).ok());
  auto open = store.LoadOpenSupplies();
  ASSERT_TRUE(open.ok()) << open.status();
  bool found = false;
  for (const central::SupplyRecord& s : *open) {
    if (s.supply_id != "hd-meter-1") continue;
    found = true;
    EXPECT_EQ(s.meter_start_wh, 123456);
  }
  EXPECT_TRUE(found);
}

// A row Postgres refuses even sanitised (a ticket of a supply it never saw) is
// quarantined where an operator sees it; the rest of its batch commits.
TEST_F(HostileDurabilityTest, ARefusedRowIsQuarantinedAndShownToOperators) {
  auto pool = PgPool::Connect(stack().postgres_url(), 1, absl::Seconds(10));
  ASSERT_TRUE(pool.ok()) << pool.status();
  central::PgSupplyStore store(**pool);
  central::Journal journal(store);
  central::JournalBatch batch;
  common::v1::Ticket ghost;
  ghost.set_supply_id("hd-ghost");
  ghost.set_cp_id("HD-GHOST");
  *ghost.mutable_started_at() = ToProto(absl::Now());
  *ghost.mutable_ended_at() = ToProto(absl::Now());
  batch.tickets.push_back(ghost);
  batch.audit.push_back({absl::Now(),
                         AuditCategory::kSecurity,
                         "hd_kept",
                         std::string("a\0b", 3),
                         "HD-\xff",
                         "REJECTED",
                         {{std::string("k\0", 2), "\xc3\x28"}},
                         "test"});
  absl::Notification durable;
  journal.Submit(std::move(batch), [&] { durable.Notify(); });
  ASSERT_TRUE(durable.WaitForNotificationWithTimeout(absl::Seconds(10)));
  journal.Stop();
  EXPECT_EQ(journal.quarantined(), 1);
  EXPECT_EQ(stack().Sql("SELECT count(*) FROM audit_events WHERE action = 'hd_kept'"), "1");
  EXPECT_EQ(stack().Sql("SELECT kind || ' ' || cp_id FROM journal_quarantine"
                        " WHERE payload->'tickets'->0->>'supplyId' = 'hd-ghost'"),
            "ticket HD-GHOST");
  central::v1::ListAuditEventsRequest q;
  q.set_category("ERROR");
  q.set_cp_id("HD-GHOST");
  auto events =
      CallUnary(&CentralService::Stub::ListAuditEvents, stack().central(), q, absl::Seconds(5));
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->events_size(), 1);
  EXPECT_EQ(events->events(0).action(), "write_quarantined");
  EXPECT_EQ(events->events(0).outcome(), "QUARANTINED");
  EXPECT_TRUE(absl::StrContains(events->events(0).details_json(), "foreign key"))
      << events->events(0).details_json();
}

// The audit sink of registry, auth and weather: a hostile row is written
// sanitised, and one refused is quarantined instead of retried forever.
TEST_F(HostileDurabilityTest, AuditSinkNeverRetriesARefusedRowForever) {
  auto pool = PgPool::Connect(stack().postgres_url(), 1, absl::Seconds(10));
  ASSERT_TRUE(pool.ok()) << pool.status();
  PgAuditSink sink(**pool, 100, "hostile-test");
  sink.Record({absl::Now(),
               AuditCategory::kAuth,
               "hd_sink",
               std::string("\0", 1),
               "HD-SINK",
               "REJECTED",
               {{"reason", std::string("\xff\0", 2)}},
               "\xc3"});
  sink.Flush();
  EXPECT_EQ(stack().Sql("SELECT count(*) FROM audit_events WHERE action = 'hd_sink'"), "1");
  EXPECT_EQ(sink.quarantined(), 0);
  // A time Postgres cannot represent: that row is refused whatever its text.
  sink.Record({absl::FromUnixSeconds(int64_t{1} << 50), AuditCategory::kAuth, "hd_sink_refused",
               "x", "HD-SINK", "OK", nlohmann::json::object(), ""});
  sink.Record({absl::Now(), AuditCategory::kAuth, "hd_sink_after", "x", "HD-SINK", "OK",
               nlohmann::json::object(), ""});
  sink.Flush();
  EXPECT_EQ(sink.quarantined(), 1);
  EXPECT_EQ(stack().Sql("SELECT count(*) FROM audit_events WHERE action = 'hd_sink_after'"), "1");
  EXPECT_EQ(stack().Sql("SELECT service || ' ' || kind FROM journal_quarantine"
                        " WHERE payload->>'action' = 'hd_sink_refused'"),
            "hostile-test audit");
}

// With Postgres away a caller is told so within its deadline (UNAVAILABLE,
// not DEADLINE_EXCEEDED), and SIGTERM still stops central.
TEST_F(HostileDurabilityTest, PostgresAwayIsUnavailableAndSigtermStillStops) {
  ASSERT_NO_FATAL_FAILURE(LoopClient(stack()).BringUp("HD-AWAY", "hd-away"));
  const std::string url = stack().postgres_url();
  const std::string port = url.substr(url.rfind(':') + 1, url.rfind('/') - url.rfind(':') - 1);
  const std::string evc = std::string(std::getenv("EVC_SOURCE_DIR")) + "/evc _pg ";
  ASSERT_EQ(std::system((evc + "stop " + stack().dir() + "/pg").c_str()), 0);
  LoopClient loop(stack());
  central::v1::RequestChargeRequest r;
  r.set_cp_id("HD-AWAY");
  r.set_driver_id("hd-away");
  const absl::Time asked = absl::Now();
  auto resp =
      CallUnary(&CentralService::Stub::RequestCharge, *loop.As("hd-away"), r, absl::Seconds(10));
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kUnavailable) << resp.status();
  EXPECT_TRUE(absl::StrContains(resp.status().message(), "the database is not accepting writes"))
      << resp.status();
  EXPECT_LT(absl::Now() - asked, absl::Seconds(9));
  const absl::Time signalled = absl::Now();
  stack().central_process().Signal(SIGTERM);
  const bool stopped =
      Stack::WaitFor([&] { return !stack().central_process().Running(); }, absl::Seconds(20));
  EXPECT_TRUE(stopped) << "central still running 20 s after SIGTERM with Postgres away";
  std::fprintf(stderr, "central stopped %.1f s after SIGTERM with Postgres away\n",
               absl::ToDoubleSeconds(absl::Now() - signalled));
  ASSERT_EQ(
      std::system((evc + "start " + stack().dir() + "/pg " + port + " >/dev/null 2>&1").c_str()),
      0);
  ASSERT_TRUE(stack().RestartCentral().ok());
  ASSERT_TRUE(stack().WaitForState("HD-AWAY", common::v1::CP_STATE_ACTIVE, absl::Seconds(30)));
}

// Last: it stops central. With Postgres refusing a row, SIGTERM still ends it
// within its drain timeout.
TEST_F(HostileDurabilityTest, SigtermStopsCentralAfterHostileInput) {
  const std::string token = NulAlgToken();
  auto anonymous = CentralService::NewStub(MakeChannel(
      stack().central_address(), [token] { return token; }, &stack().client_tls()));
  central::v1::RequestChargeRequest r;
  r.set_cp_id("HD-TERM");
  (void)CallUnary(&CentralService::Stub::RequestCharge, *anonymous, r, absl::Seconds(3));
  const absl::Time signalled = absl::Now();
  stack().central_process().Signal(SIGTERM);
  const bool stopped =
      Stack::WaitFor([&] { return !stack().central_process().Running(); }, absl::Seconds(15));
  EXPECT_TRUE(stopped) << "central still running 15 s after SIGTERM";
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(15));
  // Central serves again after the restart.
  ASSERT_TRUE(stack().RestartCentral().ok());
}

}  // namespace
}  // namespace evc::testing
