#include "services/cp/engine.h"

#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "services/common/proto_time.h"

namespace evc::cp {
namespace {

class Recorder : public EngineOutput {
 public:
  void Send(const events::v1::EngineEvent& e, const events::v1::SealedEnvelope& sealed) override {
    events.push_back(e);
    envelopes.push_back(sealed);
  }
  std::vector<events::v1::SealedEnvelope> envelopes;
  void Say(const std::string&, const std::string& line) override { lines.push_back(line); }
  std::vector<events::v1::EngineEvent> events;
  std::vector<std::string> lines;
};

class EngineTest : public ::testing::Test {
 protected:
  void Activate() {
    engine.SetCommandChannelReady();
    cp::v1::ActivateRequest a;
    a.set_cp_id("CP1");
    a.set_key_id("k1");
    a.set_key(std::string(32, 'k'));
    ASSERT_TRUE(engine.Activate(a).ok());
  }
  events::v1::EngineCommand Authorize(const std::string& supply = "s1") {
    events::v1::EngineCommand c;
    c.set_cp_id("CP1");
    *c.mutable_sent_at() = ToProto(now);
    c.mutable_authorize()->set_supply_id(supply);
    c.mutable_authorize()->set_driver_id("ana");
    c.mutable_authorize()->set_price_millieuros_per_kwh(350);
    return c;
  }

  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  Recorder out;
  Engine engine{EngineOptions{.power_w = 36000}, out};
};

TEST_F(EngineTest, RefusesActivationUntilCommandsCanArrive) {
  cp::v1::ActivateRequest a;
  a.set_cp_id("CP1");
  a.set_key_id("k1");
  a.set_key(std::string(32, 'k'));
  EXPECT_EQ(engine.Activate(a).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(engine.Check().activated());
}

TEST_F(EngineTest, ServesNothingBeforeActivation) {
  engine.OnCommand(Authorize(), now);
  EXPECT_TRUE(engine.Check().supply_id().empty());
  engine.RequestWalkIn(now);
  EXPECT_TRUE(out.events.empty());
}

TEST_F(EngineTest, PlugSuppliesAndReportsCumulativeTelemetry) {
  Activate();
  engine.OnCommand(Authorize(), now);
  EXPECT_EQ(engine.Check().supply_id(), "s1");
  engine.Plug(now);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_TRUE(out.events[0].has_started());
  for (int i = 0; i < 3; ++i) {
    now += absl::Seconds(1);
    engine.Tick(now);
  }
  ASSERT_EQ(out.events.size(), 4u);
  const auto& t = out.events[3].telemetry();
  EXPECT_EQ(t.seq(), 3u);
  EXPECT_EQ(t.energy_wh(), 30);  // 36 kW for 3 s
  EXPECT_EQ(t.amount_millieuros(), 11);
  now += absl::Milliseconds(500);
  engine.Unplug(now);
  const auto& done = out.events.back().completed();
  EXPECT_EQ(done.seq(), 4u);
  EXPECT_EQ(done.energy_wh(), 35);
  EXPECT_EQ(done.reason(), common::v1::END_REASON_UNPLUGGED);
  EXPECT_TRUE(engine.Check().supply_id().empty());
}

TEST_F(EngineTest, StopCommandEndsOnlyItsOwnSupply) {
  Activate();
  engine.OnCommand(Authorize(), now);
  engine.Plug(now);
  events::v1::EngineCommand stop;
  stop.set_cp_id("CP1");
  stop.mutable_stop()->set_supply_id("other");
  engine.OnCommand(stop, now);
  EXPECT_EQ(engine.Check().supply_id(), "s1");
  stop.mutable_stop()->set_supply_id("s1");
  stop.mutable_stop()->set_reason(common::v1::END_REASON_OPERATOR_STOP);
  engine.OnCommand(stop, now);
  EXPECT_EQ(out.events.back().completed().reason(), common::v1::END_REASON_OPERATOR_STOP);
}

// Fencing reaches the hardware: once a command of a newer central leader term
// arrived, a deposed leader's late commands change nothing; commands of a
// central without election (term 0) still count.
TEST_F(EngineTest, CommandsOfADeposedLeaderAreRefusedOnceANewerTermSpoke) {
  Activate();
  auto authorise = Authorize("s1");
  authorise.set_leader_epoch(7);
  engine.OnCommand(authorise, now);
  engine.Plug(now);
  events::v1::EngineCommand stop;
  stop.set_cp_id("CP1");
  stop.mutable_stop()->set_supply_id("s1");
  stop.set_leader_epoch(6);
  engine.OnCommand(stop, now);
  EXPECT_EQ(engine.Check().supply_id(), "s1") << "term 6 spoke after term 7";
  EXPECT_NE(out.lines.back().find("ignored a command of central leader term 6: term 7 has taken over"),
            std::string::npos);
  stop.set_leader_epoch(8);
  engine.OnCommand(stop, now);
  EXPECT_TRUE(engine.Check().supply_id().empty());
  auto late = Authorize("s2");
  late.set_leader_epoch(7);
  engine.OnCommand(late, now);
  EXPECT_TRUE(engine.Check().supply_id().empty()) << "term 7 is deposed by term 8";
  engine.OnCommand(Authorize("s3"), now);
  EXPECT_EQ(engine.Check().supply_id(), "s3");
}

// Central offers an authorisation again when it cannot know whether the
// first reached the engine (a restart between journal and send): the copy is
// a no-op while the supply runs and after it ended.
TEST_F(EngineTest, AnAuthorisationOfferedAgainNeverStartsItsSupplyTwice) {
  Activate();
  engine.OnCommand(Authorize("s1"), now);
  engine.Plug(now);
  engine.OnCommand(Authorize("s1"), now);
  EXPECT_EQ(engine.Check().supply_id(), "s1");
  ASSERT_EQ(out.events.size(), 1u);
  engine.Unplug(now + absl::Seconds(1));
  ASSERT_TRUE(out.events.back().has_completed());
  const size_t events = out.events.size();
  engine.OnCommand(Authorize("s1"), now + absl::Seconds(2));
  EXPECT_TRUE(engine.Check().supply_id().empty());
  EXPECT_EQ(out.events.size(), events);
  EXPECT_EQ(out.lines.back(), "ignored authorisation s1: that supply has ended");
  engine.OnCommand(Authorize("s2"), now + absl::Seconds(3));
  EXPECT_EQ(engine.Check().supply_id(), "s2");
}

TEST_F(EngineTest, StaleAndForeignCommandsAreIgnored) {
  Activate();
  auto stale = Authorize();
  *stale.mutable_sent_at() = ToProto(now - absl::Minutes(5));
  engine.OnCommand(stale, now);
  auto foreign = Authorize();
  foreign.set_cp_id("CP2");
  engine.OnCommand(foreign, now);
  EXPECT_TRUE(engine.Check().supply_id().empty());
}

// An authorisation central's rules could never produce (found by
// cp_engine_command_fuzz: a huge price overflowed the amount) is refused and said.
TEST_F(EngineTest, AuthorisationsOutsideCentralsRulesAreRefused) {
  Activate();
  const size_t said_before = out.lines.size();
  for (int64_t price : {int64_t{0}, int64_t{-350}, int64_t{100'001}, std::numeric_limits<int64_t>::max()}) {
    auto priced = Authorize();
    priced.mutable_authorize()->set_price_millieuros_per_kwh(price);
    engine.OnCommand(priced, now);
  }
  engine.OnCommand(Authorize(std::string(65, 's')), now);
  auto bad_driver = Authorize();
  bad_driver.mutable_authorize()->set_driver_id("ana\n");
  engine.OnCommand(bad_driver, now);
  EXPECT_TRUE(engine.Check().supply_id().empty());
  ASSERT_EQ(out.lines.size() - said_before, 6u);
  EXPECT_NE(out.lines[said_before].find("malformed authorisation: price_millieuros_per_kwh must be between 1"),
            std::string::npos);
  engine.OnCommand(Authorize(), now);
  EXPECT_EQ(engine.Check().supply_id(), "s1");
}

TEST_F(EngineTest, FaultIsReportedAndStopsTheMeter) {
  Activate();
  engine.OnCommand(Authorize(), now);
  engine.Plug(now);
  engine.Fault();
  EXPECT_FALSE(engine.Check().ok());
  size_t before = out.events.size();
  now += absl::Seconds(2);
  engine.Tick(now);
  EXPECT_EQ(out.events.size(), before);
  engine.Repair();
  EXPECT_TRUE(engine.Check().ok());
}

TEST_F(EngineTest, AutoPlugAndAutoUnplug) {
  Recorder rec;
  Engine auto_engine({.power_w = 3600, .auto_plug = true, .auto_unplug_after = absl::Seconds(2)}, rec);
  auto_engine.SetCommandChannelReady();
  cp::v1::ActivateRequest a;
  a.set_cp_id("CP1");
  EXPECT_TRUE(absl::IsInvalidArgument(auto_engine.Activate(a)));
  a.set_key_id("k1");
  a.set_key(std::string(32, 'k'));
  ASSERT_TRUE(auto_engine.Activate(a).ok());
  auto_engine.OnCommand(Authorize(), now);
  ASSERT_TRUE(rec.events.at(0).has_started());
  now += absl::Seconds(1);
  auto_engine.Tick(now);
  now += absl::Seconds(1);
  auto_engine.Tick(now);
  EXPECT_TRUE(rec.events.back().has_completed());
  EXPECT_EQ(rec.events.back().completed().energy_wh(), 2);
}

TEST_F(EngineTest, WalkInWaitsForCentralsAnswer) {
  Activate();
  engine.RequestWalkIn(now);
  ASSERT_TRUE(out.events.back().has_walk_in());
  events::v1::EngineCommand reject;
  reject.set_cp_id("CP1");
  reject.mutable_walk_in_rejected()->set_request_id(out.events.back().walk_in().request_id());
  reject.mutable_walk_in_rejected()->set_detail("charging point is OUT_OF_SERVICE");
  engine.OnCommand(reject, now);
  EXPECT_NE(out.lines.back().find("REJECTED"), std::string::npos);
}

std::string SealCommand(const events::v1::EngineCommand& c, const CpKey& key, uint64_t counter) {
  return SealEnvelope(events::v1::SealedEnvelope::DIRECTION_CENTRAL_TO_ENGINE, "CP1", key, counter,
                      c.SerializeAsString())
      ->SerializeAsString();
}

TEST_F(EngineTest, EventsLeaveSealedUnderTheCpKey) {
  Activate();
  engine.OnCommand(Authorize(), now);
  engine.Plug(now);
  ASSERT_FALSE(out.envelopes.empty());
  const CpKey key{"k1", std::string(32, 'k')};
  auto lookup = [&](const std::string&, const std::string& id) { return id == "k1" ? &key : nullptr; };
  for (size_t i = 0; i < out.envelopes.size(); ++i) {
    absl::StatusOr<OpenedEnvelope> opened =
        OpenEnvelope(out.envelopes[i].SerializeAsString(),
                     events::v1::SealedEnvelope::DIRECTION_ENGINE_TO_CENTRAL, lookup, now);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(opened->plaintext, out.events[i].SerializeAsString());
    if (i > 0) EXPECT_GT(out.envelopes[i].counter(), out.envelopes[i - 1].counter());
  }
}

TEST_F(EngineTest, SealedCommandsRunOnceAndForgeriesAreRefused) {
  Activate();
  const CpKey key{"k1", std::string(32, 'k')};
  const std::string wire = SealCommand(Authorize(), key, 100);
  ASSERT_TRUE(engine.OnSealedCommand(wire, now).ok());
  EXPECT_EQ(engine.Check().supply_id(), "s1");
  EXPECT_TRUE(absl::IsFailedPrecondition(engine.OnSealedCommand(wire, now)));  // replay
  const CpKey forged{"k1", std::string(32, 'x')};
  EXPECT_TRUE(absl::IsUnauthenticated(engine.OnSealedCommand(SealCommand(Authorize("s2"), forged, 200), now)));
  EXPECT_FALSE(engine.OnSealedCommand("garbage", now).ok());
  EXPECT_EQ(engine.Check().supply_id(), "s1");
}

TEST_F(EngineTest, RotatedKeySealsNewEventsAndTheOldStillOpensCommands) {
  Activate();
  cp::v1::ActivateRequest rotate;
  rotate.set_cp_id("CP1");
  rotate.set_key_id("k2");
  rotate.set_key(std::string(32, 'n'));
  ASSERT_TRUE(engine.Activate(rotate).ok());
  EXPECT_EQ(engine.Check().key_id(), "k2");
  ASSERT_TRUE(engine.OnSealedCommand(SealCommand(Authorize(), {"k1", std::string(32, 'k')}, 5), now).ok());
  engine.Plug(now);
  ASSERT_FALSE(out.envelopes.empty());
  EXPECT_EQ(out.envelopes.back().key_id(), "k2");
}

// Central asks for a report when a running supply went quiet: the engine
// answers with its figures now, and only for the supply it runs.
TEST_F(EngineTest, AReportRequestIsAnsweredWithTelemetryForItsOwnSupplyOnly) {
  Activate();
  engine.OnCommand(Authorize("s1"), now);
  engine.Plug(now);
  const size_t before = out.events.size();
  events::v1::EngineCommand ask;
  ask.set_cp_id("CP1");
  ask.mutable_report_supply()->set_supply_id("other");
  engine.OnCommand(ask, now);
  EXPECT_EQ(out.events.size(), before);
  now += absl::Seconds(2);
  ask.mutable_report_supply()->set_supply_id("s1");
  engine.OnCommand(ask, now);
  ASSERT_EQ(out.events.size(), before + 1);
  EXPECT_EQ(out.events.back().telemetry().supply_id(), "s1");
  EXPECT_EQ(out.events.back().telemetry().energy_wh(), 20);  // 36 kW for 2 s
}

// A STOP sent again (central's outbox) after the supply ended is a no-op.
TEST_F(EngineTest, AStopSentAgainAfterTheSupplyEndedChangesNothing) {
  Activate();
  engine.OnCommand(Authorize("s1"), now);
  engine.Plug(now);
  events::v1::EngineCommand stop;
  stop.set_cp_id("CP1");
  stop.mutable_stop()->set_supply_id("s1");
  engine.OnCommand(stop, now);
  const size_t after_first = out.events.size();
  engine.OnCommand(stop, now);
  EXPECT_EQ(out.events.size(), after_first);
  EXPECT_TRUE(engine.Check().supply_id().empty());
}

}  // namespace
}  // namespace evc::cp

namespace evc::cp {
namespace {

TEST_F(EngineTest, ChargesAtCentralsPowerLimitAndFollowsItsChanges) {
  Activate();
  events::v1::EngineCommand authorize = Authorize();
  authorize.mutable_authorize()->set_power_limit_w(18000);
  engine.OnCommand(authorize, now);
  engine.Plug(now);
  for (int i = 0; i < 10; ++i) {
    now += absl::Seconds(1);
    engine.Tick(now);
  }
  EXPECT_EQ(out.events.back().telemetry().power_w(), 18000);
  EXPECT_EQ(out.events.back().telemetry().energy_wh(), 50);  // 18 kW for 10 s

  events::v1::EngineCommand limit;
  limit.set_cp_id("CP1");
  *limit.mutable_sent_at() = ToProto(now);
  limit.mutable_set_power_limit()->set_supply_id("s1");
  limit.mutable_set_power_limit()->set_power_limit_w(72000);  // above the engine's 36 kW
  const size_t before = out.events.size();
  engine.OnCommand(limit, now);
  ASSERT_EQ(out.events.size(), before + 1) << "the new power is reported at once";
  EXPECT_EQ(out.events.back().telemetry().power_w(), 36000);
  EXPECT_EQ(out.events.back().telemetry().energy_wh(), 50);
  for (int i = 0; i < 10; ++i) {
    now += absl::Seconds(1);
    engine.Tick(now);
  }
  EXPECT_EQ(out.events.back().telemetry().power_w(), 36000) << "never above its own maximum";
  EXPECT_EQ(out.events.back().telemetry().energy_wh(), 150);  // + 36 kW for 10 s

  limit.mutable_set_power_limit()->set_supply_id("another");
  limit.mutable_set_power_limit()->set_power_limit_w(1000);
  engine.OnCommand(limit, now);
  limit.mutable_set_power_limit()->set_supply_id("s1");
  limit.mutable_set_power_limit()->set_power_limit_w(-5);
  engine.OnCommand(limit, now);
  now += absl::Seconds(1);
  engine.Tick(now);
  EXPECT_EQ(out.events.back().telemetry().power_w(), 36000)
      << "another supply's or a negative limit changes nothing";
}

TEST_F(EngineTest, AnAuthorisationWithANegativePowerLimitIsRefused) {
  Activate();
  events::v1::EngineCommand authorize = Authorize();
  authorize.mutable_authorize()->set_power_limit_w(-1);
  engine.OnCommand(authorize, now);
  EXPECT_TRUE(engine.Check().supply_id().empty());
}

}  // namespace
}  // namespace evc::cp
