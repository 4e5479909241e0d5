#include "services/evcctl/site_commands.h"

#include "absl/strings/str_join.h"
#include "evc/central/v1/central.grpc.pb.h"

namespace evc::evcctl {
namespace {

using central::v1::CentralService;

void PrintSite(Context& c, const central::v1::SitePowerCap& s) {
  std::fprintf(c.out, "%-28s %-14s %9.1f kW cap %9.1f kW given to %d supplies  CPs: %s\n",
               s.address().c_str(), s.city().c_str(), s.cap_w() / 1000.0, s.allocated_w() / 1000.0,
               s.open_supplies(), s.cp_ids().empty() ? "(none yet)" : absl::StrJoin(s.cp_ids(), ", ").c_str());
}

}  // namespace

int SiteCap(Context& c) {
  central::v1::SetSitePowerCapRequest r;
  r.set_address(c.options.address);
  r.set_city(c.options.city);
  r.set_cap_w(c.options.cap_w);
  auto site = Call(c, c.options.central, true, &CentralService::Stub::SetSitePowerCap, r);
  if (!site.ok()) return Fail(c, site.status());
  if (site->cap_w() == 0) {
    std::fprintf(c.out, "power cap of %s, %s lifted\n", r.address().c_str(), r.city().c_str());
    return 0;
  }
  PrintSite(c, *site);
  return 0;
}

int SiteCaps(Context& c) {
  auto list = Call(c, c.options.central, true, &CentralService::Stub::ListSitePowerCaps,
                   central::v1::ListSitePowerCapsRequest());
  if (!list.ok()) return Fail(c, list.status());
  if (list->sites().empty()) std::fprintf(c.out, "no site has a power cap\n");
  for (const auto& s : list->sites()) PrintSite(c, s);
  return 0;
}

}  // namespace evc::evcctl
