// What each reader may see of the network (issue 15's least privilege; issue
// 19 adds the reading time to the public view).

#include "services/central/broadcaster.h"

#include <gtest/gtest.h>

namespace evc::central {
namespace {

central::v1::ChargingPointStatus Supplying() {
  central::v1::ChargingPointStatus status;
  status.mutable_charging_point()->set_cp_id("ALC-001");
  status.set_state(common::v1::CP_STATE_SUPPLYING);
  common::v1::Supply& s = *status.mutable_supply();
  s.set_supply_id("s-1");
  s.set_cp_id("ALC-001");
  s.set_driver_id("ana");
  s.set_phase(common::v1::SUPPLY_PHASE_CHARGING);
  s.mutable_authorized_at()->set_seconds(100);
  s.mutable_started_at()->set_seconds(110);
  s.set_energy_wh(1234);
  s.set_amount_millieuros(432);
  s.set_power_w(7000);
  s.set_price_millieuros_per_kwh(350);
  s.mutable_last_reading_at()->set_seconds(200);
  s.set_power_limit_w(11000);
  return status;
}

// Exactly these fields of someone else's supply, and no other.
TEST(PublicViewTest, OthersSeeThePublicPartOfASupplyAndItsReadingTime) {
  common::v1::Supply expected;
  expected.set_cp_id("ALC-001");
  expected.set_phase(common::v1::SUPPLY_PHASE_CHARGING);
  expected.set_power_w(7000);
  expected.set_price_millieuros_per_kwh(350);
  expected.mutable_last_reading_at()->set_seconds(200);
  for (const NetworkViewer& viewer : {NetworkViewer{}, NetworkViewer{.driver_id = "luis"}}) {
    central::v1::ChargingPointStatus shown = PublicView(Supplying(), viewer);
    EXPECT_EQ(shown.supply().DebugString(), expected.DebugString()) << viewer.driver_id;
    EXPECT_EQ(shown.state(), common::v1::CP_STATE_SUPPLYING);
    EXPECT_EQ(shown.charging_point().cp_id(), "ALC-001");
  }
}

TEST(PublicViewTest, ASupplyWithoutAReadingShowsNoReadingTime) {
  central::v1::ChargingPointStatus status = Supplying();
  status.mutable_supply()->clear_last_reading_at();
  EXPECT_FALSE(PublicView(status, NetworkViewer{}).supply().has_last_reading_at());
}

TEST(PublicViewTest, TheDriverAndOperatorsSeeTheWholeSupply) {
  const std::string whole = Supplying().DebugString();
  EXPECT_EQ(PublicView(Supplying(), NetworkViewer{.driver_id = "ana"}).DebugString(), whole);
  EXPECT_EQ(PublicView(Supplying(), NetworkViewer{.is_operator = true, .driver_id = ""}).DebugString(), whole);
}

TEST(PublicViewTest, AnonymousStreamsGetNoTicketAndNoMessage) {
  central::v1::NetworkUpdate ticket;
  ticket.mutable_ticket()->set_driver_id("ana");
  central::v1::NetworkUpdate message;
  message.mutable_message()->set_text("ana started charging");
  EXPECT_FALSE(PublicView(ticket, NetworkViewer{}).has_value());
  EXPECT_FALSE(PublicView(message, NetworkViewer{}).has_value());
  EXPECT_TRUE(PublicView(ticket, NetworkViewer{.driver_id = "ana"}).has_value());

  central::v1::NetworkUpdate changed;
  *changed.mutable_charging_point() = Supplying();
  auto shown = PublicView(changed, NetworkViewer{});
  ASSERT_TRUE(shown.has_value());
  EXPECT_EQ(shown->charging_point().supply().driver_id(), "");
  EXPECT_EQ(shown->charging_point().supply().last_reading_at().seconds(), 200);
}

TEST(PublicViewTest, APartOfASnapshotStaysAContinuedPartForAnonymousViewers) {
  central::v1::NetworkUpdate part;
  part.mutable_snapshot()->set_continued(true);
  *part.mutable_snapshot()->add_charging_points() = Supplying();
  auto shown = PublicView(part, NetworkViewer{});
  ASSERT_TRUE(shown.has_value());
  EXPECT_TRUE(shown->snapshot().continued());
  ASSERT_EQ(shown->snapshot().charging_points_size(), 1);
  EXPECT_EQ(shown->snapshot().charging_points(0).supply().driver_id(), "");
}

}  // namespace
}  // namespace evc::central
