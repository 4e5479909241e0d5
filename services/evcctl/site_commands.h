#pragma once
// evcctl's commands on site power caps (issue 20): `site-cap` sets or lifts
// the cap of a site (the CPs sharing an address and city), `site-caps` lists
// the capped sites with the power given out now. Operators only.

#include "services/evcctl/context.h"

namespace evc::evcctl {

int SiteCap(Context& context);
int SiteCaps(Context& context);

}  // namespace evc::evcctl
