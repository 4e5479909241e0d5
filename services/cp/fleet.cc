#include "services/cp/fleet.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/backoff.h"
#include "services/common/grpc_util.h"

namespace evc::cp {

using registry::v1::RegistryService;

absl::StatusOr<std::string> Enrol(RegistryService::StubInterface& registry, const FleetCp& cp) {
  registry::v1::RegisterChargingPointRequest request;
  request.set_cp_id(cp.cp_id);
  request.mutable_location()->set_address(absl::StrCat("Fleet bay ", cp.cp_id));
  request.mutable_location()->set_city(cp.city);
  request.mutable_location()->set_country("ES");
  request.set_price_millieuros_per_kwh(cp.price_millieuros_per_kwh);
  request.set_max_power_w(cp.max_power_w);
  auto registered = CallUnary(&RegistryService::StubInterface::RegisterChargingPoint, registry,
                              request, absl::Seconds(10));
  if (registered.ok()) return registered->credentials().secret();
  if (!absl::IsAlreadyExists(registered.status())) return registered.status();
  registry::v1::ResetCredentialsRequest reset;
  reset.set_cp_id(cp.cp_id);
  auto credentials = CallUnary(&RegistryService::StubInterface::ResetCredentials, registry, reset,
                               absl::Seconds(10));
  if (!credentials.ok()) return credentials.status();
  return credentials->secret();
}

namespace {

bool CredentialsRejected(const absl::Status& status) {
  return absl::IsUnauthenticated(status) || absl::IsInvalidArgument(status);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ClientSession>> LogInOperator(const OperatorLogin& login,
                                                             absl::Time deadline,
                                                             const absl::Notification* stop) {
  absl::StatusOr<std::unique_ptr<ClientSession>> session = absl::UnavailableError("not tried");
  absl::Status reached = RetryWithBackoff(
      "log in",
      [&] {
        session = ClientSession::Login(login.auth_target, login.user, login.password);
        // A rejection ends the retries; the caller sees it in `session`.
        return CredentialsRejected(session.status()) ? absl::OkStatus() : session.status();
      },
      deadline, stop);
  if (!reached.ok()) return reached;
  return session;
}

std::string LoginFailureWhat(const absl::Status& status) {
  return CredentialsRejected(status) ? "operator login (--user, --password_file)"
                                     : "operator login (--user, --auth)";
}

void TickFleet(const std::vector<SimulatedCp*>& cps, int threads, absl::Duration telemetry_period,
               const absl::Notification& stopping) {
  const int shards = std::max(1, threads);
  const absl::Duration period = std::min(telemetry_period, absl::Seconds(1));
  std::vector<std::thread> tickers;
  for (int shard = 0; shard < shards; ++shard) {
    tickers.emplace_back([&, shard] {
      absl::Time next_health = absl::InfinitePast();
      do {
        const absl::Time now = absl::Now();
        const bool health_due = now >= next_health;
        if (health_due) next_health = now + absl::Seconds(1);
        for (size_t i = shard; i < cps.size(); i += shards) {
          // Each CP reads the clock itself: a shard's loop takes tens of ms,
          // and readings must carry the time they were really taken.
          cps[i]->engine->Tick(absl::Now());
          if (health_due) cps[i]->monitor->Tick(absl::Now());
        }
      } while (!stopping.WaitForNotificationWithTimeout(period));
    });
  }
  for (auto& t : tickers) t.join();
}

}  // namespace evc::cp
