#include "services/edge/stream_fold.h"

#include <gtest/gtest.h>

#include "evc/central/v1/central.pb.h"
#include "evc/common/v1/types.pb.h"

namespace evc::edge {
namespace {

using central::v1::ChargingPointStatus;
using central::v1::NetworkUpdate;

ChargingPointStatus Cp(const std::string& id, common::v1::CpState state) {
  ChargingPointStatus cp;
  cp.mutable_charging_point()->set_cp_id(id);
  cp.set_state(state);
  return cp;
}

std::string Snapshot(std::initializer_list<ChargingPointStatus> cps, bool continued = false) {
  NetworkUpdate u;
  u.mutable_snapshot()->set_continued(continued);
  for (const auto& cp : cps) *u.mutable_snapshot()->add_charging_points() = cp;
  return u.SerializeAsString();
}

std::string Changed(const ChargingPointStatus& cp) {
  NetworkUpdate u;
  *u.mutable_charging_point() = cp;
  return u.SerializeAsString();
}

NetworkUpdate CatchUpOf(const StreamFold& fold) {
  std::optional<std::string> bytes = fold.CatchUp();
  NetworkUpdate u;
  EXPECT_TRUE(bytes.has_value());
  if (bytes) {
    EXPECT_TRUE(u.ParseFromString(*bytes));
  }
  return u;
}

TEST(StreamFoldTest, OnlyTheNetworkStreamHasAFold) {
  EXPECT_NE(NewStreamFold(*NetworkUpdate::descriptor()), nullptr);
  // A supply's view: a joiner would miss the current view that opens it.
  EXPECT_EQ(NewStreamFold(*central::v1::SupplyView::descriptor()), nullptr);
}

TEST(StreamFoldTest, NothingToOfferBeforeTheFirstSnapshot) {
  auto fold = NewStreamFold(*NetworkUpdate::descriptor());
  EXPECT_FALSE(fold->CatchUp().has_value());
  fold->Apply(Changed(Cp("A", common::v1::CP_STATE_ACTIVE)));
  EXPECT_FALSE(fold->CatchUp().has_value());
}

TEST(StreamFoldTest, EveryKindFoldsIntoTheSnapshotAJoinerGets) {
  auto fold = NewStreamFold(*NetworkUpdate::descriptor());
  fold->Apply(Snapshot({Cp("B", common::v1::CP_STATE_ACTIVE), Cp("C", common::v1::CP_STATE_ACTIVE)}));
  fold->Apply(Changed(Cp("B", common::v1::CP_STATE_SUPPLYING)));  // a change replaces the CP's status
  fold->Apply(Changed(Cp("A", common::v1::CP_STATE_DISCONNECTED)));  // a new CP joins, in id order
  NetworkUpdate removed;
  removed.set_removed_cp_id("C");
  fold->Apply(removed.SerializeAsString());
  NetworkUpdate message;  // events of their moment leave the state as it is
  message.mutable_message()->set_text("hello");
  fold->Apply(message.SerializeAsString());
  NetworkUpdate ticket;
  ticket.mutable_ticket()->set_cp_id("B");
  fold->Apply(ticket.SerializeAsString());

  NetworkUpdate expected;
  *expected.mutable_snapshot()->add_charging_points() = Cp("A", common::v1::CP_STATE_DISCONNECTED);
  *expected.mutable_snapshot()->add_charging_points() = Cp("B", common::v1::CP_STATE_SUPPLYING);
  EXPECT_EQ(CatchUpOf(*fold).DebugString(), expected.DebugString());
}

TEST(StreamFoldTest, ALaterSnapshotReplacesEverything) {
  auto fold = NewStreamFold(*NetworkUpdate::descriptor());
  fold->Apply(Snapshot({Cp("A", common::v1::CP_STATE_ACTIVE)}));
  fold->Apply(Snapshot({Cp("Z", common::v1::CP_STATE_FAULTED)}));
  NetworkUpdate u = CatchUpOf(*fold);
  ASSERT_EQ(u.snapshot().charging_points_size(), 1);
  EXPECT_EQ(u.snapshot().charging_points(0).charging_point().cp_id(), "Z");
}

// A large network's snapshot comes from central in parts.
TEST(StreamFoldTest, TheContinuedPartsOfASnapshotAddToItsFirstPart) {
  auto fold = NewStreamFold(*NetworkUpdate::descriptor());
  fold->Apply(Snapshot({Cp("Z", common::v1::CP_STATE_FAULTED)}));
  fold->Apply(Snapshot({Cp("A", common::v1::CP_STATE_ACTIVE)}));
  fold->Apply(Snapshot({Cp("B", common::v1::CP_STATE_SUPPLYING)}, /*continued=*/true));
  NetworkUpdate u = CatchUpOf(*fold);
  EXPECT_FALSE(u.snapshot().continued()) << "a joiner's snapshot is whole";
  ASSERT_EQ(u.snapshot().charging_points_size(), 2);
  EXPECT_EQ(u.snapshot().charging_points(0).charging_point().cp_id(), "A");
  EXPECT_EQ(u.snapshot().charging_points(1).charging_point().cp_id(), "B");
}

// A kind this edge does not know (here: no kind) may change what a joiner
// must see: from then on the fold offers nothing, so joiners get calls of
// their own.
TEST(StreamFoldTest, AnUnknownKindStopsTheOffer) {
  auto fold = NewStreamFold(*NetworkUpdate::descriptor());
  fold->Apply(Snapshot({Cp("A", common::v1::CP_STATE_ACTIVE)}));
  fold->Apply(NetworkUpdate().SerializeAsString());
  EXPECT_FALSE(fold->CatchUp().has_value());
  fold->Apply(Snapshot({Cp("A", common::v1::CP_STATE_ACTIVE)}));
  EXPECT_FALSE(fold->CatchUp().has_value());
}

}  // namespace
}  // namespace evc::edge
