// The queues at busy locations (issue 20) through the charging network: order,
// offers, their expiry and withdrawal, every way out, and the estimate.

#include "services/central/queue.h"

#include <gtest/gtest.h>

#include "services/central/network.h"

namespace evc::central {
namespace {

using common::v1::QueueEvent;

constexpr char kSite[] = "Plaza Mayor 1";

class QueueTest : public ::testing::Test {
 protected:
  QueueTest() : net(Config()) {
    AddCp("CP1", kSite);
    AddCp("CP2", kSite);
    AddCp("CP3", "Calle Mayor 9");
    for (const char* id : {"CP1", "CP2", "CP3"}) {
      EXPECT_TRUE(net.MonitorRegistered(id, Healthy(), now, fx).ok());
    }
  }
  static NetworkConfig Config() {
    NetworkConfig c;
    c.link_timeout = absl::Hours(10);  // health reports are not the subject here
    c.queue.offer_timeout = absl::Seconds(60);
    c.queue.typical_session_wh = 20000;
    return c;
  }
  void AddCp(const std::string& id, const std::string& address) {
    common::v1::ChargingPoint cp;
    cp.set_cp_id(id);
    cp.mutable_location()->set_city("Alicante");
    cp.mutable_location()->set_address(address);
    cp.set_price_millieuros_per_kwh(350);
    cp.set_max_power_w(22000);
    net.UpsertChargingPoint(cp, now, fx);
  }
  static central::v1::Health Healthy() {
    central::v1::Health h;
    h.set_engine_ok(true);
    return h;
  }
  ChargeDecision Ask(const std::string& cp, const std::string& driver) {
    return net.RequestCharge(cp, Caller::Driver(driver), "req-" + driver + cp, now, fx);
  }
  SupplyRecord Charge(const std::string& cp, const std::string& driver) {
    ChargeDecision d = Ask(cp, driver);
    EXPECT_TRUE(d.accepted()) << d.detail;
    return d.supply.value_or(SupplyRecord{});
  }
  void Telemetry(const SupplyRecord& s, uint64_t seq, int64_t wh, int64_t power_w = 22000) {
    events::v1::EngineEvent e;
    e.set_cp_id(s.cp_id);
    e.mutable_telemetry()->set_supply_id(s.supply_id);
    e.mutable_telemetry()->set_seq(seq);
    e.mutable_telemetry()->set_energy_wh(wh);
    e.mutable_telemetry()->set_power_w(power_w);
    net.OnEngineEvent(e, now, fx);
  }
  void Complete(const SupplyRecord& s) {
    events::v1::EngineEvent e;
    e.set_cp_id(s.cp_id);
    e.mutable_completed()->set_supply_id(s.supply_id);
    e.mutable_completed()->set_seq(1000);
    e.mutable_completed()->set_energy_wh(s.energy_wh);
    net.OnEngineEvent(e, now, fx);
  }
  absl::StatusOr<common::v1::QueueStatus> Join(const std::string& driver,
                                               const std::string& address = kSite,
                                               int64_t energy_wh = 0) {
    return net.JoinQueue(Caller::Driver(driver), "Alicante", address, energy_wh, now, fx);
  }
  // The site's two CPs busy (ana at CP1, ben at CP2).
  void FillSite() {
    ana = Charge("CP1", "ana");
    ben = Charge("CP2", "ben");
  }
  // ...and dan, then eve a second later, queued for the site.
  void FillAndQueueTwo() {
    FillSite();
    ASSERT_TRUE(Join("dan").ok());
    now += absl::Seconds(1);
    ASSERT_TRUE(Join("eve").ok());
  }
  // The queue notices sent to `driver` since the effects were last cleared.
  std::vector<common::v1::QueueStatus> Notices(const std::string& driver) const {
    std::vector<common::v1::QueueStatus> out;
    for (const auto& n : fx.notices) {
      if (n.driver_id() == driver && n.has_queue()) out.push_back(n.queue());
    }
    return out;
  }
  QueueEvent LastEvent(const std::string& driver) const {
    auto n = Notices(driver);
    return n.empty() ? common::v1::QUEUE_EVENT_UNSPECIFIED : n.back().event();
  }
  int Position(const std::string& driver) {
    auto v = net.QueueView(driver, now);
    return v.ok() ? v->position() : 0;
  }

  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  Effects fx;
  ChargingNetwork net;
  SupplyRecord ana, ben;
};

TEST_F(QueueTest, JoiningWhileACpIsFreeIsRefusedWithTheCpToChargeAt) {
  auto joined = Join("dan");
  ASSERT_EQ(joined.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(joined.status().message().find("is free: request a charge there now"),
            std::string::npos)
      << joined.status();
  // The city as a whole has a free CP too, even once the site is full.
  FillSite();
  EXPECT_EQ(Join("dan", "").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Join("dan").ok());
}

TEST_F(QueueTest, ADriverWhoChargesCannotJoinAndOnlyDriversJoin) {
  FillSite();
  auto joined = Join("ana");
  ASSERT_EQ(joined.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(joined.status().message().find("is charging"), std::string::npos);
  EXPECT_EQ(net.JoinQueue(Caller::Operator("admin"), "Alicante", kSite, 0, now, fx).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(QueueTest, BadLocationsAndEnergiesAreRefusedAndChangeNothing) {
  FillSite();
  fx = Effects();
  EXPECT_EQ(net.JoinQueue(Caller::Driver("dan"), "", kSite, 0, now, fx).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Join("dan", std::string(300, 'x')).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Join("dan", "Plaza\n1").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Join("dan", kSite, -5).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Join("dan", "Nowhere 0").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(fx.queue_changed.empty());
  EXPECT_EQ(net.QueueView("dan", now).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(QueueTest, DriversAreServedInTheOrderTheyJoinedAndOnlyOneQueueAtATime) {
  ASSERT_NO_FATAL_FAILURE(FillAndQueueTwo());
  now += absl::Seconds(1);
  auto fay = Join("fay");
  ASSERT_TRUE(fay.ok());
  EXPECT_EQ(fay->position(), 3);
  EXPECT_EQ(fay->queue_length(), 3);
  EXPECT_EQ(fay->event(), common::v1::QUEUE_EVENT_JOINED);
  // Joining again is answered with the same place; another location is refused.
  EXPECT_EQ(Join("fay")->position(), 3);
  EXPECT_EQ(Join("fay", "Calle Mayor 9").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Position("dan"), 1);
  EXPECT_EQ(Position("eve"), 2);
  // The journal has every row.
  EXPECT_EQ(fx.queue_changed.size(), 3u);

  fx = Effects();
  ASSERT_TRUE(net.LeaveQueue("eve", Caller::Driver("eve"), now, fx).ok());
  EXPECT_EQ(LastEvent("eve"), common::v1::QUEUE_EVENT_LEFT);
  EXPECT_EQ(Notices("eve").back().position(), 0);
  // Only those whose position changed are told.
  EXPECT_TRUE(Notices("dan").empty());
  ASSERT_EQ(Notices("fay").size(), 1u);
  EXPECT_EQ(Notices("fay")[0].event(), common::v1::QUEUE_EVENT_POSITION_CHANGED);
  EXPECT_EQ(Notices("fay")[0].position(), 2);
  ASSERT_EQ(fx.queue_changed.size(), 1u);
  EXPECT_TRUE(fx.queue_changed[0].removed);
  EXPECT_EQ(net.LeaveQueue("eve", Caller::Driver("eve"), now, fx).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(QueueTest, AFreedCpIsHeldForTheHeadAndRefusedToEveryoneElse) {
  ASSERT_NO_FATAL_FAILURE(FillAndQueueTwo());
  fx = Effects();
  Complete(ana);
  net.Tick(now, fx);
  ASSERT_EQ(LastEvent("dan"), common::v1::QUEUE_EVENT_OFFERED);
  EXPECT_EQ(Notices("dan").back().offered_cp_id(), "CP1");
  EXPECT_EQ(net.QueueView("dan", now)->estimated_wait_seconds(), 0);

  // Someone not queued, and the second in the queue: refused, with the reason.
  ChargeDecision walk_up = Ask("CP1", "gus");
  EXPECT_EQ(walk_up.reason, common::v1::REJECT_REASON_CP_OFFERED);
  EXPECT_NE(walk_up.detail.find("held for the next driver in its queue"), std::string::npos);
  EXPECT_EQ(Ask("CP1", "eve").reason, common::v1::REJECT_REASON_CP_OFFERED);
  EXPECT_EQ(net.RequestCharge("CP1", Caller::Anonymous("cp:CP1"), "walk-in", now, fx).reason,
            common::v1::REJECT_REASON_CP_OFFERED);

  // The head takes it: served, and out of the queue; the next moves up.
  fx = Effects();
  Charge("CP1", "dan");
  EXPECT_EQ(LastEvent("dan"), common::v1::QUEUE_EVENT_SERVED);
  EXPECT_EQ(net.QueueView("dan", now).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(LastEvent("eve"), common::v1::QUEUE_EVENT_POSITION_CHANGED);
  EXPECT_EQ(Position("eve"), 1);
}

TEST_F(QueueTest, AFreedCpGoesToTheQueueEvenBeforeTheNextTick) {
  FillSite();
  ASSERT_TRUE(Join("dan").ok());
  Complete(ben);
  // No tick between the end of ben's supply and gus's request.
  EXPECT_EQ(Ask("CP2", "gus").reason, common::v1::REJECT_REASON_CP_OFFERED);
  Charge("CP2", "dan");
}

TEST_F(QueueTest, AnOfferThatExpiresEndsTheDriversWaitAndGoesToTheNext) {
  ASSERT_NO_FATAL_FAILURE(FillAndQueueTwo());
  Complete(ana);
  net.Tick(now, fx);
  now += absl::Seconds(59);
  net.Tick(now, fx);
  EXPECT_EQ(Position("dan"), 1);
  fx = Effects();
  now += absl::Seconds(1);
  net.Tick(now, fx);
  EXPECT_EQ(LastEvent("dan"), common::v1::QUEUE_EVENT_OFFER_EXPIRED);
  EXPECT_NE(Notices("dan").back().detail().find("expired"), std::string::npos);
  EXPECT_EQ(net.QueueView("dan", now).status().code(), absl::StatusCode::kNotFound);
  ASSERT_EQ(LastEvent("eve"), common::v1::QUEUE_EVENT_OFFERED);
  EXPECT_EQ(net.QueueView("eve", now)->offered_cp_id(), "CP1");
  bool audited = false;
  for (const auto& a : fx.audit) audited |= a.action == "queue_exit";
  EXPECT_TRUE(audited);
}

TEST_F(QueueTest, ACpGoingOutOfServiceWithdrawsItsOfferAndTheHeadKeepsItsPlace) {
  FillSite();
  ASSERT_TRUE(Join("dan").ok());
  Complete(ana);
  net.Tick(now, fx);
  ASSERT_EQ(net.QueueView("dan", now)->offered_cp_id(), "CP1");
  fx = Effects();
  ASSERT_TRUE(net.OperatorStop("CP1", Caller::Operator("admin"), now, fx).ok());
  net.Tick(now, fx);
  EXPECT_EQ(LastEvent("dan"), common::v1::QUEUE_EVENT_OFFER_WITHDRAWN);
  auto view = net.QueueView("dan", now);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->position(), 1);
  EXPECT_TRUE(view->offered_cp_id().empty());
  // Only CP2 counts for the estimate now; when it frees, dan gets it.
  EXPECT_NE(view->estimate_detail().find("1 charging point in service"), std::string::npos)
      << view->estimate_detail();
  Complete(ben);
  net.Tick(now, fx);
  EXPECT_EQ(net.QueueView("dan", now)->offered_cp_id(), "CP2");
}

TEST_F(QueueTest, NoCpInServiceMeansNoEstimateButTheDriverStaysQueued) {
  FillSite();
  ASSERT_TRUE(Join("dan").ok());
  ASSERT_TRUE(net.OperatorStop("CP1", Caller::Operator("admin"), now, fx).ok());
  ASSERT_TRUE(net.OperatorStop("CP2", Caller::Operator("admin"), now, fx).ok());
  // Both supplies end; the CPs stay out of service.
  Complete(ana);
  Complete(ben);
  net.Tick(now, fx);
  auto view = net.QueueView("dan", now);
  ASSERT_TRUE(view.ok());
  EXPECT_FALSE(view->has_estimated_wait_seconds());
  EXPECT_NE(
      view->estimate_detail().find("no charging point at Plaza Mayor 1, Alicante is in service"),
      std::string::npos)
      << view->estimate_detail();
  ASSERT_TRUE(net.OperatorResume("CP2", Caller::Operator("admin"), now, fx).ok());
  net.Tick(now, fx);
  EXPECT_EQ(net.QueueView("dan", now)->offered_cp_id(), "CP2");
}

TEST_F(QueueTest, ChargingElsewhereEndsTheWait) {
  FillSite();
  ASSERT_TRUE(Join("dan").ok());
  fx = Effects();
  Charge("CP3", "dan");
  EXPECT_EQ(LastEvent("dan"), common::v1::QUEUE_EVENT_CHARGING_ELSEWHERE);
  EXPECT_EQ(net.QueueView("dan", now).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(QueueTest, LeavingWithAnOfferPassesTheCpToTheNextAtOnce) {
  ASSERT_NO_FATAL_FAILURE(FillAndQueueTwo());
  Complete(ana);
  net.Tick(now, fx);
  fx = Effects();
  ASSERT_TRUE(net.LeaveQueue("dan", Caller::Driver("dan"), now, fx).ok());
  EXPECT_EQ(LastEvent("eve"), common::v1::QUEUE_EVENT_OFFERED);
}

TEST_F(QueueTest, ACityQueueAndASiteQueueAreServedByWhoJoinedFirst) {
  FillSite();
  Charge("CP3", "cy");
  ASSERT_TRUE(Join("dan", "").ok());  // any CP in Alicante
  now += absl::Seconds(1);
  ASSERT_TRUE(Join("eve").ok());  // the site only
  EXPECT_EQ(Position("eve"), 2);
  Complete(ana);
  net.Tick(now, fx);
  EXPECT_EQ(net.QueueView("dan", now)->offered_cp_id(), "CP1");
}

TEST_F(QueueTest, TheQueueSurvivesARestartWithItsOrderAndOffers) {
  FillSite();
  ASSERT_TRUE(Join("dan").ok());
  now += absl::Seconds(1);
  ASSERT_TRUE(Join("eve", kSite, 5000).ok());
  Complete(ana);
  net.Tick(now, fx);
  // What the journal kept, latest row per driver.
  std::map<std::string, QueueEntry> kept;
  for (const QueueChange& c : fx.queue_changed) {
    if (c.removed) {
      kept.erase(c.entry.driver_id);
    } else {
      kept[c.entry.driver_id] = c.entry;
    }
  }
  ASSERT_EQ(kept.size(), 2u);
  ChargingNetwork restarted(Config());
  Effects rfx;
  for (const char* id : {"CP1", "CP2"}) {
    common::v1::ChargingPoint cp;
    cp.set_cp_id(id);
    cp.mutable_location()->set_city("Alicante");
    cp.mutable_location()->set_address(kSite);
    restarted.UpsertChargingPoint(cp, now, rfx);
  }
  restarted.RestoreSupply(ben, now, rfx);
  for (const auto& [driver, e] : kept) restarted.RestoreQueueEntry(e);
  // Until the monitors reconnect every CP is offline: the offer stands.
  restarted.Tick(now, rfx);
  for (const char* id : {"CP1", "CP2"}) {
    ASSERT_TRUE(restarted.MonitorRegistered(id, Healthy(), now, rfx).ok());
  }
  restarted.Tick(now, rfx);
  auto dan = restarted.QueueView("dan", now);
  ASSERT_TRUE(dan.ok());
  EXPECT_EQ(dan->offered_cp_id(), "CP1");
  EXPECT_EQ(restarted.QueueView("eve", now)->position(), 2);
  EXPECT_EQ(restarted.QueueView("eve", now)->requested_energy_wh(), 5000);
  EXPECT_EQ(restarted.RequestCharge("CP1", Caller::Driver("gus"), "r", now, rfx).reason,
            common::v1::REJECT_REASON_CP_OFFERED);
}

TEST_F(QueueTest, OperatorsListEveryQueueInOrder) {
  ASSERT_NO_FATAL_FAILURE(FillAndQueueTwo());
  std::vector<common::v1::QueueStatus> all = net.ListQueues(now);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].driver_id(), "dan");
  EXPECT_EQ(all[1].driver_id(), "eve");
  EXPECT_EQ(all[1].position(), 2);
}

// ana has 5 kWh of a typical 20 kWh session left to go... (see below), ben
// 15 kWh: at 22 kW, CP2 frees in 5000/22000 h and CP1 in 15000/22000 h.
TEST_F(QueueTest, TheEstimateSimulatesTheRunningSuppliesAndTheQueueAhead) {
  FillSite();
  Telemetry(ana, 1, 5000);   // 15 kWh to go: 2454.5 s
  Telemetry(ben, 1, 15000);  // 5 kWh to go: 818.2 s
  auto dan = Join("dan", kSite, 11000);
  ASSERT_TRUE(dan.ok());
  ASSERT_TRUE(dan->has_estimated_wait_seconds());
  EXPECT_EQ(dan->estimated_wait_seconds(), 819);
  now += absl::Seconds(1);
  auto eve = Join("eve");
  // dan takes CP2 at 818.2 s for 11 kWh (1800 s), so CP1 at 2454.5 s is first.
  EXPECT_EQ(eve->estimated_wait_seconds(), 2455);
  EXPECT_NE(eve->estimate_detail().find("1 driver ahead"), std::string::npos)
      << eve->estimate_detail();
  // A supply past the typical energy is assumed to end now.
  Telemetry(ben, 2, 25000);
  EXPECT_EQ(net.QueueView("dan", now)->estimated_wait_seconds(), 0);
}

TEST_F(QueueTest, TheEstimateUsesTheEnergyAServedDriverAskedFor) {
  FillSite();
  ASSERT_TRUE(Join("dan", kSite, 2200).ok());  // 0.1 h at 22 kW
  now += absl::Seconds(1);
  ASSERT_TRUE(Join("eve").ok());
  Telemetry(ana, 1, 0);
  Telemetry(ben, 1, 0);
  Complete(ana);
  net.Tick(now, fx);
  SupplyRecord dan = Charge("CP1", "dan");
  Telemetry(dan, 1, 1100);  // half of what dan asked for: 180 s to go
  EXPECT_EQ(net.QueueView("eve", now)->estimated_wait_seconds(), 180);
}

// The network's tick (every 20 ms) has the queue act only when it could:
// after a change of the queue, when an offer falls due, or when what the
// queue sees of the CPs changed (network_queue.cc).
TEST(WaitingQueuesTest, AnUpdateIsDueOnlyAfterAChangeOfTheQueueOrAtAnOffersExpiry) {
  WaitingQueues q({.offer_timeout = absl::Seconds(60)});
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  Effects fx;
  std::vector<QueueCp> cps = {
      {.cp_id = "CP1", .city = "Alicante", .address = kSite, .use = QueueCp::Use::kBusy, .power_w = 22000}};
  EXPECT_TRUE(q.UpdateDue(now));  // nothing seen yet
  ASSERT_TRUE(q.Join("dan", "Alicante", kSite, 0, false, cps, now, fx).ok());
  EXPECT_TRUE(q.UpdateDue(now));
  q.Update(cps, now, fx);
  ASSERT_EQ(q.seen().size(), 1u);
  // No offer runs: time alone changes nothing.
  EXPECT_FALSE(q.UpdateDue(now + absl::Hours(1)));
  // A busy CP's energy and driver are nothing to Update; its use and power are.
  QueueCp later = q.seen()[0];
  later.energy_wh += 1000;
  later.supply_driver = "ana";
  EXPECT_TRUE(WaitingQueues::SeesAlike(later, q.seen()[0]));
  later.power_w = 11000;
  EXPECT_FALSE(WaitingQueues::SeesAlike(later, q.seen()[0]));
  cps[0].use = QueueCp::Use::kFree;
  cps[0].power_w = 0;
  EXPECT_FALSE(WaitingQueues::SeesAlike(cps[0], q.seen()[0]));
  q.Update(cps, now, fx);
  ASSERT_EQ(q.HolderOf("CP1"), "dan");
  EXPECT_FALSE(q.UpdateDue(now + absl::Seconds(59)));
  EXPECT_TRUE(q.UpdateDue(now + absl::Seconds(60)));  // the offer expires
  ASSERT_TRUE(q.Leave("dan", "dan", now, fx).ok());
  EXPECT_TRUE(q.UpdateDue(now));
}

}  // namespace
}  // namespace evc::central
