#include "services/weather/central_holds.h"

#include <vector>

#include "services/common/grpc_util.h"
#include "services/common/log.h"

namespace evc::weather {

using central::v1::CentralService;

absl::Status CentralHolds::ApplyHolds(const std::map<std::string, std::string>& held) {
  central::v1::ApplyWeatherHoldsRequest request;
  for (const auto& [cp_id, detail] : held) {
    auto* h = request.add_holds();
    h->set_cp_id(cp_id);
    h->set_detail(detail);
  }
  auto r = CallUnary(&CentralService::StubInterface::ApplyWeatherHolds, central_, request,
                     absl::Seconds(5));
  if (!r.ok()) return r.status();
  if (r->unknown_cp_ids_size() > 0) {
    log::Warn("central does not know some held charging points",
              {{"cp_ids",
                std::vector<std::string>(r->unknown_cp_ids().begin(), r->unknown_cp_ids().end())}});
  }
  return absl::OkStatus();
}

}  // namespace evc::weather
