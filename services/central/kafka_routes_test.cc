// Central's Kafka consumer: each topic's records verified before they change
// the network (sealed engine events, signed auth and registry events, charge
// requests with auth's assertion), replay marks kept across a restart.

#include "services/central/kafka_routes.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"

#include "services/central/central_metrics.h"
#include "services/central/central_testing.h"
#include "services/common/metrics.h"
#include "services/common/testing/fake_clock.h"

namespace evc::central {
namespace {

using namespace fakes;  // NOLINT: the fakes of these tests

// Central with CP1 in its catalogue, Kafka reaching it through the routes.
class KafkaRoutesTest : public ::testing::Test, protected CentralFixture {
 protected:
  RecordingLinks links;
  std::unique_ptr<WiredCentral> wired = Wire();
  Central& central = wired->central;
  KafkaRoutes routes{central, wired->channel, tokens.verifier, {}, links, clock};
};

TEST_F(KafkaRoutesTest, ForgedEngineMessagesAreRejectedAndAudited) {
  ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
  ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
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
  routes.HandleBatch(batch, nullptr);
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

// Whether `done` holds within 5 s (the tag lookups run on threads of their own).
bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 500 && !done(); ++i) absl::SleepFor(absl::Milliseconds(10));
  return done();
}

// The registry's answer for each tag, once `answer` is notified (a slow
// registry until then); every lookup recorded.
class FakeDriverTags : public DriverTags {
 public:
  absl::StatusOr<std::string> DriverOf(const std::string& id_tag) override {
    {
      absl::MutexLock lock(&mu);
      asked.push_back(id_tag);
    }
    answer.WaitForNotification();
    if (id_tag == "FOB-7") return std::string("ana");
    return absl::NotFoundError("no such tag");
  }
  std::vector<std::string> Asked() {
    absl::MutexLock lock(&mu);
    return asked;
  }
  absl::Notification answer;
  absl::Mutex mu;
  std::vector<std::string> asked ABSL_GUARDED_BY(mu);
};

TEST_F(KafkaRoutesTest, AWalkInWithAnRfidTagIsChargedToTheTagsDriver) {
  FakeDriverTags tags;
  auto with_tags = std::make_unique<KafkaRoutes>(central, wired->channel, tokens.verifier,
                                                 KafkaTrust{.driver_tags = &tags}, links, clock);
  ASSERT_TRUE(central.Start({Cp("CP1"), Cp("CP2")}).ok());
  ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
  events::v1::EngineEvent walk_in;
  walk_in.set_cp_id("CP1");
  walk_in.mutable_walk_in()->set_request_id("w1");
  walk_in.mutable_walk_in()->set_id_tag("FOB-7");
  const std::string sealed = SealEnvelope(events::v1::SealedEnvelope::DIRECTION_ENGINE_TO_CENTRAL, "CP1",
                                          keys.key, 10, walk_in.SerializeAsString())
                                 ->SerializeAsString();
  // The registry does not answer yet: the consumer goes on all the same.
  with_tags->HandleBatch(std::vector<KafkaMessage>{{topics::kEngineEvents, 0, 1, "CP1", sealed}}, nullptr);
  EXPECT_EQ(central.StateOf("CP1"), common::v1::CP_STATE_ACTIVE);
  tags.answer.Notify();
  ASSERT_TRUE(Eventually([&] { return central.StateOf("CP1") == common::v1::CP_STATE_SUPPLYING; }));
  with_tags.reset();  // its lookup threads are done with the journal
  EXPECT_EQ(tags.Asked(), std::vector<std::string>{"FOB-7"});
  ASSERT_EQ(store.open.size(), 1u);
  const SupplyRecord& supply = store.open.begin()->second;
  EXPECT_EQ(supply.driver_id, "ana");
  EXPECT_EQ(supply.cp_id, "CP1");
  central.Stop();
}

// A CP (an OCPP charger sending Authorize in a loop, or any holder of a CP's
// key) cannot make central ask the registry as fast as it likes: each lookup
// is a blocking call on the consumer that every CP's events wait behind, and
// a free oracle for guessing tags. One per CP per second is more than a
// person presenting cards; the others are refused without a lookup.
TEST_F(KafkaRoutesTest, RfidTagLookupsAreLimitedPerCp) {
  FakeDriverTags tags;
  tags.answer.Notify();  // the registry answers at once
  FakeClock routes_clock;
  auto with_tags = std::make_unique<KafkaRoutes>(central, wired->channel, tokens.verifier,
                                                 KafkaTrust{.driver_tags = &tags}, links, routes_clock);
  ASSERT_TRUE(central.Start({Cp("CP1"), Cp("CP2")}).ok());
  ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
  ASSERT_TRUE(central.MonitorRegistered("CP2", Ok()).ok());
  uint64_t counter = 10;
  auto walk_in = [&](const std::string& cp, const std::string& request, const std::string& tag) {
    events::v1::EngineEvent e;
    e.set_cp_id(cp);
    e.mutable_walk_in()->set_request_id(request);
    e.mutable_walk_in()->set_id_tag(tag);
    return KafkaMessage{topics::kEngineEvents, 0, static_cast<int64_t>(counter), cp,
                        SealEnvelope(events::v1::SealedEnvelope::DIRECTION_ENGINE_TO_CENTRAL, cp, keys.key,
                                     counter++, e.SerializeAsString())
                            ->SerializeAsString()};
  };
  auto rejections = [&] {
    int n = 0;
    for (const auto& r : publisher.records()) n += r.topic == topics::kEngineCommands;
    return n;
  };
  std::vector<KafkaMessage> flood;
  for (int i = 0; i < 20; ++i) flood.push_back(walk_in("CP1", absl::StrCat("w", i), absl::StrCat("GUESS-", i)));
  flood.push_back(walk_in("CP2", "x1", "GUESS-X"));  // another CP is not held back
  with_tags->HandleBatch(flood, nullptr);
  // The throttled are refused at once; the two lookups answer from their threads.
  EXPECT_TRUE(Eventually([&] { return rejections() == 21; })) << "every walk-in is answered, the throttled ones refused";
  std::vector<std::string> asked = tags.Asked();
  std::sort(asked.begin(), asked.end());
  EXPECT_EQ(asked, (std::vector<std::string>{"GUESS-0", "GUESS-X"}));

  with_tags->HandleBatch(std::vector<KafkaMessage>{walk_in("CP1", "w20", "FOB-7")}, nullptr);
  EXPECT_EQ(rejections(), 22) << "still within the second: refused at once";
  EXPECT_EQ(tags.Asked().size(), 2u);
  routes_clock.Advance(absl::Seconds(1));
  with_tags->HandleBatch(std::vector<KafkaMessage>{walk_in("CP1", "w21", "FOB-7")}, nullptr);
  EXPECT_TRUE(Eventually([&] { return central.StateOf("CP1") == common::v1::CP_STATE_SUPPLYING; }));
  with_tags.reset();  // its lookup threads are done with the journal
  EXPECT_EQ(tags.Asked().back(), "FOB-7");
  ASSERT_EQ(store.open.size(), 1u);
  EXPECT_EQ(store.open.begin()->second.driver_id, "ana");
  central.Stop();
}

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
class KafkaRoutesRestartTest : public ::testing::Test, protected CentralFixture {};

TEST_F(KafkaRoutesRestartTest, ReplayMarksSurviveARestart) {
  MemoryReplayMarks marks;
  events::v1::EngineEvent walk_in;
  walk_in.set_cp_id("CP1");
  walk_in.mutable_walk_in()->set_request_id("w1");
  const std::string captured =
      SealEnvelope(events::v1::SealedEnvelope::DIRECTION_ENGINE_TO_CENTRAL, "CP1", keys.key, 10,
                   walk_in.SerializeAsString())
          ->SerializeAsString();
  RecordingLinks links;
  {
    auto wired = Wire({.marks = &marks});
    Central& central = wired->central;
    KafkaRoutes routes(central, wired->channel, tokens.verifier, {}, links, clock);
    ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
    ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
    std::vector<KafkaMessage> batch = {{topics::kEngineEvents, 0, 7, "CP1", captured}};
    routes.HandleBatch(batch, nullptr);
    central.Stop();
  }
  ASSERT_EQ(marks.marks.count("CP1"), 1u);
  EXPECT_EQ(marks.marks["CP1"].counter, 10u);
  EXPECT_EQ(marks.marks["CP1"].offset, 7);
  EXPECT_EQ(Rejected(store), 0);

  auto wired = Wire({.marks = &marks});
  Central& restarted = wired->central;
  KafkaRoutes routes(restarted, wired->channel, tokens.verifier, {}, links, clock);
  ASSERT_TRUE(restarted.Start({Cp("CP1")}).ok());
  ASSERT_TRUE(restarted.MonitorRegistered("CP1", Ok()).ok());
  // Redelivered at its old offset: already handled, not an attack.
  std::vector<KafkaMessage> redelivered = {{topics::kEngineEvents, 0, 7, "CP1", captured}};
  routes.HandleBatch(redelivered, nullptr);
  EXPECT_EQ(Rejected(store), 0);
  // The same envelope appended again by someone on the broker.
  std::vector<KafkaMessage> replayed = {{topics::kEngineEvents, 0, 42, "CP1", captured}};
  routes.HandleBatch(replayed, nullptr);
  restarted.Stop();
  EXPECT_EQ(Rejected(store), 1);
  bool said = false;
  for (const AuditRecord& a : store.audit) {
    said |= a.action == "sealed_message_rejected" &&
            a.details.value("reason", "").find("replayed") != std::string::npos;
  }
  EXPECT_TRUE(said);
}

// A central that checks Kafka messages against the test trust (assertions, signed events).
class KafkaTrustTest : public ::testing::Test, protected CentralFixture {
 protected:
  RecordingLinks links;
  std::unique_ptr<WiredCentral> wired = Wire({.notification_keys = &trust});
  Central& central = wired->central;
  KafkaRoutes routes{central, wired->channel, tokens.verifier, trust.trust(), links, clock};
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
  routes.HandleBatch(refused, nullptr);
  EXPECT_FALSE(supplying());
  const KafkaMessage genuine = trust.Request("CP1", "r2", "ana");
  routes.HandleBatch(std::vector<KafkaMessage>{genuine}, nullptr);
  EXPECT_TRUE(supplying());
  routes.HandleBatch(std::vector<KafkaMessage>{genuine}, nullptr);  // replayed
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

// `m`'s charge request and its assertion rewritten to name `driver`, the
// signature left as auth made it for someone else.
KafkaMessage ClaimedFor(KafkaMessage m, const std::string& driver) {
  events::v1::ChargeRequest request;
  events::v1::Signed signed_assertion;
  events::v1::ChargeAssertion assertion;
  EXPECT_TRUE(request.ParseFromString(m.payload));
  EXPECT_TRUE(signed_assertion.ParseFromString(request.assertion()));
  EXPECT_TRUE(assertion.ParseFromString(signed_assertion.payload()));
  assertion.set_subject(driver);
  signed_assertion.set_payload(assertion.SerializeAsString());
  request.set_assertion(signed_assertion.SerializeAsString());
  request.set_driver_id(driver);
  m.payload = request.SerializeAsString();
  return m;
}

// The Kafka entry point verifies auth's assertion before central sees the
// request: one auth did not sign, one altered after signing and none at all
// are each answered with an UNAUTHENTICATED notice to the driver the request
// names, and audited; nothing is authorised.
TEST_F(KafkaTrustTest, ForgedChargeAssertionsGetUnauthenticatedNoticesAndAreAudited) {
  ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
  ASSERT_TRUE(central.LoadKeys("CP1").ok());
  ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
  TestTrust another_auth;  // signs with a key central does not trust
  KafkaMessage missing = trust.Request("CP1", "r3", "ana");
  events::v1::ChargeRequest without_assertion;
  ASSERT_TRUE(without_assertion.ParseFromString(missing.payload));
  without_assertion.clear_assertion();
  missing.payload = without_assertion.SerializeAsString();
  routes.HandleBatch(std::vector<KafkaMessage>{another_auth.Request("CP1", "r1", "ana"),
                                               ClaimedFor(trust.Request("CP1", "r2", "luis"), "ana"),
                                               missing},
                     nullptr);
  central.Stop();
  std::vector<std::string> unauthenticated;
  for (const auto& r : publisher.records()) {
    EXPECT_NE(r.topic, topics::kEngineCommands) << "nothing authorised";
    events::v1::SealedNotification sealed;
    if (r.topic != topics::kDriverNotifications || !sealed.ParseFromString(r.payload)) continue;
    absl::StatusOr<events::v1::DriverNotification> n = OpenNotification(*trust.Key("ana"), "ana", sealed);
    ASSERT_TRUE(n.ok()) << n.status();
    ASSERT_TRUE(n->has_rejected());
    EXPECT_EQ(n->rejected().reason(), common::v1::REJECT_REASON_UNAUTHENTICATED) << n->request_id();
    unauthenticated.push_back(n->request_id());
  }
  EXPECT_EQ(unauthenticated, (std::vector<std::string>{"r1", "r2", "r3"}));
  std::vector<std::string> audited;
  for (const AuditRecord& a : store.audit) {
    if (a.action != "charge_request_refused" || a.category != AuditCategory::kSecurity) continue;
    EXPECT_EQ(a.actor, "ana");
    audited.push_back(a.details["request_id"].get<std::string>());
  }
  EXPECT_EQ(audited, (std::vector<std::string>{"r1", "r2", "r3"}));
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
  routes.HandleBatch(std::vector<KafkaMessage>{{topics::kRegistryEvents, 0, 1, "CPX", forged.SerializeAsString()},
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

// Registry events that remove a CP or reset its credentials cut its monitor link.
TEST_F(KafkaTrustTest, RemovedOrResetCpsLoseTheirLink) {
  ASSERT_TRUE(central.Start({Cp("CP1"), Cp("CP2")}).ok());
  events::v1::RegistryEvent removed;
  removed.set_cp_id("CP1");
  removed.mutable_unregistered();
  events::v1::RegistryEvent reset;
  reset.set_cp_id("CP2");
  reset.mutable_credentials_reset();
  routes.HandleBatch(std::vector<KafkaMessage>{{topics::kRegistryEvents, 0, 1, "CP1", trust.ByRegistry(removed)},
                                               {topics::kRegistryEvents, 0, 2, "CP2", trust.ByRegistry(reset)}},
                     nullptr);
  central.Stop();
  using Cut = std::pair<std::string, std::string>;
  EXPECT_EQ(links.closed, (std::vector<Cut>{{"CP1", "charging point unregistered"},
                                            {"CP2", "charging point credentials reset"}}));
  std::set<std::string> known;
  for (const auto& st : central.Snapshot()) known.insert(st.charging_point().cp_id());
  EXPECT_EQ(known, std::set<std::string>{"CP2"});
}

}  // namespace
}  // namespace evc::central

namespace evc::central {
namespace {

// A record's CreateTime and an event's `at` come from outside: forged to the
// ends of time, they move samples between buckets and nothing else.
TEST(LatencyStagesTest, ForgedTimesLandInTheEndBucketsAndKeepTheSumFinite) {
  LatencyStages stages;
  LatencyStages::EventTally tally(stages);
  events::v1::EngineEvent e;
  e.mutable_telemetry()->set_seq(1);
  e.mutable_at()->set_seconds(-62135596800);  // 0001-01-01, the earliest a Timestamp holds
  const absl::Time now = absl::Now();
  tally.Add(e, absl::InfiniteFuture(), now, now);
  tally.Add(e, absl::FromUnixMillis(std::numeric_limits<int64_t>::max()), now, now);
  e.mutable_at()->set_seconds(253402300799);  // 9999-12-31: ages below zero
  tally.Add(e, absl::FromUnixMillis(std::numeric_limits<int64_t>::min()), now, now);
  tally.Flush();

  uint64_t samples = 0;
  for (const prometheus::MetricFamily& family : metrics::Registry().Collect()) {
    if (family.name != "evc_engine_event_age_seconds") continue;
    for (const prometheus::ClientMetric& m : family.metric) {
      samples += m.histogram.sample_count;
      EXPECT_TRUE(std::isfinite(m.histogram.sample_sum));
      EXPECT_GE(m.histogram.sample_sum, 0);
    }
  }
  EXPECT_GE(samples, 9u);  // three events, three stages each
}

}  // namespace
}  // namespace evc::central
