#include "services/cp/fleet.h"

#include <array>

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "services/common/backoff.h"
#include "services/common/log.h"
#include "services/common/service_main.h"

namespace evc::cp {

using registry::v1::RegistryService;

std::vector<ChargingPointEnrolment> PlanFleet(const FleetShape& shape) {
  std::vector<std::string> cities = absl::StrSplit(shape.cities, ',', absl::SkipEmpty());
  if (cities.empty()) cities.push_back("Alicante");
  std::vector<ChargingPointEnrolment> plan;
  for (int i = 1; i <= shape.count; ++i) {
    const std::string id = absl::StrFormat("%s%05d", shape.prefix, i);
    plan.push_back({.cp_id = id,
                    .address = absl::StrCat("Fleet bay ", id),
                    .city = cities[i % cities.size()],
                    .country = "ES",
                    .price_millieuros_per_kwh = shape.price_millieuros_per_kwh,
                    .max_power_w = shape.max_power_w});
  }
  return plan;
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

Fleet::Fleet(EngineOptions engine_options, EngineOutput& output, Authenticator& auth,
             central::v1::CentralService::StubInterface& central)
    : engine_options_(engine_options), output_(output), auth_(auth), central_(central) {}

absl::Status Fleet::Enrol(RegistryService::StubInterface& registry,
                          const std::vector<ChargingPointEnrolment>& plan, absl::Duration patience,
                          const absl::Notification* stop) {
  return EnrolEach(registry, plan, patience, stop, [this](const ChargingPointEnrolment& planned, const std::string& secret) {
    SimulatedCp& cp = cps_[planned.cp_id];
    cp.engine = std::make_unique<Engine>(engine_options_, output_);
    cp.probe = std::make_unique<LocalEngineProbe>(*cp.engine);
    cp.monitor = std::make_unique<Monitor>(planned.cp_id, secret, *cp.probe, auth_, central_);
  });
}

Engine* Fleet::EngineOf(const std::string& cp_id) {
  auto it = cps_.find(cp_id);
  return it == cps_.end() ? nullptr : it->second.engine.get();
}

void Fleet::SetCommandChannelReady() {
  for (auto& [id, cp] : cps_) cp.engine->SetCommandChannelReady();
}

void RunInShards(int threads, const std::function<void(int shard, int shards)>& body) {
  const int shards = std::max(1, threads);
  std::vector<std::thread> tickers;
  for (int shard = 0; shard < shards; ++shard) tickers.emplace_back([&body, shard, shards] { body(shard, shards); });
  for (auto& t : tickers) t.join();
}

void Fleet::Run(int threads, absl::Duration telemetry_period, const absl::Notification& stopping) {
  std::vector<SimulatedCp*> cps;
  for (auto& [id, cp] : cps_) cps.push_back(&cp);
  RunInShards(threads, [&](int shard, int shards) {
    // A shard's CPs tick in kSlices turns spread over the period: all of
    // them at once would land on central as one burst a second, and what
    // arrives behind the burst (a charge request) waits for all of it.
    constexpr int kSlices = 10;
    std::array<absl::Time, kSlices> next_health;
    next_health.fill(absl::InfinitePast());
    int turn = 0;
    absl::Duration period = std::min(telemetry_period, absl::Seconds(1));
    do {
      const absl::Time now = absl::Now();
      // Central sets the pace of health reports, the same for every CP: the
      // shard's first one tells it.
      const absl::Duration health_interval = static_cast<size_t>(shard) < cps.size()
                                                 ? cps[shard]->monitor->health_interval()
                                                 : absl::Seconds(1);
      period = std::min(telemetry_period, health_interval);
      const bool health_due = now >= next_health[turn];
      if (health_due) next_health[turn] = now + health_interval;
      // Authenticating blocks on auth (a slow secret hash each): at 50,000
      // CPs a turn spent on newcomers delayed the health reports of CPs
      // already linked past central's link timeout. Newcomers get nine tenths
      // of a turn (half a turn linked 50,000 CPs at ~45 a second: too slow).
      const absl::Time newcomers_until = now + period / kSlices * 9 / 10;
      const size_t step = static_cast<size_t>(shards) * kSlices;
      for (size_t i = shard + static_cast<size_t>(turn) * shards; i < cps.size(); i += step) {
        // Each CP reads the clock itself: a shard's loop takes tens of ms,
        // and readings must carry the time they were really taken.
        const absl::Time at = absl::Now();
        cps[i]->engine->Tick(at);
        if (health_due && (cps[i]->monitor->Authenticated(at) || at < newcomers_until)) {
          cps[i]->monitor->Tick(at);
        }
      }
      turn = (turn + 1) % kSlices;
    } while (!stopping.WaitForNotificationWithTimeout(period / kSlices));
  });
  for (SimulatedCp* cp : cps) cp->monitor->Shutdown();
}

namespace {

absl::Status RunOcppFleet(const FleetRun& run, RegistryService::StubInterface& registry, ServiceHost* health,
                          const absl::Notification& stop) {
  absl::StatusOr<ocpp::CentralSystemUrl> url = ocpp::ParseCentralSystemUrl(run.ocpp_url);
  if (!url.ok()) return url.status();
  OcppFleet fleet(run.ocpp, *url, run.ocpp_io_threads);
  if (absl::Status s = fleet.Enrol(registry, PlanFleet(run.shape), run.enrol_patience, &stop); !s.ok()) return s;
  log::Info("fleet enrolled; its chargers connect over OCPP", {{"count", fleet.size()}, {"url", run.ocpp_url}});
  if (health) health->SetServing(true);
  fleet.Run(run.tick_threads, stop);
  if (health) health->Shutdown(absl::Seconds(1));
  return absl::OkStatus();
}

}  // namespace

absl::Status RunFleet(const FleetRun& run, ClientSession& session, KafkaProducer* producer, ServiceHost* health,
                      const absl::Notification& stop) {
  auto registry = RegistryService::NewStub(MakeChannel(run.registry, session.Bearer()));
  if (!run.ocpp_url.empty()) return RunOcppFleet(run, *registry, health, stop);
  auto central = central::v1::CentralService::NewStub(MakeCentralChannel(run.central));
  GrpcAuthenticator auth(run.auth);
  KafkaEngineOutput output(*producer, false);
  Fleet fleet(run.engine, output, auth, *central);
  if (absl::Status s = fleet.Enrol(*registry, PlanFleet(run.shape), run.enrol_patience, &stop); !s.ok()) return s;
  log::Info("fleet enrolled", {{"count", fleet.size()}});

  auto consumer = ConsumeEngineCommands(
      run.kafka_brokers, "evc-fleet-" + run.shape.prefix, "evc-fleet",
      [&fleet](const std::string& id) { return fleet.EngineOf(id); }, *producer);
  WaitUntil([&] { return consumer->assigned(); }, stop);
  fleet.SetCommandChannelReady();
  if (health) health->SetServing(true);
  fleet.Run(run.tick_threads, run.telemetry_period, stop);
  if (health) health->Shutdown(absl::Seconds(1));
  consumer->Stop();
  return absl::OkStatus();
}

}  // namespace evc::cp
