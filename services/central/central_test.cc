// Central with an in-memory store and a recording publisher: effects are
// persisted before messages leave, and tickets survive a restart.

#include "services/central/central.h"

#include <atomic>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "services/common/crypto.h"
#include "services/common/proto_time.h"

namespace evc::central {
namespace {

class MemoryStore : public SupplyStore {
 public:
  absl::Status Write(const JournalBatch& b) override {
    absl::MutexLock lock(&mu);
    ++writes;
    for (const auto& s : b.opened) open[s.supply_id] = s;
    for (const auto& s : b.changed) {
      if (open.count(s.supply_id)) open[s.supply_id] = s;
    }
    for (const auto& t : b.tickets) {
      open.erase(t.supply_id());
      tickets.try_emplace(t.supply_id(), t);
    }
    for (const auto& id : b.published_tickets) published.insert(id);
    audit.insert(audit.end(), b.audit.begin(), b.audit.end());
    for (const auto& h : b.holds) {
      if (h.held) {
        holds[{h.cp_id, h.reason}] = h;
      } else {
        holds.erase({h.cp_id, h.reason});
      }
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<HoldChange>> LoadHolds() override {
    absl::MutexLock lock(&mu);
    std::vector<HoldChange> out;
    for (auto& [key, h] : holds) out.push_back(h);
    return out;
  }
  absl::StatusOr<std::vector<SupplyRecord>> LoadOpenSupplies() override {
    absl::MutexLock lock(&mu);
    std::vector<SupplyRecord> out;
    for (auto& [id, s] : open) out.push_back(s);
    return out;
  }
  absl::StatusOr<std::vector<common::v1::Ticket>> LoadUnpublishedTickets() override {
    absl::MutexLock lock(&mu);
    std::vector<common::v1::Ticket> out;
    for (auto& [id, t] : tickets) {
      if (!published.count(id)) out.push_back(t);
    }
    return out;
  }
  absl::StatusOr<std::optional<common::v1::Ticket>> GetTicket(const std::string& id) override {
    absl::MutexLock lock(&mu);
    if (!tickets.count(id)) return std::optional<common::v1::Ticket>();
    return std::optional<common::v1::Ticket>(tickets[id]);
  }
  absl::StatusOr<std::vector<common::v1::Ticket>> ListTickets(const std::string&, const std::string&,
                                                              int) override {
    return std::vector<common::v1::Ticket>();
  }
  int Writes() {
    absl::MutexLock lock(&mu);
    return writes;
  }

  absl::Mutex mu;
  int writes = 0;
  std::map<std::string, SupplyRecord> open;
  std::map<std::string, common::v1::Ticket> tickets;
  std::set<std::string> published;
  std::vector<AuditRecord> audit;
  std::map<std::pair<std::string, common::v1::HoldReason>, HoldChange> holds;
};

// Records whether the store already held the supply when a command left.
class CheckingPublisher : public RecordingPublisher {
 public:
  explicit CheckingPublisher(MemoryStore& store) : store_(store) {}
  absl::Status Publish(const std::string& topic, const std::string& key,
                       const google::protobuf::Message& m, Delivered d) override {
    if (topic == topics::kEngineCommands) {
      events::v1::EngineCommand c;
      c.ParseFromString(m.SerializeAsString());
      if (c.has_authorize()) {
        absl::MutexLock lock(&store_.mu);
        if (!store_.open.count(c.authorize().supply_id())) authorize_before_durable = true;
      }
    }
    return RecordingPublisher::Publish(topic, key, m, std::move(d));
  }
  bool authorize_before_durable = false;

 private:
  MemoryStore& store_;
};

// Mints access tokens as auth would, and verifies them as central does.
class TestTokens {
 public:
  TestTokens()
      : pair_(crypto::NewEd25519KeyPair()),
        verifier([this]() -> absl::StatusOr<std::vector<VerifyingKey>> {
          return std::vector<VerifyingKey>{{"test-key", pair_.public_key}};
        }, clock_) {}
  std::string For(const std::string& subject, const std::string& role = kRoleDriver,
                  absl::Duration ttl = absl::Minutes(5)) {
    Claims c{subject, role, "session-" + subject, "t", absl::Now(), absl::Now() + ttl};
    return *SignToken({"test-key", pair_.private_key}, c);
  }

 private:
  crypto::Ed25519KeyPair pair_;
  SystemClock clock_;

 public:
  TokenVerifier verifier;
};

// What auth and the registry would sign, and the keys central checks with.
class TestTrust : public NotificationKeySource {
 public:
  TestTrust()
      : auth_pair_(crypto::NewEd25519KeyPair()), registry_pair_(crypto::NewEd25519KeyPair()),
        auth_keys_("auth", [this]() -> absl::StatusOr<std::vector<VerifyingKey>> {
          return std::vector<VerifyingKey>{{"auth-key", auth_pair_.public_key}};
        }, clock_),
        registry_keys_("registry", [this]() -> absl::StatusOr<std::vector<VerifyingKey>> {
          return std::vector<VerifyingKey>{{"registry-key", registry_pair_.public_key}};
        }, clock_) {}
  KafkaTrust trust() { return {&auth_keys_, &registry_keys_, this}; }
  absl::StatusOr<NotificationKey> Key(const std::string& driver_id) override {
    return DeriveNotificationKey({"auth-key", auth_pair_.private_key}, driver_id);
  }
  // A charge request on Kafka as the driver CLI sends it.
  KafkaMessage Request(const std::string& cp, const std::string& request_id, const std::string& driver,
                       const std::string& asserted_cp = "") {
    events::v1::ChargeAssertion a;
    a.set_assertion_id(crypto::RandomId());
    a.set_subject(driver);
    a.set_role(kRoleDriver);
    a.set_cp_id(asserted_cp.empty() ? cp : asserted_cp);
    a.set_request_id(request_id);
    *a.mutable_issued_at() = ToProto(absl::Now());
    *a.mutable_expires_at() = ToProto(absl::Now() + absl::Seconds(60));
    events::v1::ChargeRequest r;
    r.set_request_id(request_id);
    r.set_cp_id(cp);
    r.set_driver_id(driver);
    r.set_assertion(SignMessage({"auth-key", auth_pair_.private_key}, a)->SerializeAsString());
    return {topics::kChargeRequests, 0, 0, cp, r.SerializeAsString()};
  }
  std::string ByRegistry(const events::v1::RegistryEvent& e) {
    return SignMessage({"registry-key", registry_pair_.private_key}, e)->SerializeAsString();
  }

 private:
  SystemClock clock_;
  crypto::Ed25519KeyPair auth_pair_;
  crypto::Ed25519KeyPair registry_pair_;
  VerifyingKeys auth_keys_;
  VerifyingKeys registry_keys_;
};

class FixedKeys : public CpKeySource {
 public:
  absl::StatusOr<std::vector<CpKey>> Keys(const std::string&) override { return std::vector<CpKey>{key}; }
  CpKey key{"k1", std::string(32, 'k')};
};

common::v1::ChargingPoint Cp(const std::string& id) {
  common::v1::ChargingPoint cp;
  cp.set_cp_id(id);
  cp.set_price_millieuros_per_kwh(400);
  return cp;
}

central::v1::Health Ok() {
  central::v1::Health h;
  h.set_engine_ok(true);
  return h;
}

// Registry events can reach central late (after a restart its consumer group
// rejoins first): a CP the registry knows is looked up, not refused.
TEST(CentralTest, UnknownCpIsLookedUpAtTheRegistryBeforeItsMonitorIsRefused) {
  MemoryStore store;
  CheckingPublisher publisher(store);
  TestTokens tokens;
  FixedKeys keys;
  SystemClock clock;
  Central central({}, store, publisher, tokens.verifier, keys, clock);
  ASSERT_TRUE(central.Start({}).ok());
  EXPECT_TRUE(absl::IsNotFound(central.MonitorRegistered("NEW", Ok()))) << "no lookup: refused";
  std::vector<std::string> asked;
  central.SetCatalogueLookup([&](const std::string& id) -> absl::StatusOr<common::v1::ChargingPoint> {
    asked.push_back(id);
    if (id == "NEW") return Cp("NEW");
    return absl::NotFoundError("no such charging point");
  });
  ASSERT_TRUE(central.MonitorRegistered("NEW", Ok()).ok());
  absl::Status ghost = central.MonitorRegistered("GHOST", Ok());
  EXPECT_TRUE(absl::IsNotFound(ghost));
  EXPECT_NE(ghost.message().find("'GHOST' is not registered"), absl::string_view::npos) << ghost;
  ASSERT_TRUE(central.MonitorRegistered("NEW", Ok()).ok());
  EXPECT_EQ(asked, (std::vector<std::string>{"NEW", "GHOST"})) << "a known CP is not looked up again";
}

TEST(CentralTest, AuthoriseLeavesOnlyAfterTheSupplyIsDurable) {
  MemoryStore store;
  CheckingPublisher publisher(store);
  TestTokens tokens;
  FixedKeys keys;
  SystemClock clock;
  Central central({}, store, publisher, tokens.verifier, keys, clock);
  ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
  ASSERT_TRUE(central.LoadKeys("CP1").ok());
  ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
  auto supply = central.RequestCharge("CP1", "ana", "r1", tokens.For("ana"));
  ASSERT_TRUE(supply.ok()) << supply.status();
  EXPECT_FALSE(publisher.authorize_before_durable);
  bool sent = false;
  for (const auto& r : publisher.records()) {
    if (r.topic != topics::kEngineCommands || r.key != "CP1") continue;
    // Commands leave sealed under the CP's key.
    auto opened = OpenEnvelope(r.payload, events::v1::SealedEnvelope::DIRECTION_CENTRAL_TO_ENGINE,
                               [&](const std::string&, const std::string& id) {
                                 return id == keys.key.key_id ? &keys.key : nullptr;
                               }, absl::Now());
    ASSERT_TRUE(opened.ok()) << opened.status();
    events::v1::EngineCommand command;
    ASSERT_TRUE(command.ParseFromString(opened->plaintext));
    sent |= command.has_authorize();
  }
  EXPECT_TRUE(sent);
  central.Stop();
}

// Central started with CP1 in its catalogue and CP1's monitor linked.
class LinkedCentralTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
    ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
  }
  MemoryStore store;
  RecordingPublisher publisher;
  TestTokens tokens;
  FixedKeys keys;
  SystemClock clock;
  Central central{{}, store, publisher, tokens.verifier, keys, clock};
};

TEST_F(LinkedCentralTest, ChargeNeedsAValidTokenOfThatDriver) {
  EXPECT_TRUE(absl::IsUnauthenticated(central.RequestCharge("CP1", "ana", "r1", "").status()));
  EXPECT_TRUE(absl::IsUnauthenticated(central.RequestCharge("CP1", "ana", "r1", "not.a.jwt").status()));
  EXPECT_TRUE(absl::IsUnauthenticated(
      central.RequestCharge("CP1", "ana", "r1", tokens.For("ana", kRoleDriver, -absl::Seconds(1))).status()));
  EXPECT_TRUE(absl::IsPermissionDenied(central.RequestCharge("CP1", "ana", "r1", tokens.For("luis")).status()));
  EXPECT_TRUE(absl::IsPermissionDenied(
      central.RequestCharge("CP1", "", "r1", tokens.For("admin", kRoleOperator)).status()));
  auto supply = central.RequestCharge("CP1", "", "r1", tokens.For("ana"));
  ASSERT_TRUE(supply.ok()) << supply.status();
  EXPECT_EQ(supply->driver_id(), "ana");
  // Luis cannot stop Ana's supply, even with his own valid token.
  EXPECT_TRUE(absl::IsPermissionDenied(central.StopCharge(supply->supply_id(), "", tokens.For("luis")).status()));
  EXPECT_TRUE(central.StopCharge(supply->supply_id(), "", tokens.For("ana")).ok());
  central.Stop();
}

TEST_F(LinkedCentralTest, ForgedEngineMessagesAreRejectedAndAudited) {
  events::v1::EngineEvent walk_in;
  walk_in.set_cp_id("CP1");
  walk_in.mutable_walk_in()->set_request_id("w1");
  auto seal = [&](const CpKey& key, uint64_t counter) {
    return SealEnvelope(events::v1::SealedEnvelope::DIRECTION_ENGINE_TO_CENTRAL, "CP1", key, counter,
                        walk_in.SerializeAsString())
        ->SerializeAsString();
  };
  const std::string genuine = seal(keys.key, 10);
  std::vector<KafkaMessage> batch = {
      {topics::kEngineEvents, 0, 1, "CP1", seal({"k1", std::string(32, 'x')}, 11)},  // wrong key
      {topics::kEngineEvents, 0, 2, "CP1", "garbage"},
      {topics::kEngineEvents, 0, 3, "CP1", walk_in.SerializeAsString()},  // not sealed at all
      {topics::kEngineEvents, 0, 4, "CP1", genuine},
      {topics::kEngineEvents, 0, 5, "CP1", genuine},  // replayed
  };
  central.HandleKafkaBatch(batch, nullptr);
  central.Stop();
  int rejected = 0;
  for (const AuditRecord& a : store.audit) {
    if (a.category == AuditCategory::kSecurity && a.action == "sealed_message_rejected") ++rejected;
  }
  EXPECT_EQ(rejected, 4);
  // The genuine walk-in was accepted: central answered the engine.
  int commands = 0;
  for (const auto& r : publisher.records()) commands += r.topic == topics::kEngineCommands;
  EXPECT_EQ(commands, 1);
}

class MemoryReplayMarks : public ReplayMarkStore {
 public:
  absl::StatusOr<std::vector<ReplayMark>> LoadReplayMarks() override {
    std::vector<ReplayMark> out;
    for (const auto& [cp, m] : marks) out.push_back(m);
    return out;
  }
  absl::Status SaveReplayMarks(const std::vector<ReplayMark>& saved) override {
    ++saves;
    for (const ReplayMark& m : saved) {
      if (marks[m.cp_id].counter < m.counter) marks[m.cp_id] = m;
    }
    return absl::OkStatus();
  }
  std::map<std::string, ReplayMark> marks;
  int saves = 0;
};

int Rejected(const MemoryStore& store) {
  int rejected = 0;
  for (const AuditRecord& a : store.audit) {
    rejected += a.category == AuditCategory::kSecurity && a.action == "sealed_message_rejected";
  }
  return rejected;
}

// A captured envelope replayed after a restart of central is refused and
// audited; Kafka redelivering what central handled just before the restart
// is skipped quietly.
TEST(CentralTest, ReplayMarksSurviveARestart) {
  MemoryStore store;
  RecordingPublisher publisher;
  TestTokens tokens;
  FixedKeys keys;
  SystemClock clock;
  MemoryReplayMarks marks;
  events::v1::EngineEvent walk_in;
  walk_in.set_cp_id("CP1");
  walk_in.mutable_walk_in()->set_request_id("w1");
  const std::string captured =
      SealEnvelope(events::v1::SealedEnvelope::DIRECTION_ENGINE_TO_CENTRAL, "CP1", keys.key, 10,
                   walk_in.SerializeAsString())
          ->SerializeAsString();
  {
    Central central({}, store, publisher, tokens.verifier, keys, clock);
    central.SetReplayMarkStore(&marks);
    ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
    ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
    std::vector<KafkaMessage> batch = {{topics::kEngineEvents, 0, 7, "CP1", captured}};
    central.HandleKafkaBatch(batch, nullptr);
    central.Stop();
  }
  ASSERT_EQ(marks.marks.count("CP1"), 1u);
  EXPECT_EQ(marks.marks["CP1"].counter, 10u);
  EXPECT_EQ(marks.marks["CP1"].offset, 7);
  EXPECT_EQ(Rejected(store), 0);

  Central restarted({}, store, publisher, tokens.verifier, keys, clock);
  restarted.SetReplayMarkStore(&marks);
  ASSERT_TRUE(restarted.Start({Cp("CP1")}).ok());
  ASSERT_TRUE(restarted.MonitorRegistered("CP1", Ok()).ok());
  // Redelivered at its old offset: already handled, not an attack.
  std::vector<KafkaMessage> redelivered = {{topics::kEngineEvents, 0, 7, "CP1", captured}};
  restarted.HandleKafkaBatch(redelivered, nullptr);
  EXPECT_EQ(Rejected(store), 0);
  // The same envelope appended again by someone on the broker.
  std::vector<KafkaMessage> replayed = {{topics::kEngineEvents, 0, 42, "CP1", captured}};
  restarted.HandleKafkaBatch(replayed, nullptr);
  restarted.Stop();
  EXPECT_EQ(Rejected(store), 1);
  bool said = false;
  for (const AuditRecord& a : store.audit) {
    said |= a.action == "sealed_message_rejected" &&
            a.details.value("reason", "").find("replayed") != std::string::npos;
  }
  EXPECT_TRUE(said);
}

TEST(CentralTest, TicketsAreStoredOnceAndResentAfterARestartUntilDelivered) {
  MemoryStore store;
  TestTokens tokens;
  FixedKeys keys;
  SystemClock clock;
  std::string supply_id;
  {
    // A publisher that loses the ticket: never acknowledged.
    class Lossy : public RecordingPublisher {
     public:
      absl::Status Publish(const std::string& t, const std::string& k, const google::protobuf::Message& m,
                           Delivered) override {
        return RecordingPublisher::Publish(t, k, m, nullptr);
      }
    } lossy;
    Central central({}, store, lossy, tokens.verifier, keys, clock);
    ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
    ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
    auto supply = central.RequestCharge("CP1", "ana", "r1", tokens.For("ana"));
    ASSERT_TRUE(supply.ok());
    supply_id = supply->supply_id();
    ASSERT_TRUE(central.StopCharge(supply_id, "ana", tokens.For("ana")).ok());  // before plug: ends at once
    central.Stop();
  }
  ASSERT_EQ(store.tickets.size(), 1u);
  EXPECT_TRUE(store.published.empty());
  RecordingPublisher publisher;
  TestTrust trust;
  Central restarted({}, store, publisher, tokens.verifier, keys, clock);
  restarted.SetKafkaTrust(trust.trust());
  ASSERT_TRUE(restarted.Start({Cp("CP1")}).ok());
  int tickets = 0;
  for (const auto& r : publisher.records()) {
    events::v1::SealedNotification sealed;
    if (r.topic != topics::kDriverNotifications || !sealed.ParseFromString(r.payload)) continue;
    EXPECT_EQ(r.payload.find(supply_id), std::string::npos) << "sealed for the driver alone";
    auto n = OpenNotification(*trust.Key("ana"), "ana", sealed);
    ASSERT_TRUE(n.ok()) << n.status();
    if (n->has_ticket()) {
      ++tickets;
      EXPECT_EQ(n->ticket().supply_id(), supply_id);
    }
  }
  EXPECT_EQ(tickets, 1);
  restarted.Stop();  // flushes the outbox mark
  EXPECT_EQ(store.published.count(supply_id), 1u);
  auto view = Central({}, store, publisher, tokens.verifier, keys, clock).GetSupply(supply_id);
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->has_ticket());
}

// Issue 21: a ticket whose delivery failed does not wait for the next start.
TEST(CentralTest, AFailedTicketIsRetriedWithoutARestartUntilDelivered) {
  MemoryStore store;
  TestTokens tokens;
  FixedKeys keys;
  SystemClock clock;
  // Every ticket's first two deliveries fail.
  class FailsTickets : public RecordingPublisher {
   public:
    explicit FailsTickets(TestTrust& trust) : trust_(trust) {}
    absl::Status Publish(const std::string& t, const std::string& k, const google::protobuf::Message& m,
                         Delivered d) override {
      (void)RecordingPublisher::Publish(t, k, m, nullptr);
      events::v1::SealedNotification sealed;
      if (t == topics::kDriverNotifications && sealed.ParseFromString(m.SerializeAsString())) {
        auto opened = OpenNotification(*trust_.Key("ana"), "ana", sealed);
        if (opened.ok() && opened->has_ticket() && ++ticket_attempts <= 2) {
          if (d) d(absl::UnavailableError("Local: Message timed out"));
          return absl::OkStatus();
        }
      }
      if (d) d(absl::OkStatus());
      return absl::OkStatus();
    }
    std::atomic<int> ticket_attempts{0};

   private:
    TestTrust& trust_;
  };
  TestTrust trust;
  FailsTickets publisher(trust);
  Central central({.command_resend_interval = absl::Milliseconds(50)}, store, publisher,
                  tokens.verifier, keys, clock);
  central.SetKafkaTrust(trust.trust());
  ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
  ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
  auto supply = central.RequestCharge("CP1", "ana", "r1", tokens.For("ana"));
  ASSERT_TRUE(supply.ok());
  ASSERT_TRUE(central.StopCharge(supply->supply_id(), "ana", tokens.For("ana")).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (publisher.ticket_attempts.load() < 3 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(publisher.ticket_attempts.load(), 3) << "two failures, then delivered";
  central.Stop();  // flushes the outbox mark
  EXPECT_EQ(store.published.count(supply->supply_id()), 1u);
}

TEST(CentralTest, AHealthReportNamingAMalformedSupplyIsRefused) {
  MemoryStore store;
  RecordingPublisher publisher;
  TestTokens tokens;
  FixedKeys keys;
  SystemClock clock;
  Central central({}, store, publisher, tokens.verifier, keys, clock);
  ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
  central::v1::Health bad = Ok();
  bad.set_engine_supply_id(std::string(5000, 'x'));
  EXPECT_EQ(central.MonitorRegistered("CP1", bad).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
  bad.set_engine_supply_id("s1\n");
  absl::Status refused = central.MonitorHealth("CP1", bad);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("engine_supply_id"), absl::string_view::npos) << refused;
}

TEST(CentralTest, HoldsAreDurableAndSurviveARestart) {
  MemoryStore store;
  TestTokens tokens;
  FixedKeys keys;
  SystemClock clock;
  RecordingPublisher publisher;
  {
    Central central({}, store, publisher, tokens.verifier, keys, clock);
    ASSERT_TRUE(central.Start({Cp("CP1"), Cp("CP2")}).ok());
    ASSERT_TRUE(central.OperatorStop("CP1", false, "admin").ok());
    auto r = central.ApplyWeatherHolds({{"CP2", "Alicante (ES) 45.0 °C"}}, Caller::Service("weather"));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->held, std::vector<std::string>{"CP2"});
    // Returned once durable: the store already has both.
    absl::MutexLock lock(&store.mu);
    EXPECT_EQ(store.holds.size(), 2u);
  }
  Central restarted({}, store, publisher, tokens.verifier, keys, clock);
  ASSERT_TRUE(restarted.Start({Cp("CP1"), Cp("CP2")}).ok());
  ASSERT_TRUE(restarted.MonitorRegistered("CP1", Ok()).ok());
  ASSERT_TRUE(restarted.MonitorRegistered("CP2", Ok()).ok());
  for (const auto& s : restarted.Snapshot()) {
    EXPECT_EQ(s.state(), common::v1::CP_STATE_OUT_OF_SERVICE) << s.charging_point().cp_id();
  }
  EXPECT_EQ(restarted.ApplyWeatherHolds({{"CP2", "Alicante (ES) 45.0 °C"}}, Caller::Service("weather"))->held.size(), 0u);
  EXPECT_FALSE(restarted.ApplyWeatherHolds({{"bad id!", ""}}, Caller::Service("weather")).ok());
}

TEST(CentralTest, OpenSuppliesAreRestoredOnStart) {
  MemoryStore store;
  SupplyRecord s;
  s.supply_id = "s1";
  s.cp_id = "CP1";
  s.driver_id = "ana";
  s.phase = common::v1::SUPPLY_PHASE_CHARGING;
  s.authorized_at = absl::Now();
  s.energy_wh = 100;
  s.price_millieuros_per_kwh = 400;
  store.open["s1"] = s;
  RecordingPublisher publisher;
  TestTokens tokens;
  FixedKeys keys;
  SystemClock clock;
  Central central({}, store, publisher, tokens.verifier, keys, clock);
  ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
  auto view = central.GetSupply("s1");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->supply().energy_wh(), 100);
  // The driver is still busy with it.
  ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
  EXPECT_EQ(central.RequestCharge("CP1", "ana", "r9", tokens.For("ana")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  central.Stop();
}

// A central that checks Kafka messages against the test trust (assertions, signed events).
class KafkaTrustTest : public ::testing::Test {
 protected:
  KafkaTrustTest() { central.SetKafkaTrust(trust.trust()); }

  MemoryStore store;
  RecordingPublisher publisher;
  TestTokens tokens;
  TestTrust trust;
  FixedKeys keys;
  SystemClock clock;
  Central central{{}, store, publisher, tokens.verifier, keys, clock};
};

// The broker authenticates nobody: a charge request on Kafka needs auth's
// single-use assertion for that CP and request; a bearer token is refused.
TEST_F(KafkaTrustTest, KafkaChargeRequestsNeedASingleUseAssertionForTheirCp) {
  ASSERT_TRUE(central.Start({Cp("CP1"), Cp("CP2")}).ok());
  ASSERT_TRUE(central.LoadKeys("CP1").ok());
  ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
  auto supplying = [&] {
    for (const auto& st : central.Snapshot()) {
      if (st.charging_point().cp_id() == "CP1" && st.has_supply()) return true;
    }
    return false;
  };
  events::v1::ChargeRequest bearer;
  bearer.set_request_id("r0");
  bearer.set_cp_id("CP1");
  bearer.set_driver_id("ana");
  bearer.set_access_token(tokens.For("ana"));
  std::vector<KafkaMessage> refused = {{topics::kChargeRequests, 0, 1, "CP1", bearer.SerializeAsString()},
                                       trust.Request("CP1", "r1", "ana", /*asserted_cp=*/"CP2")};
  central.HandleKafkaBatch(refused, nullptr);
  EXPECT_FALSE(supplying());
  const KafkaMessage genuine = trust.Request("CP1", "r2", "ana");
  central.HandleKafkaBatch(std::vector<KafkaMessage>{genuine}, nullptr);
  EXPECT_TRUE(supplying());
  central.HandleKafkaBatch(std::vector<KafkaMessage>{genuine}, nullptr);  // replayed
  central.Stop();
  std::vector<std::string> reasons;
  for (const auto& a : store.audit) {
    if (a.action == "charge_request_refused") reasons.push_back(a.details["reason"].get<std::string>());
  }
  ASSERT_EQ(reasons.size(), 3u);
  EXPECT_NE(reasons[0].find("access tokens are not accepted"), std::string::npos) << reasons[0];
  EXPECT_NE(reasons[1].find("not for this request"), std::string::npos) << reasons[1];
  EXPECT_NE(reasons[2].find("already used"), std::string::npos) << reasons[2];
  // Every answer on the notifications topic is sealed.
  for (const auto& r : publisher.records()) {
    if (r.topic != topics::kDriverNotifications) continue;
    events::v1::SealedNotification sealed;
    ASSERT_TRUE(sealed.ParseFromString(r.payload));
    EXPECT_TRUE(OpenNotification(*trust.Key("ana"), "ana", sealed).ok());
  }
}

// Registry events count only when the registry signed them.
TEST_F(KafkaTrustTest, UnsignedRegistryEventsAreRefused) {
  ASSERT_TRUE(central.Start({}).ok());
  events::v1::RegistryEvent forged;
  forged.set_cp_id("CPX");
  *forged.mutable_registered() = Cp("CPX");
  events::v1::RegistryEvent genuine = forged;
  genuine.set_cp_id("CPY");
  *genuine.mutable_registered() = Cp("CPY");
  central.HandleKafkaBatch(std::vector<KafkaMessage>{{topics::kRegistryEvents, 0, 1, "CPX", forged.SerializeAsString()},
                                                     {topics::kRegistryEvents, 0, 2, "CPY", trust.ByRegistry(genuine)}},
                           nullptr);
  std::set<std::string> known;
  for (const auto& st : central.Snapshot()) known.insert(st.charging_point().cp_id());
  EXPECT_EQ(known, std::set<std::string>{"CPY"});
  central.Stop();
  int refused = 0;
  for (const auto& a : store.audit) refused += a.action == "event_refused" && a.category == AuditCategory::kSecurity;
  EXPECT_EQ(refused, 1);
}

}  // namespace
}  // namespace evc::central
