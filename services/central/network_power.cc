// The state machine's power rules (issue 20): each open supply's limit, from
// its CP's max_power_w and its site's cap (power_allocation.h). Part of
// ChargingNetwork (network.h); kept apart so that the rest of network.cc only
// says where a share changes: a supply opens or closes, a CP's location or
// maximum changes, an operator sets a cap, central restarts.

#include <set>

#include "absl/strings/str_cat.h"
#include "services/central/network.h"
#include "services/common/crypto.h"
#include "services/common/proto_time.h"

namespace evc::central {

void ChargingNetwork::ReallocatePower(ChargingPointRecord& cp, absl::Time now, Effects& fx,
                                      const std::string& fresh_cp) {
  const std::string& site = sites_.SiteOf(cp.info.cp_id());
  if (!site.empty()) return ReallocateSite(site, now, fx, fresh_cp);
  if (!cp.supply) return;
  ApplyPowerLimits({&cp}, std::nullopt, now, fx, fresh_cp);
}

void ChargingNetwork::ReallocateSite(const std::string& site_key, absl::Time now, Effects& fx,
                                     const std::string& fresh_cp) {
  std::vector<ChargingPointRecord*> running;
  for (const std::string& id : sites_.Members(site_key)) {
    auto it = cps_.find(id);
    if (it != cps_.end() && it->second.supply) running.push_back(&it->second);
  }
  if (running.empty()) return;
  ApplyPowerLimits(running, site_caps_.CapOf(site_key), now, fx, fresh_cp);
}

void ChargingNetwork::ApplyPowerLimits(const std::vector<ChargingPointRecord*>& running,
                                       std::optional<int64_t> cap, absl::Time now, Effects& fx,
                                       const std::string& fresh_cp) {
  std::vector<PowerDemand> demands;
  demands.reserve(running.size());
  for (const ChargingPointRecord* cp : running) {
    demands.push_back({cp->supply->supply_id, cp->info.max_power_w()});
  }
  const std::vector<int64_t> limits = SharePower(cap, demands);
  for (size_t i = 0; i < running.size(); ++i) {
    ChargingPointRecord& cp = *running[i];
    SupplyRecord& s = *cp.supply;
    if (s.power_limit_w == limits[i]) continue;
    s.power_limit_w = limits[i];
    ++counters_.power_limits_changed;
    if (cp.info.cp_id() == fresh_cp) continue;  // its AUTHORIZE carries the limit
    events::v1::EngineCommand c = Command(cp.info.cp_id(), now);
    c.mutable_set_power_limit()->set_supply_id(s.supply_id);
    c.mutable_set_power_limit()->set_power_limit_w(s.power_limit_w);
    SendCommand(cp, std::move(c), now, fx);
    Publish(cp, fx);
  }
}

void ChargingNetwork::ResendPowerLimit(ChargingPointRecord& cp, absl::Time now, Effects& fx) {
  if (!cp.supply || cp.supply->phase == common::v1::SUPPLY_PHASE_AUTHORIZED) return;
  events::v1::EngineCommand c = Command(cp.info.cp_id(), now);
  c.mutable_set_power_limit()->set_supply_id(cp.supply->supply_id);
  c.mutable_set_power_limit()->set_power_limit_w(cp.supply->power_limit_w);
  SendCommand(cp, std::move(c), now, fx);
}

void ChargingNetwork::ReallocateAllPower(absl::Time now, Effects& fx) {
  std::set<std::string> sites_done;
  for (auto& [id, cp] : cps_) {
    if (!cp.supply) continue;
    const std::string& site = sites_.SiteOf(id);
    if (site.empty()) {
      ReallocatePower(cp, now, fx);
    } else if (sites_done.insert(site).second) {
      ReallocateSite(site, now, fx);
    }
  }
}

absl::StatusOr<central::v1::SitePowerCap> ChargingNetwork::SetSitePowerCap(const SiteCap& cap,
                                                                           const Caller& actor,
                                                                           absl::Time now,
                                                                           Effects& fx) {
  if (absl::Status s = SitePowerCaps::Validate(cap.address, cap.city, cap.cap_w); !s.ok()) {
    return s;
  }
  const std::string key = site_caps_.Set(cap);
  ReallocateSite(key, now, fx);
  Audit(fx, now, AuditCategory::kStatus, cap.cap_w > 0 ? "site_power_cap_set" : "site_power_cap_lifted",
        actor.AuditName(), "", "OK",
        {{"address", cap.address}, {"city", cap.city}, {"cap_w", cap.cap_w}});
  Message(now, central::v1::NetworkMessage::SEVERITY_INFO, "",
          cap.cap_w > 0 ? absl::StrCat("site ", cap.address, ", ", cap.city, " capped at ",
                                       cap.cap_w, " W")
                        : absl::StrCat("site ", cap.address, ", ", cap.city, ": power cap lifted"),
          fx);
  return SiteView(key, cap);
}

central::v1::SitePowerCap ChargingNetwork::SiteView(const std::string& site_key,
                                                    const SiteCap& cap) const {
  central::v1::SitePowerCap out;
  out.set_address(cap.address);
  out.set_city(cap.city);
  out.set_cap_w(cap.cap_w);
  int64_t allocated = 0;
  int32_t open = 0;
  for (const std::string& id : sites_.Members(site_key)) {
    out.add_cp_ids(id);
    auto it = cps_.find(id);
    if (it == cps_.end() || !it->second.supply) continue;
    allocated += it->second.supply->power_limit_w;
    ++open;
  }
  out.set_allocated_w(allocated);
  out.set_open_supplies(open);
  return out;
}

std::vector<central::v1::SitePowerCap> ChargingNetwork::SiteCapViews() const {
  std::vector<central::v1::SitePowerCap> out;
  for (const auto& [key, cap] : site_caps_.all()) out.push_back(SiteView(key, cap));
  return out;
}

}  // namespace evc::central
