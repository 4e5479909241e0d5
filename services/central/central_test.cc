// Central with an in-memory store and a recording publisher: effects are
// persisted before messages leave, and tickets survive a restart.

#include "services/central/central.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"

#include "services/central/central_testing.h"

namespace evc::central {
namespace {

using namespace fakes;  // NOLINT: the fakes of these tests

class CentralTest : public ::testing::Test, protected CentralFixture {
 protected:
  // CP1 started, its keys loaded and its monitor registered: ACTIVE, ready to charge.
  static void LinkCp1(Central& central) {
    ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
    ASSERT_TRUE(central.LoadKeys("CP1").ok());
    ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
  }
};

// Registry events can reach central late (after a restart its consumer group
// rejoins first): a CP the registry knows is looked up, not refused.
TEST_F(CentralTest, UnknownCpIsLookedUpAtTheRegistryBeforeItsMonitorIsRefused) {
  CheckingPublisher checking(store);
  {
    auto first = Wire({.publisher = &checking});
    Central& central = first->central;
    ASSERT_TRUE(central.Start({}).ok());
    EXPECT_TRUE(absl::IsNotFound(central.MonitorRegistered("NEW", Ok()))) << "no lookup: refused";
  }
  class Registry : public CatalogueLookup {
   public:
    absl::StatusOr<common::v1::ChargingPoint> Lookup(const std::string& id) override {
      asked.push_back(id);
      if (id == "NEW") return Cp("NEW");
      return absl::NotFoundError("no such charging point");
    }
    std::vector<std::string> asked;
  } registry;
  auto wired = Wire({.publisher = &checking, .catalogue = &registry});
  Central& central = wired->central;
  ASSERT_TRUE(central.Start({}).ok());
  ASSERT_TRUE(central.MonitorRegistered("NEW", Ok()).ok());
  absl::Status ghost = central.MonitorRegistered("GHOST", Ok());
  EXPECT_TRUE(absl::IsNotFound(ghost));
  EXPECT_NE(ghost.message().find("'GHOST' is not registered"), absl::string_view::npos) << ghost;
  ASSERT_TRUE(central.MonitorRegistered("NEW", Ok()).ok());
  EXPECT_EQ(registry.asked, (std::vector<std::string>{"NEW", "GHOST"}))
      << "a known CP is not looked up again";
}

TEST_F(CentralTest, AuthoriseLeavesOnlyAfterTheSupplyIsDurable) {
  CheckingPublisher checking(store);
  auto wired = Wire({.publisher = &checking});
  Central& central = wired->central;
  ASSERT_NO_FATAL_FAILURE(LinkCp1(central));
  auto supply = central.RequestCharge(tokens.CallerOf(tokens.For("ana")), "CP1", "ana", "r1");
  ASSERT_TRUE(supply.ok()) << supply.status();
  EXPECT_FALSE(checking.authorize_before_durable);
  bool sent = false;
  for (const auto& r : checking.records()) {
    if (r.topic != topics::kEngineCommands || r.key != "CP1") continue;
    // Commands leave sealed under the CP's key.
    absl::StatusOr<events::v1::EngineCommand> command = OpenCommand(r.payload, keys.key);
    ASSERT_TRUE(command.ok()) << command.status();
    sent |= command->has_authorize();
  }
  EXPECT_TRUE(sent);
  central.Stop();
}

// Central started with CP1 in its catalogue and CP1's monitor linked.
class LinkedCentralTest : public CentralTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
    ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
  }
  std::unique_ptr<WiredCentral> wired = Wire();
  Central& central = wired->central;
};

TEST_F(LinkedCentralTest, ChargeNeedsAValidTokenOfThatDriver) {
  EXPECT_TRUE(absl::IsUnauthenticated(central.RequestCharge(tokens.CallerOf(""), "CP1", "ana", "r1").status()));
  EXPECT_TRUE(absl::IsUnauthenticated(central.RequestCharge(tokens.CallerOf("not.a.jwt"), "CP1", "ana", "r1").status()));
  EXPECT_TRUE(absl::IsUnauthenticated(
      central.RequestCharge(tokens.CallerOf(tokens.For("ana", kRoleDriver, -absl::Seconds(1))), "CP1", "ana", "r1").status()));
  EXPECT_TRUE(absl::IsPermissionDenied(central.RequestCharge(tokens.CallerOf(tokens.For("luis")), "CP1", "ana", "r1").status()));
  EXPECT_TRUE(absl::IsPermissionDenied(
      central.RequestCharge(tokens.CallerOf(tokens.For("admin", kRoleOperator)), "CP1", "", "r1").status()));
  auto supply = central.RequestCharge(tokens.CallerOf(tokens.For("ana")), "CP1", "", "r1");
  ASSERT_TRUE(supply.ok()) << supply.status();
  EXPECT_EQ(supply->driver_id(), "ana");
  // Luis cannot stop Ana's supply, even with his own valid token.
  EXPECT_TRUE(absl::IsPermissionDenied(central.StopCharge(tokens.CallerOf(tokens.For("luis")), supply->supply_id(), "").status()));
  EXPECT_TRUE(central.StopCharge(tokens.CallerOf(tokens.For("ana")), supply->supply_id(), "").ok());
  central.Stop();
}

// The state machine has no unknown-driver rule: a driver Caller is a verified
// account. A name no account holds has no token auth signed, so its request
// is refused here, at the entry point, and audited; nothing is authorised.
TEST_F(LinkedCentralTest, ADriverNoAccountHoldsIsRefusedAtTheEntryPoint) {
  TestTokens another_auth;  // signs with a key central does not trust
  absl::StatusOr<common::v1::Supply> ghost =
      central.RequestCharge(tokens.CallerOf(another_auth.For("ghost")), "CP1", "ghost", "r1");
  EXPECT_TRUE(absl::IsUnauthenticated(ghost.status())) << ghost.status();
  central.Stop();
  EXPECT_TRUE(store.open.empty());
  int refused = 0;
  for (const AuditRecord& a : store.audit) {
    refused += a.action == "charge_request_refused" && a.actor == "ghost" && a.cp_id == "CP1" &&
               a.category == AuditCategory::kSecurity;
  }
  EXPECT_EQ(refused, 1);
  for (const auto& r : publisher.records()) EXPECT_NE(r.topic, topics::kEngineCommands);
}

// A driver's first charge does not wait for auth to hand over the driver's
// notification key: the charge is authorised and its engine commanded while
// the key is on the way; the driver's notice leaves once it comes.
TEST_F(CentralTest, AFirstChargeIsAuthorisedWhileTheDriversKeyIsStillBeingFetched) {
  class SlowAuth : public NotificationKeySource {
   public:
    explicit SlowAuth(TestTrust& trust) : trust_(trust) {}
    absl::StatusOr<NotificationKey> Key(const std::string& driver_id) override {
      answer.WaitForNotification();
      return trust_.Key(driver_id);
    }
    absl::Notification answer;

   private:
    TestTrust& trust_;
  } auth(trust);
  auto wired = Wire({.notification_keys = &auth});
  Central& central = wired->central;
  ASSERT_NO_FATAL_FAILURE(LinkCp1(central));
  auto supply = central.RequestCharge(tokens.CallerOf(tokens.For("ana")), "CP1", "ana", "r1");
  ASSERT_TRUE(supply.ok()) << supply.status();
  EXPECT_EQ(supply->phase(), common::v1::SUPPLY_PHASE_AUTHORIZED);
  auto count = [&](const std::string& topic) {
    int n = 0;
    for (const auto& r : publisher.records()) n += r.topic == topic;
    return n;
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (count(topics::kEngineCommands) == 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(count(topics::kEngineCommands), 1) << "the engine is told while auth has not answered";
  EXPECT_EQ(count(topics::kDriverNotifications), 0);
  auth.answer.Notify();
  central.Stop();  // waits for the notices queued behind the key
  int told = 0;
  for (const auto& r : publisher.records()) {
    events::v1::SealedNotification sealed;
    if (r.topic != topics::kDriverNotifications || !sealed.ParseFromString(r.payload)) continue;
    told += OpenNotification(*trust.Key("ana"), "ana", sealed).ok();
  }
  EXPECT_GE(told, 1) << "the acceptance reached ana, sealed for her";
}

TEST_F(CentralTest, TicketsAreStoredOnceAndResentAfterARestartUntilDelivered) {
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
    auto wired = Wire({.publisher = &lossy});
    Central& central = wired->central;
    ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
    ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
    auto supply = central.RequestCharge(tokens.CallerOf(tokens.For("ana")), "CP1", "ana", "r1");
    ASSERT_TRUE(supply.ok());
    supply_id = supply->supply_id();
    ASSERT_TRUE(central.StopCharge(tokens.CallerOf(tokens.For("ana")), supply_id, "ana").ok());  // before plug: ends at once
    central.Stop();
  }
  ASSERT_EQ(store.tickets.size(), 1u);
  EXPECT_TRUE(store.published.empty());
  auto wired = Wire({.notification_keys = &trust});
  Central& restarted = wired->central;
  ASSERT_TRUE(restarted.Start({Cp("CP1")}).ok());
  // Sent once ana's key is fetched; Stop waits for that and flushes the outbox mark.
  restarted.Stop();
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
  EXPECT_EQ(store.published.count(supply_id), 1u);
  auto view = Wire()->central.GetSupply(supply_id);
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->has_ticket());
}

// Issue 21: a ticket whose delivery failed does not wait for the next start.
TEST_F(CentralTest, AFailedTicketIsRetriedWithoutARestartUntilDelivered) {
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
  FailsTickets failing(trust);
  auto wired = Wire({.publisher = &failing,
                     .config = {.command_resend_interval = absl::Milliseconds(50)},
                     .notification_keys = &trust});
  Central& central = wired->central;
  ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
  ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
  auto supply = central.RequestCharge(tokens.CallerOf(tokens.For("ana")), "CP1", "ana", "r1");
  ASSERT_TRUE(supply.ok());
  ASSERT_TRUE(central.StopCharge(tokens.CallerOf(tokens.For("ana")), supply->supply_id(), "ana").ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (failing.ticket_attempts.load() < 3 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(failing.ticket_attempts.load(), 3) << "two failures, then delivered";
  central.Stop();  // flushes the outbox mark
  EXPECT_EQ(store.published.count(supply->supply_id()), 1u);
}

TEST_F(CentralTest, AHealthReportNamingAMalformedSupplyIsRefused) {
  auto wired = Wire();
  Central& central = wired->central;
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

TEST_F(CentralTest, HoldsAreDurableAndSurviveARestart) {
  {
    auto first = Wire();
    Central& central = first->central;
    ASSERT_TRUE(central.Start({Cp("CP1"), Cp("CP2")}).ok());
    ASSERT_TRUE(central.OperatorStop(Caller::Operator("admin"), "CP1", false).ok());
    auto r = central.ApplyWeatherHolds({{"CP2", "Alicante (ES) 45.0 °C"}}, Caller::Service("weather"));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->held, std::vector<std::string>{"CP2"});
    // Returned once durable: the store already has both.
    absl::MutexLock lock(&store.mu);
    EXPECT_EQ(store.holds.size(), 2u);
  }
  auto wired = Wire();
  Central& restarted = wired->central;
  ASSERT_TRUE(restarted.Start({Cp("CP1"), Cp("CP2")}).ok());
  ASSERT_TRUE(restarted.MonitorRegistered("CP1", Ok()).ok());
  ASSERT_TRUE(restarted.MonitorRegistered("CP2", Ok()).ok());
  for (const auto& s : restarted.Snapshot()) {
    EXPECT_EQ(s.state(), common::v1::CP_STATE_OUT_OF_SERVICE) << s.charging_point().cp_id();
  }
  EXPECT_EQ(restarted.ApplyWeatherHolds({{"CP2", "Alicante (ES) 45.0 °C"}}, Caller::Service("weather"))->held.size(), 0u);
  EXPECT_FALSE(restarted.ApplyWeatherHolds({{"bad id!", ""}}, Caller::Service("weather")).ok());
}

TEST_F(CentralTest, LiveSettingsAreStoredBeforeTheyApplyAndSurviveARestart) {
  v1::UpdateCentralConfigRequest change;
  change.mutable_config()->mutable_link_timeout()->set_seconds(3);
  change.mutable_update_mask()->add_paths("link_timeout");
  {
    auto first = Wire();
    Central& central = first->central;
    ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
    EXPECT_FALSE(central.Config().has_updated_at()) << "the flags are in force";
    auto updated = central.UpdateConfig(Caller::Operator("admin"), change.config(), {"link_timeout"});
    ASSERT_TRUE(updated.ok()) << updated.status();
    EXPECT_EQ(updated->link_timeout().seconds(), 3);
    EXPECT_EQ(updated->updated_by(), Caller::Operator("admin").AuditName());
    EXPECT_TRUE(updated->has_updated_at());
    absl::MutexLock lock(&store.mu);
    ASSERT_TRUE(store.config.has_value());
    EXPECT_EQ(store.config->link_timeout().seconds(), 3);
    EXPECT_EQ(store.config->plug_timeout().seconds(), 120) << "stored whole";
    bool audited = false;
    for (const auto& a : store.audit) audited |= a.action == "config_changed";
    EXPECT_TRUE(audited) << "returned once the audit record is durable";
  }
  auto wired = Wire();
  Central& restarted = wired->central;
  ASSERT_TRUE(restarted.Start({Cp("CP1")}).ok());
  EXPECT_EQ(restarted.Config().link_timeout().seconds(), 3);
  EXPECT_EQ(restarted.Config().updated_by(), Caller::Operator("admin").AuditName());
}

TEST_F(CentralTest, ARefusedSettingChangesNothingAndStoresNothing) {
  auto wired = Wire();
  Central& central = wired->central;
  ASSERT_TRUE(central.Start({}).ok());
  v1::CentralConfig change;
  change.mutable_health_interval()->set_seconds(3);  // 9 s > the 5 s link timeout
  auto refused = central.UpdateConfig(Caller::Operator("admin"), change, {});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(central.health_interval(), absl::Seconds(1));
  absl::MutexLock lock(&store.mu);
  EXPECT_FALSE(store.config.has_value());
}

TEST_F(CentralTest, AStoredConfigurationThatCannotBeTakenLeavesTheFlagsInForce) {
  {
    absl::MutexLock lock(&store.mu);
    store.config.emplace();
    store.config->mutable_link_timeout()->set_seconds(-4);
  }
  auto wired = Wire();
  Central& central = wired->central;
  ASSERT_TRUE(central.Start({}).ok()) << "central starts on its flags";
  EXPECT_EQ(central.Config().link_timeout().seconds(), 5);
  EXPECT_FALSE(central.Config().has_updated_at());
  ASSERT_TRUE(central.WaitForJournal().ok());
  absl::MutexLock lock(&store.mu);
  bool reported = false;
  for (const auto& a : store.audit) reported |= a.action == "config_not_restored";
  EXPECT_TRUE(reported);
}

TEST_F(CentralTest, OpenSuppliesAreRestoredOnStart) {
  SupplyRecord s;
  s.supply_id = "s1";
  s.cp_id = "CP1";
  s.driver_id = "ana";
  s.phase = common::v1::SUPPLY_PHASE_CHARGING;
  s.authorized_at = absl::Now();
  s.energy_wh = 100;
  s.price_millieuros_per_kwh = 400;
  store.open["s1"] = s;
  auto wired = Wire();
  Central& central = wired->central;
  ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
  auto view = central.GetSupply("s1");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->supply().energy_wh(), 100);
  // The driver is still busy with it.
  ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
  EXPECT_EQ(central.RequestCharge(tokens.CallerOf(tokens.For("ana")), "CP1", "ana", "r9").status().code(),
            absl::StatusCode::kFailedPrecondition);
  central.Stop();
}

// A watcher that keeps what it is offered.
class RecordingWatcher : public Watcher {
 public:
  bool Offer(const SharedUpdate& update) override {
    updates.push_back(update);
    return true;
  }
  void End() override {}
  std::vector<SharedUpdate> updates;
};

// 50,000 CPs in one snapshot message passed gRPC's default 4 MiB limit, and
// every watcher (the edge, the dashboards, the bench) then failed to read it.
TEST_F(CentralTest, ALargeNetworksSnapshotComesInPartsThatAddUpToTheWholeNetworkInOrder) {
  const size_t cps = 2 * Central::kSnapshotPartSize + 7;
  std::vector<common::v1::ChargingPoint> catalogue;
  for (size_t i = 0; i < cps; ++i) catalogue.push_back(Cp(absl::StrFormat("CP-%05d", i)));
  auto wired = Wire();
  Central& central = wired->central;
  ASSERT_TRUE(central.Start(catalogue).ok());
  RecordingWatcher watcher;
  central.Watch(&watcher);
  central.Unwatch(&watcher);

  ASSERT_EQ(watcher.updates.size(), 3u);
  std::vector<std::string> seen;
  for (size_t part = 0; part < watcher.updates.size(); ++part) {
    ASSERT_TRUE(watcher.updates[part]->has_snapshot()) << part;
    const central::v1::NetworkSnapshot& snapshot = watcher.updates[part]->snapshot();
    EXPECT_EQ(snapshot.continued(), part > 0) << "only the first part replaces what a watcher knew";
    EXPECT_LE(snapshot.charging_points_size(), static_cast<int>(Central::kSnapshotPartSize));
    EXPECT_LT(snapshot.ByteSizeLong(), 1024u * 1024u) << "far inside gRPC's 4 MiB";
    for (const auto& cp : snapshot.charging_points()) seen.push_back(cp.charging_point().cp_id());
  }
  ASSERT_EQ(seen.size(), cps) << "every CP once";
  for (size_t i = 0; i < cps; ++i) EXPECT_EQ(seen[i], absl::StrFormat("CP-%05d", i));
  central.Stop();
}

TEST_F(CentralTest, AnEmptyNetworksSnapshotIsOneEmptyPart) {
  auto wired = Wire();
  Central& central = wired->central;
  ASSERT_TRUE(central.Start({}).ok());
  RecordingWatcher watcher;
  central.Watch(&watcher);
  central.Unwatch(&watcher);
  ASSERT_EQ(watcher.updates.size(), 1u);
  EXPECT_TRUE(watcher.updates[0]->has_snapshot());
  EXPECT_FALSE(watcher.updates[0]->snapshot().continued());
  EXPECT_EQ(watcher.updates[0]->snapshot().charging_points_size(), 0);
  central.Stop();
}

}  // namespace
}  // namespace evc::central
