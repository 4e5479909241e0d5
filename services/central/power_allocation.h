#pragma once
// Site power limits (issue 20): how much power each running supply may draw.
// Owned by the state machine (ChargingNetwork): pure logic, no I/O.
//
// A site is the CPs sharing a location's address and city (compared without
// case and surrounding spaces); a CP without an address or city is a site of
// its own. An operator may give a site a power cap. Every open supply (not
// yet ended) gets a limit:
//   - never above its CP's max_power_w (0: the CP declares no maximum);
//   - at a capped site, the cap is shared fairly among the site's open
//     supplies: equal shares, and what a CP cannot take (its max_power_w is
//     below its share) goes to the others ("water-filling"). The sum of the
//     limits never exceeds the cap; watts are whole, so up to n-1 W of the
//     cap may stay unallocated.
//   - a supply limited by nothing (no cap, no max_power_w) gets 0: unlimited.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "evc/common/v1/types.pb.h"

namespace evc::central {

// The key that groups CPs into a site ("" when the location names no site).
std::string SiteKeyOf(const common::v1::Location& location);

// One open supply asking for power: its CP's max_power_w (0: none).
struct PowerDemand {
  std::string supply_id;
  int64_t max_power_w = 0;
};

// The limit of each demand (same order), sharing `cap_w` (nullopt: no cap).
std::vector<int64_t> SharePower(std::optional<int64_t> cap_w,
                                const std::vector<PowerDemand>& demands);

// The largest cap an operator may set (10 MW: a site, not a grid).
inline constexpr int64_t kMaxSiteCapW = 10'000'000;

// A site's cap as the operator named it.
struct SiteCap {
  std::string address;
  std::string city;
  int64_t cap_w = 0;
};

// The caps in force, by site key.
class SitePowerCaps {
 public:
  // INVALID_ARGUMENT, changing nothing, for a location without address or
  // city, or a cap outside 0..kMaxSiteCapW (0 lifts the cap).
  static absl::Status Validate(const std::string& address, const std::string& city, int64_t cap_w);
  // Sets (cap_w > 0) or lifts (0) the cap of the site; returns its key.
  std::string Set(const SiteCap& cap);
  std::optional<int64_t> CapOf(const std::string& site_key) const;
  const std::map<std::string, SiteCap>& all() const { return caps_; }

 private:
  std::map<std::string, SiteCap> caps_;
};

// Which CPs make up each site, kept as the catalogue changes, so that a
// supply starting or ending looks at its site only.
class SiteIndex {
 public:
  // Places the CP in its location's site; returns the site it left ("" for
  // none or the same).
  std::string Place(const std::string& cp_id, const common::v1::Location& location);
  void Remove(const std::string& cp_id);
  // "" for a CP of no site.
  const std::string& SiteOf(const std::string& cp_id) const;
  const std::set<std::string>& Members(const std::string& site_key) const;

 private:
  std::map<std::string, std::string> site_of_;
  std::map<std::string, std::set<std::string>> members_;
};

}  // namespace evc::central
