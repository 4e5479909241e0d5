#include "services/edge/stream_fold.h"

#include <map>

#include "evc/central/v1/central.pb.h"

namespace evc::edge {
namespace {

using central::v1::ChargingPointStatus;
using central::v1::NetworkUpdate;

// WatchNetwork: a snapshot of every CP, then whole CP statuses and removals.
// Central orders its snapshot by CP id; the ordered map keeps that order, so
// a joiner's snapshot reads as one straight from central would.
class NetworkWatchFold : public StreamFold {
 public:
  void Apply(const std::string& bytes) override {
    NetworkUpdate update;
    if (!update.ParseFromString(bytes)) {
      lost_ = true;
      return;
    }
    switch (update.kind_case()) {
      case NetworkUpdate::kSnapshot:
        if (!update.snapshot().continued()) cps_.clear();
        for (ChargingPointStatus& cp : *update.mutable_snapshot()->mutable_charging_points()) Put(std::move(cp));
        has_snapshot_ = true;
        return;
      case NetworkUpdate::kChargingPoint:
        return Put(std::move(*update.mutable_charging_point()));
      case NetworkUpdate::kRemovedCpId:
        cps_.erase(update.removed_cp_id());
        return;
      case NetworkUpdate::kMessage:
      case NetworkUpdate::kTicket:
        // Events of their moment, not state: a client that starts watching
        // later does not get earlier ones from central either.
        return;
      case NetworkUpdate::KIND_NOT_SET:
        // A kind newer than this edge: whether it changes what a joiner must
        // see cannot be told, so no snapshot is offered from here on.
        lost_ = true;
        return;
    }
  }

  std::optional<std::string> CatchUp() const override {
    if (!has_snapshot_ || lost_) return std::nullopt;
    NetworkUpdate snapshot;
    auto* cps = snapshot.mutable_snapshot()->mutable_charging_points();
    cps->Reserve(static_cast<int>(cps_.size()));
    for (const auto& [id, cp] : cps_) *cps->Add() = cp;
    return snapshot.SerializeAsString();
  }

 private:
  void Put(ChargingPointStatus cp) {
    std::string id = cp.charging_point().cp_id();
    cps_[std::move(id)] = std::move(cp);
  }

  std::map<std::string, ChargingPointStatus> cps_;
  bool has_snapshot_ = false;
  bool lost_ = false;
};

}  // namespace

std::unique_ptr<StreamFold> NewStreamFold(const google::protobuf::Descriptor& type) {
  if (&type == NetworkUpdate::descriptor()) return std::make_unique<NetworkWatchFold>();
  return nullptr;
}

}  // namespace evc::edge
