#include "services/central/network.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace evc::central {
namespace {

using common::v1::CpState;

class NetworkTest : public ::testing::Test {
 protected:
  NetworkTest() {
    common::v1::ChargingPoint cp;
    cp.set_cp_id("CP1");
    cp.mutable_location()->set_city("Alicante");
    cp.set_price_millieuros_per_kwh(350);
    cp.set_max_power_w(22000);
    net.UpsertChargingPoint(cp, now, fx);
    cp.set_cp_id("CP2");
    net.UpsertChargingPoint(cp, now, fx);
  }

  CpState State(const std::string& id = "CP1") { return net.Status(id)->state(); }
  central::v1::Health Healthy(bool ok = true) {
    central::v1::Health h;
    h.set_engine_ok(ok);
    if (!ok) h.set_detail("engine unreachable");
    return h;
  }
  void Link(const std::string& id = "CP1") {
    ASSERT_TRUE(net.MonitorRegistered(id, Healthy(), now, fx).ok());
  }
  SupplyRecord Charge(const std::string& cp = "CP1", const std::string& driver = "ana") {
    fx = Effects();
    ChargeDecision d = net.RequestCharge(cp, Caller::Driver(driver), "req-" + driver, now, fx);
    EXPECT_TRUE(d.accepted()) << d.detail;
    return *d.supply;
  }
  // A supply as central stored it before a restart.
  SupplyRecord Stored(const std::string& id, const std::string& cp, const std::string& driver,
                      common::v1::SupplyPhase phase) {
    SupplyRecord s;
    s.supply_id = id;
    s.cp_id = cp;
    s.driver_id = driver;
    s.phase = phase;
    s.authorized_at = now;
    s.price_millieuros_per_kwh = 350;
    return s;
  }
  events::v1::EngineEvent Event(const std::string& cp = "CP1") {
    events::v1::EngineEvent e;
    e.set_cp_id(cp);
    return e;
  }
  void Telemetry(const SupplyRecord& s, uint64_t seq, int64_t wh) {
    auto e = Event(s.cp_id);
    e.mutable_telemetry()->set_supply_id(s.supply_id);
    e.mutable_telemetry()->set_seq(seq);
    e.mutable_telemetry()->set_energy_wh(wh);
    e.mutable_telemetry()->set_power_w(22000);
    net.OnEngineEvent(e, now, fx);
  }
  void Complete(const SupplyRecord& s, uint64_t seq, int64_t wh,
                common::v1::EndReason reason = common::v1::END_REASON_UNPLUGGED) {
    auto e = Event(s.cp_id);
    e.mutable_completed()->set_supply_id(s.supply_id);
    e.mutable_completed()->set_seq(seq);
    e.mutable_completed()->set_energy_wh(wh);
    e.mutable_completed()->set_reason(reason);
    net.OnEngineEvent(e, now, fx);
  }
  // A health report of a working engine that runs `supply_id` ("" for none),
  // every second for `seconds`, with the timer running.
  void Reports(const std::string& supply_id, int seconds = 1, const std::string& cp = "CP1") {
    central::v1::Health h = Healthy();
    h.set_engine_supply_id(supply_id);
    for (int i = 0; i < seconds; ++i) {
      now += absl::Seconds(1);
      ASSERT_TRUE(net.MonitorHealth(cp, h, now, fx).ok());
      net.Tick(now, fx);
    }
  }
  std::vector<events::v1::EngineCommand> Commands(
      bool (events::v1::EngineCommand::*has)() const) {
    std::vector<events::v1::EngineCommand> out;
    for (const auto& c : fx.commands) {
      if ((c.*has)()) out.push_back(c);
    }
    return out;
  }
  int Audited(const std::string& action) {
    int n = 0;
    for (const auto& a : fx.audit) n += a.action == action;
    return n;
  }
  bool HasCommand(bool (events::v1::EngineCommand::*has)() const) {
    for (const auto& c : fx.commands) {
      if ((c.*has)()) return true;
    }
    return false;
  }

  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  ChargingNetwork net;
  Effects fx;
  const Caller olga = Caller::Operator("olga");
  const Caller weather = Caller::Service("weather");
  const Caller registry = Caller::Service("registry");
};

TEST_F(NetworkTest, NewCpIsDisconnectedUntilItsMonitorRegisters) {
  EXPECT_EQ(State(), common::v1::CP_STATE_DISCONNECTED);
  Link();
  EXPECT_EQ(State(), common::v1::CP_STATE_ACTIVE);
}

TEST_F(NetworkTest, UnknownCpCannotRegister) {
  EXPECT_EQ(net.MonitorRegistered("NOPE", Healthy(), now, fx).code(), absl::StatusCode::kNotFound);
}

TEST_F(NetworkTest, EngineKoFaultsAndOkRecovers) {
  Link();
  ASSERT_TRUE(net.MonitorHealth("CP1", Healthy(false), now, fx).ok());
  EXPECT_EQ(State(), common::v1::CP_STATE_FAULTED);
  EXPECT_EQ(net.Status("CP1")->fault_detail(), "engine unreachable");
  ASSERT_TRUE(net.MonitorHealth("CP1", Healthy(true), now, fx).ok());
  EXPECT_EQ(State(), common::v1::CP_STATE_ACTIVE);
}

TEST_F(NetworkTest, SilentMonitorDisconnectsAfterTheTimeout) {
  Link();
  now += absl::Seconds(4);
  net.Tick(now, fx);
  EXPECT_EQ(State(), common::v1::CP_STATE_ACTIVE);
  now += absl::Seconds(2);
  net.Tick(now, fx);
  EXPECT_EQ(State(), common::v1::CP_STATE_DISCONNECTED);
  // A health report brings it back.
  ASSERT_TRUE(net.MonitorHealth("CP1", Healthy(), now, fx).ok());
  EXPECT_EQ(State(), common::v1::CP_STATE_ACTIVE);
}

// Central ticks every 20 ms but checks a part of the CPs each time: every CP
// is checked once per `parts` ticks, whatever joined or left meanwhile.
TEST_F(NetworkTest, ATickInPartsChecksEachCpOncePerRoundOfParts) {
  common::v1::ChargingPoint cp;
  for (int i = 3; i <= 8; ++i) {
    cp.set_cp_id(absl::StrCat("CP", i));
    net.UpsertChargingPoint(cp, now, fx);
  }
  for (int i = 1; i <= 8; ++i) Link(absl::StrCat("CP", i));
  now += absl::Seconds(30);  // every link silent past its timeout
  auto disconnected = [&] {
    int n = 0;
    for (int i = 1; i <= 8; ++i) n += net.Status(absl::StrCat("CP", i)).has_value() &&
                                      State(absl::StrCat("CP", i)) == common::v1::CP_STATE_DISCONNECTED;
    return n;
  };
  net.Tick(now, fx, 4);
  EXPECT_EQ(disconnected(), 2) << "a quarter of the CPs per tick";
  net.RemoveChargingPoint("CP8", Caller::Operator("op"), now, fx);
  net.Tick(now, fx, 4);
  net.Tick(now, fx, 4);
  net.Tick(now, fx, 4);
  EXPECT_EQ(disconnected(), 7) << "four ticks: every CP still there, once";
}

TEST_F(NetworkTest, ALinkTimeoutChangedLiveAppliesFromTheNextTickAndIsAudited) {
  Link();
  NetworkConfig config = net.config();
  config.link_timeout = absl::Seconds(2);
  net.Reconfigure(config, olga, now, fx);
  ASSERT_EQ(Audited("config_changed"), 1);
  const AuditRecord& audit = fx.audit.back();
  EXPECT_EQ(audit.category, AuditCategory::kSystem);
  EXPECT_EQ(audit.actor, olga.AuditName());
  EXPECT_EQ(audit.details["changed"], nlohmann::json({{"link_timeout", "5s -> 2s"}}));
  now += absl::Milliseconds(2500);
  net.Tick(now, fx);
  EXPECT_EQ(State(), common::v1::CP_STATE_DISCONNECTED) << "2.5 s silent, under a 2 s timeout";
}

TEST_F(NetworkTest, APriceChangeAppliesToNewSuppliesNeverToARunningOne) {
  Link();
  SupplyRecord running = Charge();
  common::v1::ChargingPoint cp = net.Status("CP1")->charging_point();
  cp.set_price_millieuros_per_kwh(500);
  net.UpsertChargingPoint(cp, now, fx);
  fx = Effects();
  Complete(running, 1, 10000);
  ASSERT_EQ(fx.tickets.size(), 1u);
  EXPECT_EQ(fx.tickets[0].price_millieuros_per_kwh(), 350) << "the price when the supply began";
  EXPECT_EQ(fx.tickets[0].amount_millieuros(), 3500);
  EXPECT_EQ(Charge().price_millieuros_per_kwh, 500);
}

TEST_F(NetworkTest, AcceptedChargeAuthorisesTheEngineAndTellsTheDriver) {
  Link();
  SupplyRecord s = Charge();
  EXPECT_EQ(State(), common::v1::CP_STATE_SUPPLYING);
  EXPECT_EQ(s.price_millieuros_per_kwh, 350);
  ASSERT_EQ(fx.supplies_opened.size(), 1u);
  ASSERT_EQ(fx.commands.size(), 1u);
  EXPECT_EQ(fx.commands[0].authorize().supply_id(), s.supply_id);
  EXPECT_EQ(fx.commands[0].cp_id(), "CP1");
  ASSERT_EQ(fx.notices.size(), 1u);
  EXPECT_TRUE(fx.notices[0].has_accepted());
}

TEST_F(NetworkTest, EveryRejectionHasItsReason) {
  auto reason = [&](const std::string& cp, const std::string& driver) {
    return net.RequestCharge(cp, Caller::Driver(driver), "", now, fx).reason;
  };
  EXPECT_EQ(reason("NOPE", "ana"), common::v1::REJECT_REASON_UNKNOWN_CP);
  EXPECT_EQ(reason("CP1", "ana"), common::v1::REJECT_REASON_CP_DISCONNECTED);
  Link();
  ASSERT_TRUE(net.MonitorHealth("CP1", Healthy(false), now, fx).ok());
  EXPECT_EQ(reason("CP1", "ana"), common::v1::REJECT_REASON_CP_FAULTED);
  ASSERT_TRUE(net.MonitorHealth("CP1", Healthy(true), now, fx).ok());
  ASSERT_TRUE(net.OperatorStop("CP1", olga, now, fx).ok());
  EXPECT_EQ(reason("CP1", "ana"), common::v1::REJECT_REASON_CP_OUT_OF_SERVICE);
  ASSERT_TRUE(net.OperatorResume("CP1", olga, now, fx).ok());
  Charge("CP1", "ana");
  EXPECT_EQ(reason("CP1", "bob"), common::v1::REJECT_REASON_CP_BUSY);
  Link("CP2");
  EXPECT_EQ(reason("CP2", "ana"), common::v1::REJECT_REASON_DRIVER_ALREADY_CHARGING);
  // Rejections are audited.
  EXPECT_EQ(fx.audit.back().action, "charge_rejected");
}

TEST_F(NetworkTest, SameRequestIdGetsTheSameSupply) {
  Link();
  SupplyRecord s = Charge();
  ChargeDecision again = net.RequestCharge("CP1", Caller::Driver("ana"), "req-ana", now, fx);
  ASSERT_TRUE(again.accepted());
  EXPECT_EQ(again.supply->supply_id, s.supply_id);
}

TEST_F(NetworkTest, TelemetryAppliesOnceAndInOrder) {
  Link();
  SupplyRecord s = Charge();
  Telemetry(s, 1, 10);
  Telemetry(s, 2, 20);
  Telemetry(s, 2, 20);  // redelivered
  Telemetry(s, 1, 10);  // late
  EXPECT_EQ(net.FindSupply(s.supply_id)->energy_wh, 20);
  EXPECT_EQ(net.counters().telemetry_applied, 2);
  EXPECT_EQ(net.counters().telemetry_duplicates, 2);
  EXPECT_EQ(net.FindSupply(s.supply_id)->phase, common::v1::SUPPLY_PHASE_CHARGING);
}

TEST_F(NetworkTest, ShrinkingEnergyIsRejectedAsCorrupt) {
  Link();
  SupplyRecord s = Charge();
  Telemetry(s, 1, 100);
  Telemetry(s, 2, 50);
  EXPECT_EQ(net.FindSupply(s.supply_id)->energy_wh, 100);
  EXPECT_EQ(fx.audit.back().action, "telemetry_rejected");
}

TEST_F(NetworkTest, UnplugEndsWithOneTicketAndCorrectAmount) {
  Link();
  SupplyRecord s = Charge();
  Telemetry(s, 1, 5000);
  fx = Effects();
  Complete(s, 2, 12345);
  ASSERT_EQ(fx.tickets.size(), 1u);
  const auto& t = fx.tickets[0];
  EXPECT_EQ(t.energy_wh(), 12345);
  EXPECT_EQ(t.amount_millieuros(), 4321);  // 12.345 kWh * 0.35 €/kWh = 4.32075 €
  EXPECT_EQ(t.end_reason(), common::v1::END_REASON_UNPLUGGED);
  EXPECT_EQ(t.driver_id(), "ana");
  EXPECT_EQ(State(), common::v1::CP_STATE_ACTIVE);
  // A redelivered completion issues nothing more.
  fx = Effects();
  Complete(s, 2, 12345);
  EXPECT_TRUE(fx.tickets.empty());
}

TEST_F(NetworkTest, DriverStopWaitsForTheEngineThenTicketsWithDriverReason) {
  Link();
  SupplyRecord s = Charge();
  Telemetry(s, 1, 100);
  fx = Effects();
  auto stopped = net.DriverStop(s.supply_id, Caller::Driver("ana"), now, fx);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->phase, common::v1::SUPPLY_PHASE_STOPPING);
  EXPECT_TRUE(HasCommand(&events::v1::EngineCommand::has_stop));
  EXPECT_TRUE(fx.tickets.empty());
  Complete(s, 2, 120, common::v1::END_REASON_UNPLUGGED);
  ASSERT_EQ(fx.tickets.size(), 1u);
  EXPECT_EQ(fx.tickets[0].end_reason(), common::v1::END_REASON_DRIVER_STOP);
  EXPECT_EQ(fx.tickets[0].energy_wh(), 120);
}

TEST_F(NetworkTest, OnlyTheOwnerMayStopASupply) {
  Link();
  SupplyRecord s = Charge();
  EXPECT_EQ(net.DriverStop(s.supply_id, Caller::Driver("mallory"), now, fx).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(net.DriverStop("nope", Caller::Driver("ana"), now, fx).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(State(), common::v1::CP_STATE_SUPPLYING);
}

TEST_F(NetworkTest, StopBeforePlugEndsAtOnceWithZeroEnergy) {
  Link();
  SupplyRecord s = Charge();
  fx = Effects();
  ASSERT_TRUE(net.DriverStop(s.supply_id, Caller::Driver("ana"), now, fx).ok());
  ASSERT_EQ(fx.tickets.size(), 1u);
  EXPECT_EQ(fx.tickets[0].energy_wh(), 0);
  EXPECT_TRUE(HasCommand(&events::v1::EngineCommand::has_stop));
  EXPECT_EQ(State(), common::v1::CP_STATE_ACTIVE);
}

TEST_F(NetworkTest, FaultDuringSupplyEndsItAtOnce) {
  Link();
  SupplyRecord s = Charge();
  Telemetry(s, 1, 700);
  fx = Effects();
  ASSERT_TRUE(net.MonitorHealth("CP1", Healthy(false), now, fx).ok());
  ASSERT_EQ(fx.tickets.size(), 1u);
  EXPECT_EQ(fx.tickets[0].end_reason(), common::v1::END_REASON_ENGINE_FAULT);
  EXPECT_EQ(fx.tickets[0].energy_wh(), 700);
  EXPECT_EQ(State(), common::v1::CP_STATE_FAULTED);
  // The driver is free to charge elsewhere.
  Link("CP2");
  EXPECT_TRUE(net.RequestCharge("CP2", Caller::Driver("ana"), "", now, fx).accepted());
}

TEST_F(NetworkTest, MonitorLossDuringSupplyClosesIt) {
  Link();
  SupplyRecord s = Charge();
  fx = Effects();
  now += absl::Seconds(6);
  net.Tick(now, fx);
  EXPECT_EQ(State(), common::v1::CP_STATE_DISCONNECTED);
  ASSERT_EQ(fx.tickets.size(), 1u);
  EXPECT_EQ(fx.tickets[0].end_reason(), common::v1::END_REASON_MONITOR_LOST);
}

TEST_F(NetworkTest, OperatorStopDuringSupplyTicketsThenOutOfService) {
  Link();
  SupplyRecord s = Charge();
  Telemetry(s, 1, 300);
  fx = Effects();
  auto affected = net.OperatorStop("CP1", olga, now, fx);
  ASSERT_TRUE(affected.ok());
  EXPECT_EQ(*affected, std::vector<std::string>{"CP1"});
  EXPECT_EQ(State(), common::v1::CP_STATE_SUPPLYING);  // until the engine confirms
  Complete(s, 2, 310);
  ASSERT_EQ(fx.tickets.size(), 1u);
  EXPECT_EQ(fx.tickets[0].end_reason(), common::v1::END_REASON_OPERATOR_STOP);
  EXPECT_EQ(State(), common::v1::CP_STATE_OUT_OF_SERVICE);
  ASSERT_TRUE(net.OperatorResume("CP1", olga, now, fx).ok());
  EXPECT_EQ(State(), common::v1::CP_STATE_ACTIVE);
}

TEST_F(NetworkTest, StopAllAndResumeAllTouchEveryCp) {
  Link();
  Link("CP2");
  auto stopped = net.OperatorStop("", olga, now, fx);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->size(), 2u);
  EXPECT_EQ(State("CP2"), common::v1::CP_STATE_OUT_OF_SERVICE);
  EXPECT_EQ(net.OperatorResume("", olga, now, fx)->size(), 2u);
  EXPECT_EQ(State("CP2"), common::v1::CP_STATE_ACTIVE);
  EXPECT_EQ(net.OperatorStop("NOPE", olga, now, fx).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(NetworkTest, HoldSurvivesDisconnectionAndFault) {
  Link();
  ASSERT_TRUE(net.OperatorStop("CP1", olga, now, fx).ok());
  ASSERT_TRUE(net.MonitorHealth("CP1", Healthy(false), now, fx).ok());
  EXPECT_EQ(State(), common::v1::CP_STATE_FAULTED);
  ASSERT_TRUE(net.MonitorHealth("CP1", Healthy(true), now, fx).ok());
  EXPECT_EQ(State(), common::v1::CP_STATE_OUT_OF_SERVICE);
}

// ---- weather holds: the reason set in every state ----

std::map<std::string, std::string> WeatherAt(std::initializer_list<std::string> ids) {
  std::map<std::string, std::string> held;
  for (const auto& id : ids) held[id] = "Alicante (ES) 45.0 °C, above 40.0 °C";
  return held;
}

TEST_F(NetworkTest, WeatherAlertTakesAnActiveCpOutOfServiceAndClearBringsItBack) {
  Link();
  WeatherHoldsResult r = *net.ApplyWeatherHolds(WeatherAt({"CP1"}), weather, now, fx);
  EXPECT_EQ(r.held, std::vector<std::string>{"CP1"});
  EXPECT_EQ(State(), common::v1::CP_STATE_OUT_OF_SERVICE);
  auto status = net.Status("CP1");
  ASSERT_EQ(status->hold_details_size(), 1);
  EXPECT_EQ(status->hold_details(0).reason(), common::v1::HOLD_REASON_WEATHER);
  EXPECT_EQ(status->hold_details(0).detail(), "Alicante (ES) 45.0 °C, above 40.0 °C");
  ChargeDecision refused = net.RequestCharge("CP1", Caller::Driver("ana"), "r1", now, fx);
  EXPECT_EQ(refused.reason, common::v1::REJECT_REASON_CP_OUT_OF_SERVICE);

  r = *net.ApplyWeatherHolds({}, weather, now, fx);
  EXPECT_EQ(r.released, std::vector<std::string>{"CP1"});
  EXPECT_EQ(State(), common::v1::CP_STATE_ACTIVE);
}

TEST_F(NetworkTest, WeatherHoldsAreIdempotentAndRecordedOnceForTheJournal) {
  Link();
  fx = Effects();
  ASSERT_TRUE(net.ApplyWeatherHolds(WeatherAt({"CP1"}), weather, now, fx).ok());
  ASSERT_TRUE(net.ApplyWeatherHolds(WeatherAt({"CP1"}), weather, now, fx).ok());
  ASSERT_EQ(fx.holds_changed.size(), 1u);
  EXPECT_TRUE(fx.holds_changed[0].held);
  EXPECT_EQ(fx.holds_changed[0].reason, common::v1::HOLD_REASON_WEATHER);
  int audits = 0;
  for (const auto& a : fx.audit) audits += a.action == "weather_hold";
  EXPECT_EQ(audits, 1);
  EXPECT_TRUE(net.ApplyWeatherHolds(WeatherAt({"CP1"}), weather, now, fx)->held.empty());
}

TEST_F(NetworkTest, WeatherAlertLetsARunningSupplyFinishThenHoldsTheCp) {
  Link();
  SupplyRecord s = Charge();
  Telemetry(s, 1, 100);
  fx = Effects();
  ASSERT_TRUE(net.ApplyWeatherHolds(WeatherAt({"CP1"}), weather, now, fx).ok());
  EXPECT_EQ(State(), common::v1::CP_STATE_SUPPLYING);
  EXPECT_FALSE(HasCommand(&events::v1::EngineCommand::has_stop));
  Telemetry(s, 2, 200);
  Complete(s, 3, 250);
  ASSERT_EQ(fx.tickets.size(), 1u);
  EXPECT_EQ(fx.tickets[0].end_reason(), common::v1::END_REASON_UNPLUGGED);
  EXPECT_EQ(fx.tickets[0].energy_wh(), 250);
  EXPECT_EQ(State(), common::v1::CP_STATE_OUT_OF_SERVICE);
}

TEST_F(NetworkTest, ClearLeavesAnOperatorStopInForce) {
  Link();
  ASSERT_TRUE(net.OperatorStop("CP1", olga, now, fx).ok());
  ASSERT_TRUE(net.ApplyWeatherHolds(WeatherAt({"CP1"}), weather, now, fx).ok());
  EXPECT_EQ(net.Status("CP1")->holds_size(), 2);
  ASSERT_TRUE(net.ApplyWeatherHolds({}, weather, now, fx).ok());
  EXPECT_EQ(State(), common::v1::CP_STATE_OUT_OF_SERVICE);
  EXPECT_EQ(net.Status("CP1")->holds(0), common::v1::HOLD_REASON_OPERATOR);
  ASSERT_TRUE(net.OperatorResume("CP1", olga, now, fx).ok());
  EXPECT_EQ(State(), common::v1::CP_STATE_ACTIVE);
}

TEST_F(NetworkTest, OperatorResumeLeavesAWeatherAlertInForce) {
  Link();
  ASSERT_TRUE(net.ApplyWeatherHolds(WeatherAt({"CP1"}), weather, now, fx).ok());
  ASSERT_TRUE(net.OperatorStop("CP1", olga, now, fx).ok());
  ASSERT_TRUE(net.OperatorResume("CP1", olga, now, fx).ok());
  EXPECT_EQ(State(), common::v1::CP_STATE_OUT_OF_SERVICE);
  ASSERT_TRUE(net.ApplyWeatherHolds({}, weather, now, fx).ok());
  EXPECT_EQ(State(), common::v1::CP_STATE_ACTIVE);
}

TEST_F(NetworkTest, DisconnectedOrFaultedCpKeepsItsStateButRemembersTheWeatherHold) {
  // CP2 never linked: DISCONNECTED. CP1 linked, then its engine fails.
  Link();
  ASSERT_TRUE(net.MonitorHealth("CP1", Healthy(false), now, fx).ok());
  ASSERT_TRUE(net.ApplyWeatherHolds(WeatherAt({"CP1", "CP2"}), weather, now, fx).ok());
  EXPECT_EQ(State("CP1"), common::v1::CP_STATE_FAULTED);
  EXPECT_EQ(State("CP2"), common::v1::CP_STATE_DISCONNECTED);
  ASSERT_TRUE(net.MonitorHealth("CP1", Healthy(true), now, fx).ok());
  Link("CP2");
  EXPECT_EQ(State("CP1"), common::v1::CP_STATE_OUT_OF_SERVICE);
  EXPECT_EQ(State("CP2"), common::v1::CP_STATE_OUT_OF_SERVICE);
}

TEST_F(NetworkTest, WeatherHoldsNameCpsCentralDoesNotKnow) {
  WeatherHoldsResult r = *net.ApplyWeatherHolds(WeatherAt({"CP1", "GHOST"}), weather, now, fx);
  EXPECT_EQ(r.unknown, std::vector<std::string>{"GHOST"});
  EXPECT_EQ(r.held, std::vector<std::string>{"CP1"});
}

TEST_F(NetworkTest, RestoredHoldsKeepACpOutOfServiceAfterARestart) {
  ChargingNetwork restarted;
  common::v1::ChargingPoint cp;
  cp.set_cp_id("CP1");
  restarted.UpsertChargingPoint(cp, now, fx);
  restarted.RestoreHold({"CP1", common::v1::HOLD_REASON_WEATHER, true, "hot", now});
  restarted.RestoreHold({"GONE", common::v1::HOLD_REASON_OPERATOR, true, "", now});
  ASSERT_TRUE(restarted.MonitorRegistered("CP1", Healthy(), now, fx).ok());
  EXPECT_EQ(restarted.Status("CP1")->state(), common::v1::CP_STATE_OUT_OF_SERVICE);
  fx = Effects();
  ASSERT_TRUE(restarted.ApplyWeatherHolds({}, weather, now, fx).ok());
  EXPECT_EQ(restarted.Status("CP1")->state(), common::v1::CP_STATE_ACTIVE);
  ASSERT_EQ(fx.holds_changed.size(), 1u);
  EXPECT_FALSE(fx.holds_changed[0].held);
}

TEST_F(NetworkTest, RemovingACpLiftsItsStoredHolds) {
  Link();
  ASSERT_TRUE(net.OperatorStop("CP1", olga, now, fx).ok());
  fx = Effects();
  net.RemoveChargingPoint("CP1", registry, now, fx);
  ASSERT_EQ(fx.holds_changed.size(), 1u);
  EXPECT_FALSE(fx.holds_changed[0].held);
  EXPECT_EQ(fx.holds_changed[0].cp_id, "CP1");
}

TEST_F(NetworkTest, ASupplyOutlivesALinkCentralCutOnPurpose) {
  Link();
  SupplyRecord s = Charge();
  Telemetry(s, 1, 50);
  net.ExpectReconnect("CP1", now);
  fx = Effects();
  now += absl::Seconds(6);  // past the 5 s link timeout
  net.Tick(now, fx);
  EXPECT_EQ(State(), common::v1::CP_STATE_DISCONNECTED);
  EXPECT_TRUE(fx.tickets.empty()) << "the monitor is expected back";
  Link();
  EXPECT_EQ(State(), common::v1::CP_STATE_SUPPLYING);
  // Without the expectation, the same gap ends the supply.
  now += absl::Seconds(20);
  net.Tick(now, fx);
  ASSERT_EQ(fx.tickets.size(), 1u);
  EXPECT_EQ(fx.tickets[0].end_reason(), common::v1::END_REASON_MONITOR_LOST);
}

TEST_F(NetworkTest, EngineThatNeverConfirmsAStopIsClosedAfterTimeout) {
  Link();
  SupplyRecord s = Charge();
  Telemetry(s, 1, 50);
  ASSERT_TRUE(net.DriverStop(s.supply_id, Caller::Driver("ana"), now, fx).ok());
  fx = Effects();
  now += absl::Seconds(16);
  net.MonitorHealth("CP1", Healthy(), now, fx).IgnoreError();
  net.Tick(now, fx);
  ASSERT_EQ(fx.tickets.size(), 1u);
  EXPECT_EQ(fx.tickets[0].end_reason(), common::v1::END_REASON_ENGINE_SILENT);
}

TEST_F(NetworkTest, NeverPluggedIsCancelledAfterThePlugTimeout) {
  Link();
  Charge();
  fx = Effects();
  for (int i = 0; i < 125; ++i) {
    now += absl::Seconds(1);
    net.MonitorHealth("CP1", Healthy(), now, fx).IgnoreError();
    net.Tick(now, fx);
  }
  ASSERT_EQ(fx.tickets.size(), 1u);
  EXPECT_EQ(fx.tickets[0].end_reason(), common::v1::END_REASON_PLUG_TIMEOUT);
}

TEST_F(NetworkTest, WalkInIsAnonymousAndRejectionsGoBackToTheEngine) {
  Link();
  auto e = Event();
  e.mutable_walk_in()->set_request_id("w1");
  fx = Effects();
  net.OnEngineEvent(e, now, fx);
  ASSERT_EQ(fx.commands.size(), 1u);
  EXPECT_EQ(fx.commands[0].authorize().walk_in_request_id(), "w1");
  EXPECT_EQ(fx.commands[0].authorize().driver_id(), "");
  EXPECT_TRUE(fx.notices.empty());
  e.mutable_walk_in()->set_request_id("w2");
  fx = Effects();
  net.OnEngineEvent(e, now, fx);
  ASSERT_EQ(fx.commands.size(), 1u);
  EXPECT_EQ(fx.commands[0].walk_in_rejected().reason(), common::v1::REJECT_REASON_CP_BUSY);
}

TEST_F(NetworkTest, AWalkInWithAnRfidTagChargesTheTagsDriver) {
  Link();
  Link("CP2");
  events::v1::WalkInRequest w;
  w.set_request_id("w1");
  w.set_id_tag("FOB-7");
  fx = Effects();
  net.OnTagWalkIn("CP1", w, std::string("ana"), now, fx);
  ASSERT_EQ(fx.commands.size(), 1u);
  const auto& a = fx.commands[0].authorize();
  EXPECT_EQ(a.driver_id(), "ana");
  EXPECT_EQ(a.walk_in_request_id(), "w1") << "answers the charger's request";
  ASSERT_EQ(fx.notices.size(), 1u) << "the driver is told, as for any accepted charge";
  EXPECT_TRUE(fx.notices[0].has_accepted());
  EXPECT_EQ(State(), common::v1::CP_STATE_SUPPLYING);
  // Redelivered: the same supply, nothing sent again.
  fx = Effects();
  net.OnTagWalkIn("CP1", w, std::string("ana"), now, fx);
  EXPECT_TRUE(fx.commands.empty());

  // The same driver's tag at another CP: the charge rules hold.
  w.set_request_id("w2");
  fx = Effects();
  net.OnTagWalkIn("CP2", w, std::string("ana"), now, fx);
  ASSERT_EQ(fx.commands.size(), 1u);
  EXPECT_EQ(fx.commands[0].walk_in_rejected().request_id(), "w2");
  EXPECT_EQ(fx.commands[0].walk_in_rejected().reason(), common::v1::REJECT_REASON_DRIVER_ALREADY_CHARGING);
}

// "walk-in:" marks the supply of an RFID walk-in, so its authorisation
// answers the charger's Authorize. A driver must not be able to set the mark
// from the app (her request id is hers to choose): the charger would take her
// remote start for the answer to a card presented there.
TEST_F(NetworkTest, ADriversRequestIdCannotPoseAsAnRfidWalkIn) {
  Link();
  fx = Effects();
  auto supply = net.DriverRequestsCharge(Caller::Driver("ana"), "ana", "CP1", "walk-in:w1", now, fx);
  EXPECT_TRUE(absl::IsInvalidArgument(supply.status())) << supply.status();
  for (const auto& c : fx.commands) EXPECT_EQ(c.authorize().walk_in_request_id(), "") << c.DebugString();

  events::v1::ChargeRequest r;
  r.set_cp_id("CP1");
  r.set_driver_id("ana");
  r.set_request_id("walk-in:w2");
  fx = Effects();
  ChargeDecision d = net.AnswerChargeRequest(r, Caller::Driver("ana"), now, fx);
  EXPECT_EQ(d.reason, common::v1::REJECT_REASON_INVALID_REQUEST);
  for (const auto& c : fx.commands) EXPECT_EQ(c.authorize().walk_in_request_id(), "") << c.DebugString();
  EXPECT_EQ(State(), common::v1::CP_STATE_ACTIVE);
}

TEST_F(NetworkTest, AnRfidWalkInIsRefusedWhenItsTagNamesNobodyOrWasNotLookedUp) {
  Link();
  events::v1::WalkInRequest w;
  w.set_request_id("w1");
  w.set_id_tag("NOBODY");
  fx = Effects();
  net.OnTagWalkIn("CP1", w, absl::NotFoundError("no such tag"), now, fx);
  ASSERT_EQ(fx.commands.size(), 1u);
  EXPECT_EQ(fx.commands[0].walk_in_rejected().reason(), common::v1::REJECT_REASON_UNKNOWN_DRIVER);
  EXPECT_NE(fx.commands[0].walk_in_rejected().detail().find("NOBODY"), std::string::npos);
  ASSERT_FALSE(fx.audit.empty());
  EXPECT_EQ(fx.audit.back().outcome, "REJECTED");

  fx = Effects();
  net.OnTagWalkIn("CP1", w, absl::UnavailableError("registry down"), now, fx);
  ASSERT_EQ(fx.commands.size(), 1u);
  EXPECT_NE(fx.commands[0].walk_in_rejected().detail().find("try again"), std::string::npos);

  // Straight from Kafka, unresolved: never charged to anyone.
  auto e = Event();
  *e.mutable_walk_in() = w;
  fx = Effects();
  net.OnEngineEvent(e, now, fx);
  ASSERT_EQ(fx.commands.size(), 1u);
  EXPECT_TRUE(fx.commands[0].has_walk_in_rejected());
  EXPECT_EQ(State(), common::v1::CP_STATE_ACTIVE);
}

TEST_F(NetworkTest, RestartRestoresSuppliesAndGivesMonitorsAGracePeriod) {
  SupplyRecord s = Stored("s1", "CP1", "ana", common::v1::SUPPLY_PHASE_CHARGING);
  s.energy_wh = 500;
  s.last_seq = 5;
  net.RestoreSupply(s, now, fx);
  EXPECT_EQ(State(), common::v1::CP_STATE_DISCONNECTED);
  now += absl::Seconds(3);
  net.Tick(now, fx);
  Link();  // the monitor reconnects in time
  EXPECT_EQ(State(), common::v1::CP_STATE_SUPPLYING);
  fx = Effects();
  Telemetry(s, 5, 500);  // already applied before the restart
  EXPECT_EQ(net.counters().telemetry_duplicates, 1);
  Telemetry(s, 6, 600);
  Complete(s, 7, 650);
  ASSERT_EQ(fx.tickets.size(), 1u);
  EXPECT_EQ(fx.tickets[0].energy_wh(), 650);
  // The driver is busy while the restored supply runs, then free.
  EXPECT_TRUE(net.RequestCharge("CP1", Caller::Driver("ana"), "", now, fx).accepted());
}

// Central stopped after storing the supply and before the AUTHORIZE left:
// when the monitor links again and its engine does not run the supply, the
// authorisation is offered again (once per link, not on every report).
TEST_F(NetworkTest, ARestoredAuthorisationIsOfferedAgainWhenTheEngineDoesNotRunIt) {
  net.RestoreSupply(Stored("s1", "CP1", "ana", common::v1::SUPPLY_PHASE_AUTHORIZED), now, fx);
  fx = Effects();
  Link();
  ASSERT_EQ(fx.commands.size(), 1u);
  EXPECT_EQ(fx.commands[0].authorize().supply_id(), "s1");
  EXPECT_EQ(fx.commands[0].authorize().driver_id(), "ana");
  EXPECT_EQ(fx.commands[0].authorize().price_millieuros_per_kwh(), 350);
  fx = Effects();
  ASSERT_TRUE(net.MonitorHealth("CP1", Healthy(), now, fx).ok());
  EXPECT_TRUE(fx.commands.empty());

  // An engine that reports the supply already has it: nothing is re-sent.
  net.RestoreSupply(Stored("s2", "CP2", "bea", common::v1::SUPPLY_PHASE_AUTHORIZED), now, fx);
  fx = Effects();
  central::v1::Health running = Healthy();
  running.set_engine_supply_id("s2");
  ASSERT_TRUE(net.MonitorRegistered("CP2", running, now, fx).ok());
  EXPECT_TRUE(fx.commands.empty());
  EXPECT_EQ(State("CP2"), common::v1::CP_STATE_SUPPLYING);
}

TEST_F(NetworkTest, RestoredSupplyWhoseMonitorNeverReturnsIsClosed) {
  net.RestoreSupply(Stored("s1", "CP1", "", common::v1::SUPPLY_PHASE_CHARGING), now, fx);
  fx = Effects();
  now += absl::Seconds(16);
  net.Tick(now, fx);
  ASSERT_EQ(fx.tickets.size(), 1u);
  EXPECT_EQ(fx.tickets[0].end_reason(), common::v1::END_REASON_MONITOR_LOST);
}

TEST_F(NetworkTest, RemovingACpEndsItsSupply) {
  Link();
  Charge();
  fx = Effects();
  net.RemoveChargingPoint("CP1", registry, now, fx);
  ASSERT_EQ(fx.tickets.size(), 1u);
  EXPECT_EQ(fx.tickets[0].end_reason(), common::v1::END_REASON_CP_REMOVED);
  EXPECT_FALSE(net.Status("CP1").has_value());
  EXPECT_EQ(net.MonitorHealth("CP1", Healthy(), now, fx).code(), absl::StatusCode::kNotFound);
}

TEST_F(NetworkTest, EventsForUnknownSuppliesAreIgnoredNotApplied) {
  Link();
  SupplyRecord ghost;
  ghost.supply_id = "ghost";
  ghost.cp_id = "CP1";
  fx = Effects();
  Telemetry(ghost, 1, 100);
  Complete(ghost, 2, 100);
  EXPECT_TRUE(fx.tickets.empty());
  EXPECT_EQ(State(), common::v1::CP_STATE_ACTIVE);
  EXPECT_EQ(net.counters().engine_events_ignored, 2);
}

// ---- reconciliation (issue 21) ----

// The whole network restarted: central restored the supply, the engine came
// back with none. Closed after the grace with what was measured, and the CP
// and the driver are free again.
TEST_F(NetworkTest, ASupplyTheCpNoLongerRunsIsClosedWithItsMeasuredEnergy) {
  SupplyRecord s = Stored("s1", "CP1", "ana", common::v1::SUPPLY_PHASE_CHARGING);
  s.energy_wh = 71;
  s.last_seq = 9;
  net.RestoreSupply(s, now, fx);
  Link();
  fx = Effects();
  Reports("", 9);
  EXPECT_TRUE(fx.tickets.empty()) << "events in flight may still bring the supply's news";
  EXPECT_EQ(State(), common::v1::CP_STATE_SUPPLYING);
  Reports("", 2);
  ASSERT_EQ(fx.tickets.size(), 1u);
  EXPECT_EQ(fx.tickets[0].end_reason(), common::v1::END_REASON_CP_LOST_SUPPLY);
  EXPECT_EQ(fx.tickets[0].energy_wh(), 71);
  EXPECT_EQ(fx.tickets[0].amount_millieuros(), 25);  // 71 Wh at 0.35 €/kWh
  EXPECT_EQ(Audited("supply_lost_at_cp"), 1);
  EXPECT_EQ(State(), common::v1::CP_STATE_ACTIVE);
  EXPECT_TRUE(net.RequestCharge("CP1", Caller::Driver("ana"), "again", now, fx).accepted());
  EXPECT_EQ(net.counters().supplies_reconciled, 1);
}

TEST_F(NetworkTest, AReportThatAgreesAgainBeforeTheGraceChangesNothing) {
  Link();
  SupplyRecord s = Charge();
  Telemetry(s, 1, 10);
  fx = Effects();
  Reports("", 5);  // the engine finished; its completion is still on its way
  Complete(s, 2, 20);
  Reports("", 10);
  ASSERT_EQ(fx.tickets.size(), 1u);
  EXPECT_EQ(fx.tickets[0].end_reason(), common::v1::END_REASON_UNPLUGGED);
  EXPECT_EQ(fx.tickets[0].energy_wh(), 20);
  EXPECT_EQ(Audited("supply_lost_at_cp"), 0);
}

TEST_F(NetworkTest, AStoppingSupplyTheCpEndedKeepsTheReasonOfItsStop) {
  SupplyRecord s = Stored("s1", "CP1", "ana", common::v1::SUPPLY_PHASE_STOPPING);
  s.stop_reason = common::v1::END_REASON_DRIVER_STOP;
  s.energy_wh = 40;
  net.RestoreSupply(s, now, fx);
  fx = Effects();
  Link();
  auto stops = Commands(&events::v1::EngineCommand::has_stop);
  ASSERT_EQ(stops.size(), 1u) << "the stop is sent again when the monitor links";
  EXPECT_EQ(stops[0].stop().reason(), common::v1::END_REASON_DRIVER_STOP);
  Reports("", 11);
  ASSERT_EQ(fx.tickets.size(), 1u);
  EXPECT_EQ(fx.tickets[0].end_reason(), common::v1::END_REASON_DRIVER_STOP);
  EXPECT_EQ(fx.tickets[0].energy_wh(), 40);
}

TEST_F(NetworkTest, ASupplyCentralHasNoRecordOfIsStoppedOnceAndAudited) {
  Link();
  fx = Effects();
  Reports("ghost", 9);
  EXPECT_FALSE(HasCommand(&events::v1::EngineCommand::has_stop)) << "within the grace";
  Reports("ghost", 2);
  auto stops = Commands(&events::v1::EngineCommand::has_stop);
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_EQ(stops[0].stop().supply_id(), "ghost");
  EXPECT_EQ(stops[0].stop().reason(), common::v1::END_REASON_UNKNOWN_SUPPLY);
  ASSERT_EQ(Audited("unknown_supply_stopped"), 1);
  for (const auto& a : fx.audit) {
    if (a.action == "unknown_supply_stopped") EXPECT_EQ(a.category, AuditCategory::kIncident);
  }
  EXPECT_TRUE(fx.tickets.empty()) << "nobody was authorised for it";
  // The engine has not obeyed yet: the stop is sent again, not audited again.
  fx = Effects();
  Reports("ghost", 4);
  EXPECT_EQ(Commands(&events::v1::EngineCommand::has_stop).size(), 1u);
  EXPECT_EQ(Audited("unknown_supply_stopped"), 0);
  // Once it reports no supply, nothing more is owed.
  fx = Effects();
  Reports("", 10);
  EXPECT_TRUE(fx.commands.empty());
  EXPECT_EQ(State(), common::v1::CP_STATE_ACTIVE);
}

TEST_F(NetworkTest, AStopTheEngineHasNotObeyedIsSentAgainUntilItEnds) {
  Link();
  SupplyRecord s = Charge();
  Reports(s.supply_id);
  Telemetry(s, 1, 10);
  ASSERT_TRUE(net.DriverStop(s.supply_id, Caller::Driver("ana"), now, fx).ok());
  fx = Effects();
  Reports(s.supply_id, 7);
  auto stops = Commands(&events::v1::EngineCommand::has_stop);
  ASSERT_EQ(stops.size(), 2u) << "every 3 s while the engine runs the supply";
  EXPECT_EQ(stops[1].stop().supply_id(), s.supply_id);
  EXPECT_EQ(stops[1].stop().reason(), common::v1::END_REASON_DRIVER_STOP);
  EXPECT_NE(stops[0].command_id(), stops[1].command_id());
  Complete(s, 2, 30, common::v1::END_REASON_DRIVER_STOP);
  fx = Effects();
  Reports("", 10);
  EXPECT_TRUE(fx.commands.empty());
  EXPECT_EQ(net.counters().commands_resent, 2);
}

TEST_F(NetworkTest, AnAuthorisationIsSentAgainUntilTheEngineRunsIt) {
  Link();
  SupplyRecord s = Charge();
  fx = Effects();
  Reports("", 4);
  auto offers = Commands(&events::v1::EngineCommand::has_authorize);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].authorize().supply_id(), s.supply_id);
  fx = Effects();
  Reports(s.supply_id, 10);
  EXPECT_TRUE(fx.commands.empty());
}

TEST_F(NetworkTest, AStopForASupplyCentralClosedIsOwedWhileTheEngineRunsIt) {
  Link();
  SupplyRecord s = Charge();
  ASSERT_TRUE(net.OperatorStop("CP1", olga, now, fx).ok());  // nothing flowed: closed at once
  fx = Effects();
  Reports(s.supply_id, 4);  // the STOP was lost: the engine still holds the authorisation
  auto stops = Commands(&events::v1::EngineCommand::has_stop);
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_EQ(stops[0].stop().supply_id(), s.supply_id);
  EXPECT_EQ(Audited("unknown_supply_stopped"), 0) << "central knows why it runs";
  fx = Effects();
  Reports("", 10);
  EXPECT_TRUE(fx.commands.empty());
}

TEST_F(NetworkTest, ALinkBackThatCannotTellWhatItRunsIsToldTheSupplyItHad) {
  Link();
  SupplyRecord s = Charge();
  auto started = Event();
  started.mutable_started()->set_supply_id(s.supply_id);
  started.mutable_started()->set_meter_start_wh(10000);  // an OCPP charger's meterStart
  net.OnEngineEvent(started, now, fx);
  Telemetry(s, 4, 1500);
  // The gateway restarted: its new link knows no supply (engine_supply_id unset).
  fx = Effects();
  Link();
  auto asks = Commands(&events::v1::EngineCommand::has_report_supply);
  ASSERT_EQ(asks.size(), 1u);
  const auto& r = asks[0].report_supply();
  EXPECT_EQ(r.supply_id(), s.supply_id);
  EXPECT_EQ(r.driver_id(), "ana");
  EXPECT_EQ(r.price_millieuros_per_kwh(), 350);
  EXPECT_EQ(r.meter_start_wh(), 10000);
  EXPECT_EQ(r.energy_wh(), 1500);
  EXPECT_EQ(r.seq(), 4u);
  // Unknown is not a disagreement: nothing is closed meanwhile.
  for (int i = 0; i < 12; ++i) {
    now += absl::Seconds(1);
    ASSERT_TRUE(net.MonitorHealth("CP1", Healthy(), now, fx).ok());
    net.Tick(now, fx);
  }
  EXPECT_TRUE(fx.tickets.empty());
  // A link that says what it runs is not asked.
  fx = Effects();
  central::v1::Health runs = Healthy();
  runs.set_engine_supply_id(s.supply_id);
  ASSERT_TRUE(net.MonitorRegistered("CP1", runs, now, fx).ok());
  EXPECT_TRUE(Commands(&events::v1::EngineCommand::has_report_supply).empty());
}

TEST_F(NetworkTest, ASilentSupplyIsAskedForAReportThenClosed) {
  Link();
  SupplyRecord s = Charge();
  Telemetry(s, 1, 10);
  fx = Effects();
  Reports(s.supply_id, 15);
  EXPECT_TRUE(fx.commands.empty());
  Reports(s.supply_id, 1);
  auto asks = Commands(&events::v1::EngineCommand::has_report_supply);
  ASSERT_EQ(asks.size(), 1u);
  EXPECT_EQ(asks[0].report_supply().supply_id(), s.supply_id);
  // An answer keeps it running.
  Telemetry(s, 2, 20);
  fx = Effects();
  Reports(s.supply_id, 15);
  EXPECT_TRUE(fx.tickets.empty());
  Reports(s.supply_id, 16);
  EXPECT_EQ(Commands(&events::v1::EngineCommand::has_report_supply).size(), 1u);
  ASSERT_EQ(fx.tickets.size(), 1u);
  EXPECT_EQ(fx.tickets[0].end_reason(), common::v1::END_REASON_ENGINE_SILENT);
  EXPECT_EQ(fx.tickets[0].energy_wh(), 20);
  EXPECT_EQ(Audited("supply_silent"), 1);
  EXPECT_TRUE(HasCommand(&events::v1::EngineCommand::has_stop));
  EXPECT_EQ(State(), common::v1::CP_STATE_ACTIVE);
}

// A monitor that cannot tell what its engine runs leaves the field unset:
// central then trusts its own record.
TEST_F(NetworkTest, AReportWithoutTheEngineSupplyReconcilesNothing) {
  Link();
  SupplyRecord s = Charge();
  Telemetry(s, 1, 10);
  fx = Effects();
  for (int i = 0; i < 12; ++i) {
    now += absl::Seconds(1);
    ASSERT_TRUE(net.MonitorHealth("CP1", Healthy(), now, fx).ok());
    Telemetry(s, 2 + i, 20 + i);
    net.Tick(now, fx);
  }
  EXPECT_TRUE(fx.tickets.empty());
  EXPECT_EQ(State(), common::v1::CP_STATE_SUPPLYING);
}

// ---- who may do what, and how a rejection is told ----

TEST(RulesTest, ASupplyIsSeenByItsDriverOrAnOperator) {
  common::v1::Supply s;
  s.set_supply_id("s-1");
  s.set_driver_id("ana");
  EXPECT_TRUE(MaySeeSupply(Caller::Driver("ana"), s).ok());
  EXPECT_TRUE(MaySeeSupply(Caller::Operator("admin"), s).ok());
  absl::Status luis = MaySeeSupply(Caller::Driver("luis"), s);
  EXPECT_TRUE(absl::IsPermissionDenied(luis));
  EXPECT_EQ(luis.message(), "supply s-1 is not luis's");
}

TEST(RulesTest, DriversListTheirOwnTicketsOperatorsAnyones) {
  EXPECT_EQ(*TicketsListedFor(Caller::Driver("ana"), ""), "ana");
  EXPECT_EQ(*TicketsListedFor(Caller::Driver("ana"), "ana"), "ana");
  EXPECT_TRUE(absl::IsPermissionDenied(TicketsListedFor(Caller::Driver("ana"), "luis").status()));
  EXPECT_EQ(*TicketsListedFor(Caller::Operator("admin"), "luis"), "luis");
  EXPECT_EQ(*TicketsListedFor(Caller::Operator("admin"), ""), "");
}

TEST(RulesTest, RejectionsMapToStatuses) {
  auto status = [](common::v1::RejectReason reason) {
    ChargeDecision d;
    d.reason = reason;
    d.detail = "why";
    return d.status().code();
  };
  EXPECT_EQ(status(common::v1::REJECT_REASON_UNKNOWN_CP), absl::StatusCode::kNotFound);
  EXPECT_EQ(status(common::v1::REJECT_REASON_UNKNOWN_DRIVER), absl::StatusCode::kNotFound);
  EXPECT_EQ(status(common::v1::REJECT_REASON_INVALID_REQUEST), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status(common::v1::REJECT_REASON_CP_BUSY), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status(common::v1::REJECT_REASON_CP_OUT_OF_SERVICE),
            absl::StatusCode::kFailedPrecondition);
  ChargeDecision accepted;
  accepted.supply = SupplyRecord();
  EXPECT_TRUE(accepted.status().ok());
}

TEST(RulesTest, ATicketEndsItsSupplyWithItsFigures) {
  common::v1::Ticket t;
  t.set_supply_id("s-1");
  t.set_cp_id("CP1");
  t.set_driver_id("ana");
  t.set_energy_wh(1234);
  t.set_amount_millieuros(432);
  t.set_price_millieuros_per_kwh(350);
  common::v1::Supply s;
  s.set_power_w(22000);
  EndWithTicket(t, s);
  EXPECT_EQ(s.supply_id(), "s-1");
  EXPECT_EQ(s.cp_id(), "CP1");
  EXPECT_EQ(s.driver_id(), "ana");
  EXPECT_EQ(s.phase(), common::v1::SUPPLY_PHASE_ENDED);
  EXPECT_EQ(s.energy_wh(), 1234);
  EXPECT_EQ(s.amount_millieuros(), 432);
  EXPECT_EQ(s.price_millieuros_per_kwh(), 350);
  EXPECT_EQ(s.power_w(), 22000) << "what the ticket does not say is kept";
}

TEST_F(NetworkTest, OperatorCommandsAreAuditedAsTheOperator) {
  ASSERT_TRUE(net.OperatorStop("CP1", olga, now, fx).ok());
  ASSERT_TRUE(net.OperatorResume("CP1", olga, now, fx).ok());
  std::vector<std::string> actors;
  for (const auto& a : fx.audit) {
    if (a.action == "operator_stop" || a.action == "operator_resume") actors.push_back(a.actor);
  }
  EXPECT_EQ(actors, (std::vector<std::string>{"olga", "olga"}));
}

TEST_F(NetworkTest, WeatherHoldsRefuseMalformedInputAndChangeNothing) {
  std::map<std::string, std::string> held = {{"CP1", std::string(300, 'x')}};
  ASSERT_TRUE(net.ApplyWeatherHolds(held, weather, now, fx).ok()) << "300 bytes fit";
  held = {{"CP1", "hot"}, {"CP2", std::string(301, 'x')}};
  absl::StatusOr<WeatherHoldsResult> too_long = net.ApplyWeatherHolds(held, weather, now, fx);
  EXPECT_TRUE(absl::IsInvalidArgument(too_long.status()));
  EXPECT_EQ(too_long.status().message(), "weather detail of CP2 is longer than 300 bytes");
  EXPECT_FALSE(net.ApplyWeatherHolds({{"bad id!", ""}}, weather, now, fx).ok());
  EXPECT_EQ(net.Status("CP2")->holds_size(), 0) << "nothing applied";
  EXPECT_EQ(net.Status("CP1")->holds_size(), 1) << "the earlier hold stays";
}

// A charge request from Kafka is answered by notice, a rejection too.
TEST_F(NetworkTest, KafkaChargeRequestsAreAnsweredByNotice) {
  Link();
  events::v1::ChargeRequest r;
  r.set_cp_id("CP1");
  r.set_driver_id("ana");
  r.set_request_id("r1");
  fx = Effects();
  ChargeDecision bad = net.AnswerChargeRequest(r, absl::UnauthenticatedError("token expired"), now, fx);
  EXPECT_EQ(bad.reason, common::v1::REJECT_REASON_UNAUTHENTICATED);
  ASSERT_EQ(fx.notices.size(), 1u);
  EXPECT_EQ(fx.notices[0].driver_id(), "ana");
  EXPECT_EQ(fx.notices[0].request_id(), "r1");
  EXPECT_EQ(fx.notices[0].rejected().cp_id(), "CP1");
  EXPECT_EQ(fx.notices[0].rejected().reason(), common::v1::REJECT_REASON_UNAUTHENTICATED);
  EXPECT_EQ(fx.notices[0].rejected().detail(), "token expired");
  EXPECT_TRUE(fx.supplies_opened.empty());

  fx = Effects();
  ChargeDecision ok = net.AnswerChargeRequest(r, Caller::Driver("ana", "kafka"), now, fx);
  ASSERT_TRUE(ok.accepted()) << ok.detail;
  ASSERT_EQ(fx.notices.size(), 1u);
  EXPECT_TRUE(fx.notices[0].has_accepted());

  fx = Effects();
  r.set_request_id("r2");
  ChargeDecision busy = net.AnswerChargeRequest(r, Caller::Driver("ana", "kafka"), now, fx);
  EXPECT_EQ(busy.reason, common::v1::REJECT_REASON_DRIVER_ALREADY_CHARGING);
  ASSERT_EQ(fx.notices.size(), 1u);
  EXPECT_EQ(fx.notices[0].rejected().reason(), common::v1::REJECT_REASON_DRIVER_ALREADY_CHARGING);

  fx = Effects();
  r.set_driver_id("");
  net.AnswerChargeRequest(r, absl::UnauthenticatedError("no driver"), now, fx);
  EXPECT_TRUE(fx.notices.empty()) << "nobody to tell";
}

}  // namespace
}  // namespace evc::central
