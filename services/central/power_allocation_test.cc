// Site power limits (issue 20): the share rule, and the state machine giving
// each open supply its limit as supplies start and end and caps change.
#include "services/central/power_allocation.h"

#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "services/central/network.h"

namespace evc::central {
namespace {

int64_t Sum(const std::vector<int64_t>& v) { return std::accumulate(v.begin(), v.end(), int64_t{0}); }

TEST(SharePowerTest, WithoutACapEachSupplyGetsItsCpsMaximum) {
  EXPECT_EQ(SharePower(std::nullopt, {{"a", 22000}, {"b", 7400}, {"c", 0}}),
            (std::vector<int64_t>{22000, 7400, 0}));
}

TEST(SharePowerTest, ACapIsSharedEquallyAndWhatACpCannotTakeGoesToTheOthers) {
  EXPECT_EQ(SharePower(30000, {{"a", 22000}, {"b", 22000}}), (std::vector<int64_t>{15000, 15000}));
  // b cannot take its 15 kW: the 7.6 kW it leaves go to a.
  EXPECT_EQ(SharePower(30000, {{"a", 50000}, {"b", 7400}}), (std::vector<int64_t>{22600, 7400}));
  // A cap above every maximum changes nothing.
  EXPECT_EQ(SharePower(100000, {{"a", 22000}, {"b", 7400}}), (std::vector<int64_t>{22000, 7400}));
  // Whole watts: the remainder stays unallocated, never over the cap.
  EXPECT_EQ(SharePower(10000, {{"a", 0}, {"b", 0}, {"c", 0}}),
            (std::vector<int64_t>{3333, 3333, 3334}));
}

TEST(SharePowerTest, CapsAndMaximaAreNeverExceeded) {
  std::mt19937 rng(20);
  for (int round = 0; round < 2000; ++round) {
    std::vector<PowerDemand> demands(rng() % 12);
    for (auto& d : demands) d.max_power_w = static_cast<int64_t>(rng() % 60000);
    const int64_t cap = static_cast<int64_t>(rng() % 200000);
    const std::vector<int64_t> limits = SharePower(cap, demands);
    ASSERT_EQ(limits.size(), demands.size());
    EXPECT_LE(Sum(limits), cap);
    int64_t wanted = 0;
    for (size_t i = 0; i < demands.size(); ++i) {
      EXPECT_GE(limits[i], 0);
      if (demands[i].max_power_w > 0) {
        EXPECT_LE(limits[i], demands[i].max_power_w);
      }
      wanted += demands[i].max_power_w > 0 ? demands[i].max_power_w : cap;
    }
    // Fair share leaves no more than rounding on the table when someone wants more.
    EXPECT_GE(Sum(limits), std::min(cap, wanted) - static_cast<int64_t>(demands.size()));
  }
}

TEST(SitePowerCapsTest, ASiteIsItsAddressAndCityWhateverTheCaseOrSpaces) {
  common::v1::Location a, b, c;
  a.set_address("Gran Via 1");
  a.set_city("Madrid");
  b.set_address("  gran via 1 ");
  b.set_city("MADRID");
  c.set_city("Madrid");
  EXPECT_EQ(SiteKeyOf(a), SiteKeyOf(b));
  EXPECT_EQ(SiteKeyOf(c), "") << "no address: a site of its own";
  EXPECT_FALSE(SitePowerCaps::Validate("", "Madrid", 1000).ok());
  EXPECT_FALSE(SitePowerCaps::Validate("Gran Via 1", "Madrid", -1).ok());
  EXPECT_FALSE(SitePowerCaps::Validate("Gran Via 1", "Madrid", kMaxSiteCapW + 1).ok());
  EXPECT_TRUE(SitePowerCaps::Validate("Gran Via 1", "Madrid", 0).ok());
}

class SitePowerTest : public ::testing::Test {
 protected:
  SitePowerTest() {
    // Three 22 kW CPs at one site, one 11 kW CP in the same city elsewhere.
    for (const char* id : {"S1", "S2", "S3"}) Add(id, "Gran Via 1", 22000);
    Add("LONE", "", 11000);
    Add("OTHER", "Alcala 2", 22000);
  }
  void Add(const std::string& id, const std::string& address, int64_t max_w) {
    common::v1::ChargingPoint cp;
    cp.set_cp_id(id);
    cp.mutable_location()->set_address(address);
    cp.mutable_location()->set_city("Madrid");
    cp.set_price_millieuros_per_kwh(350);
    cp.set_max_power_w(max_w);
    net.UpsertChargingPoint(cp, now, fx);
    central::v1::Health h;
    h.set_engine_ok(true);
    ASSERT_TRUE(net.MonitorRegistered(id, h, now, fx).ok());
  }
  SupplyRecord Charge(const std::string& cp) {
    fx = Effects();
    ChargeDecision d = net.RequestCharge(cp, Caller::Driver("d-" + cp), "req-" + cp, now, fx);
    EXPECT_TRUE(d.accepted()) << d.detail;
    return *d.supply;
  }
  void SetCap(int64_t cap_w) {
    fx = Effects();
    ASSERT_TRUE(net.SetSitePowerCap({"gran via 1", "madrid", cap_w}, olga, now, fx).ok());
  }
  void End(const std::string& cp) {
    fx = Effects();
    ASSERT_TRUE(net.OperatorStop(cp, olga, now, fx).ok());
    auto e = events::v1::EngineEvent();
    e.set_cp_id(cp);
    e.mutable_completed()->set_supply_id(net.Status(cp)->supply().supply_id());
    e.mutable_completed()->set_seq(1);
    net.OnEngineEvent(e, now, fx);
  }
  int64_t Limit(const std::string& cp) { return net.Status(cp)->supply().power_limit_w(); }
  // The limits the engines were sent in this step, by CP.
  std::map<std::string, int64_t> Sent() {
    std::map<std::string, int64_t> out;
    for (const auto& c : fx.commands) {
      if (c.has_set_power_limit()) out[c.cp_id()] = c.set_power_limit().power_limit_w();
      if (c.has_authorize()) out[c.cp_id()] = c.authorize().power_limit_w();
    }
    return out;
  }

  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  ChargingNetwork net;
  Effects fx;
  const Caller olga = Caller::Operator("olga");
};

TEST_F(SitePowerTest, ACpWithNoSiteIsLimitedOnlyByItsMaximum) {
  SetCap(5000);  // another site's cap
  Charge("LONE");
  EXPECT_EQ(Limit("LONE"), 11000);
  EXPECT_EQ(Sent(), (std::map<std::string, int64_t>{{"LONE", 11000}})) << "in the AUTHORIZE";
  Charge("OTHER");
  EXPECT_EQ(Limit("OTHER"), 22000) << "uncapped site: its CP's maximum";
}

TEST_F(SitePowerTest, SharesAreRecomputedWhenSuppliesStartAndEnd) {
  SetCap(30000);
  Charge("S1");
  EXPECT_EQ(Limit("S1"), 22000) << "alone: its maximum, under the cap";
  Charge("S2");
  EXPECT_EQ(Limit("S1"), 15000);
  EXPECT_EQ(Limit("S2"), 15000);
  EXPECT_EQ(Sent(), (std::map<std::string, int64_t>{{"S1", 15000}, {"S2", 15000}}))
      << "S2's AUTHORIZE carries its share, S1 is told its new one";
  Charge("S3");
  EXPECT_EQ(Limit("S1") + Limit("S2") + Limit("S3"), 30000);
  for (const char* cp : {"S1", "S2", "S3"}) EXPECT_EQ(Limit(cp), 10000);

  End("S2");
  EXPECT_FALSE(net.Status("S2")->has_supply());
  EXPECT_EQ(Limit("S1"), 15000);
  EXPECT_EQ(Limit("S3"), 15000);
  EXPECT_EQ(Sent().at("S1"), 15000);
  EXPECT_EQ(Sent().at("S3"), 15000);
  bool published = false;
  for (const auto& u : fx.updates) {
    published |= u.has_charging_point() && u.charging_point().charging_point().cp_id() == "S1" &&
                 u.charging_point().supply().power_limit_w() == 15000;
  }
  EXPECT_TRUE(published) << "the new limit is on the network stream";
  auto sites = net.SiteCapViews();
  ASSERT_EQ(sites.size(), 1u);
  EXPECT_EQ(sites[0].allocated_w(), 30000);
  EXPECT_EQ(sites[0].open_supplies(), 2);
  EXPECT_EQ(sites[0].cp_ids_size(), 3);
}

TEST_F(SitePowerTest, ACapChangeReachesEveryRunningSupplyAndIsAudited) {
  Charge("S1");
  Charge("S2");
  EXPECT_EQ(Limit("S1"), 22000);
  SetCap(20000);
  EXPECT_EQ(Sent(), (std::map<std::string, int64_t>{{"S1", 10000}, {"S2", 10000}}));
  ASSERT_EQ(fx.audit.size(), 1u);
  EXPECT_EQ(fx.audit[0].action, "site_power_cap_set");
  EXPECT_EQ(fx.audit[0].actor, "olga");
  SetCap(0);
  EXPECT_EQ(Limit("S1"), 22000) << "lifted: back to the CP's maximum";
  EXPECT_EQ(fx.audit[0].action, "site_power_cap_lifted");
  EXPECT_TRUE(net.SiteCapViews().empty());
  fx = Effects();
  EXPECT_EQ(net.SetSitePowerCap({"", "madrid", 1000}, olga, now, fx).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(fx.commands.empty() && fx.audit.empty()) << "a refused cap changes nothing";
}

TEST_F(SitePowerTest, AfterARestartTheLimitsAreComputedAgainAndSent) {
  SetCap(30000);
  SupplyRecord a = Charge("S1");
  SupplyRecord b = Charge("S2");
  ChargingNetwork restarted;
  Effects rfx;
  for (const char* id : {"S1", "S2", "S3"}) {
    restarted.UpsertChargingPoint(net.Status(id)->charging_point(), now, rfx);
  }
  restarted.RestoreSitePowerCap({"Gran Via 1", "Madrid", 30000});
  a.power_limit_w = 0;  // limits are not stored: computed again
  b.power_limit_w = 0;
  a.phase = b.phase = common::v1::SUPPLY_PHASE_CHARGING;
  restarted.RestoreSupply(a, now, rfx);
  restarted.RestoreSupply(b, now, rfx);
  rfx = Effects();
  restarted.ReallocateAllPower(now, rfx);
  int sent = 0;
  for (const auto& c : rfx.commands) {
    ASSERT_TRUE(c.has_set_power_limit());
    EXPECT_EQ(c.set_power_limit().power_limit_w(), 15000);
    ++sent;
  }
  EXPECT_EQ(sent, 2);
  EXPECT_EQ(restarted.Status("S1")->supply().power_limit_w(), 15000);
  // Those commands could not be sealed before the monitor linked again (no
  // key yet): its link sends the limit once more.
  rfx = Effects();
  central::v1::Health h;
  h.set_engine_ok(true);
  h.set_engine_supply_id(a.supply_id);
  ASSERT_TRUE(restarted.MonitorRegistered("S1", h, now, rfx).ok());
  int resent = 0;
  for (const auto& c : rfx.commands) {
    if (c.has_set_power_limit() && c.cp_id() == "S1") {
      EXPECT_EQ(c.set_power_limit().power_limit_w(), 15000);
      ++resent;
    }
  }
  EXPECT_EQ(resent, 1);
}

TEST_F(SitePowerTest, ACpMovingToAnotherSiteGivesItsShareBack) {
  SetCap(30000);
  Charge("S1");
  Charge("S2");
  common::v1::ChargingPoint moved = net.Status("S2")->charging_point();
  moved.mutable_location()->set_address("Sol 3");
  fx = Effects();
  net.UpsertChargingPoint(moved, now, fx);
  EXPECT_EQ(Limit("S1"), 22000);
  EXPECT_EQ(Limit("S2"), 22000);
}

}  // namespace
}  // namespace evc::central
