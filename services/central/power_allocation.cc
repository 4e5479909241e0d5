#include "services/central/power_allocation.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace evc::central {

std::string SiteKeyOf(const common::v1::Location& location) {
  std::string address = absl::AsciiStrToLower(absl::StripAsciiWhitespace(location.address()));
  std::string city = absl::AsciiStrToLower(absl::StripAsciiWhitespace(location.city()));
  if (address.empty() || city.empty()) return "";
  // A unit separator: no address or city a person types holds one.
  return absl::StrCat(city, "\x1f", address);
}

std::vector<int64_t> SharePower(std::optional<int64_t> cap_w,
                                const std::vector<PowerDemand>& demands) {
  std::vector<int64_t> limits(demands.size(), 0);
  if (!cap_w) {
    for (size_t i = 0; i < demands.size(); ++i) limits[i] = std::max<int64_t>(0, demands[i].max_power_w);
    return limits;
  }
  // Water-filling: the demands with the smallest maximum are served first;
  // each takes min(its maximum, an equal share of what is left).
  std::vector<size_t> order(demands.size());
  std::iota(order.begin(), order.end(), 0);
  auto want = [&](size_t i) {
    const int64_t max = demands[i].max_power_w;
    return max > 0 ? max : INT64_MAX;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return want(a) < want(b); });
  int64_t left = std::max<int64_t>(0, *cap_w);
  for (size_t k = 0; k < order.size(); ++k) {
    const int64_t share = left / static_cast<int64_t>(order.size() - k);
    const int64_t take = std::min(share, want(order[k]));
    limits[order[k]] = take;
    left -= take;
  }
  return limits;
}

absl::Status SitePowerCaps::Validate(const std::string& address, const std::string& city,
                                     int64_t cap_w) {
  common::v1::Location site;
  site.set_address(address);
  site.set_city(city);
  if (SiteKeyOf(site).empty()) {
    return absl::InvalidArgumentError(
        "a site is named by its address and city: give both (as the CPs' location has them)");
  }
  if (address.size() > 512 || city.size() > 256) {
    return absl::InvalidArgumentError("address (512) or city (256 bytes) too long for a site");
  }
  if (cap_w < 0 || cap_w > kMaxSiteCapW) {
    return absl::InvalidArgumentError(absl::StrCat("power cap ", cap_w, " W is outside 0..",
                                                   kMaxSiteCapW, " W (0 lifts the cap)"));
  }
  return absl::OkStatus();
}

std::string SitePowerCaps::Set(const SiteCap& cap) {
  common::v1::Location site;
  site.set_address(cap.address);
  site.set_city(cap.city);
  std::string key = SiteKeyOf(site);
  if (key.empty()) return key;
  if (cap.cap_w > 0) {
    caps_[key] = cap;
  } else {
    caps_.erase(key);
  }
  return key;
}

std::optional<int64_t> SitePowerCaps::CapOf(const std::string& site_key) const {
  auto it = caps_.find(site_key);
  if (it == caps_.end()) return std::nullopt;
  return it->second.cap_w;
}

std::string SiteIndex::Place(const std::string& cp_id, const common::v1::Location& location) {
  std::string key = SiteKeyOf(location);
  std::string left;
  auto it = site_of_.find(cp_id);
  if (it != site_of_.end()) {
    if (it->second == key) return "";
    left = it->second;
    Remove(cp_id);
  }
  if (!key.empty()) members_[key].insert(cp_id);
  site_of_[cp_id] = std::move(key);
  return left;
}

void SiteIndex::Remove(const std::string& cp_id) {
  auto it = site_of_.find(cp_id);
  if (it == site_of_.end()) return;
  if (auto m = members_.find(it->second); m != members_.end()) {
    m->second.erase(cp_id);
    if (m->second.empty()) members_.erase(m);
  }
  site_of_.erase(it);
}

const std::string& SiteIndex::SiteOf(const std::string& cp_id) const {
  static const std::string* const kNone = new std::string();
  auto it = site_of_.find(cp_id);
  return it == site_of_.end() ? *kNone : it->second;
}

const std::set<std::string>& SiteIndex::Members(const std::string& site_key) const {
  static const std::set<std::string>* const kNone = new std::set<std::string>();
  auto it = members_.find(site_key);
  return it == members_.end() ? *kNone : it->second;
}

}  // namespace evc::central
