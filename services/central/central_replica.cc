#include "services/central/central_replica.h"

#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "services/central/central_grpc.h"
#include "services/central/config_grpc.h"
#include "services/central/central_metrics.h"
#include "services/central/kafka_routes.h"
#include "services/central/leader_fence.h"
#include "services/central/leadership.h"
#include "services/central/leadership_grpc.h"
#include "services/central/network_flags.h"
#include "services/central/pg_leadership.h"
#include "services/central/pg_supply_store.h"
#include "services/central/remote_sources.h"
#include "services/central/replay_marks.h"
#include "services/common/audit.h"
#include "services/common/auth_client.h"
#include "services/common/caller.h"
#include "services/common/grpc_util.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/common/service_main.h"

namespace evc::central {
namespace {

// What the replica does as its part in the election changes: the fence of its
// journal, its health, its metrics and the audit trail (SYSTEM). Audit rows go
// through their own sink, unfenced: a replica that does not lead still records
// why it stopped.
class ReplicaRole : public LeadershipObserver {
 public:
  ReplicaRole(const std::string& replica_id, LeadershipMetrics& metrics, PgAuditSink& audit)
      : fence_(replica_id, [this](const absl::Status& why) { Fenced(why); }),
        metrics_(metrics),
        audit_(audit) {}

  void OnLeadership(LeaderState state, const Lease& lease) override {
    Record(absl::StrCat("central_", LeaderStateName(state)), lease, {});
    switch (state) {
      case LeaderState::kLeading: return Lead(lease);
      case LeaderState::kLapsed:
        metrics_.Leading(false, lease.epoch);
        return SetServing(false);
      case LeaderState::kSuperseded:
        return Exit(absl::StrCat("epoch ", lease.epoch, " superseded: another replica leads"));
      case LeaderState::kFollowing: return;
    }
  }

  // Health of `host` follows the term from now on (nullptr: no host).
  void Serve(ServiceHost* host) {
    absl::MutexLock lock(&mu_);
    host_ = host;
    if (host_ != nullptr) SetServingLocked(serving_);
  }
  // Stopping: no longer ready, whatever the lease says.
  void Unready() { SetServing(false); }
  const LeaderFence& fence() const { return fence_; }
  const absl::Notification& leading() const { return leading_; }
  absl::Time term_began() const {
    absl::MutexLock lock(&mu_);
    return term_began_;
  }

 private:
  void Lead(const Lease& lease) {
    fence_.Enter(lease.epoch);
    metrics_.Leading(true, lease.epoch);
    {
      absl::MutexLock lock(&mu_);
      if (!leading_.HasBeenNotified()) term_began_ = absl::Now();
    }
    SetServing(true);
    if (!leading_.HasBeenNotified()) leading_.Notify();
  }
  void Fenced(const absl::Status& why) {
    metrics_.FencedWrite();
    Record("central_fenced_write",
           {.holder = fence_.replica_id(), .advertise_address = "", .epoch = fence_.epoch()},
           {{"error", std::string(why.message())}});
    Exit(std::string(why.message()));
  }
  [[noreturn]] void Exit(const std::string& why) {
    log::Error("this central replica no longer leads: exiting so that it restarts as a follower",
               {{"replica", fence_.replica_id()}, {"why", why}, {"exit_code", kExitSuperseded}});
    audit_.Flush();
    std::_Exit(kExitSuperseded);
  }
  void Record(const std::string& action, const Lease& lease, nlohmann::json details) {
    details["replica"] = fence_.replica_id();
    details["epoch"] = lease.epoch;
    details["leader"] = lease.holder;
    audit_.Record({.at = absl::Now(), .category = AuditCategory::kSystem, .action = action,
                   .actor = Caller::System("central").AuditName(), .cp_id = "", .outcome = "OK",
                   .details = std::move(details), .source = "leader-election"});
  }
  void SetServing(bool serving) {
    absl::MutexLock lock(&mu_);
    serving_ = serving;
    if (host_ != nullptr) SetServingLocked(serving);
  }
  void SetServingLocked(bool serving) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    host_->SetServing(serving);
    host_->SetServing(kCentralServiceName, serving);
  }

  LeaderFence fence_;
  LeadershipMetrics& metrics_;
  PgAuditSink& audit_;
  absl::Notification leading_;
  mutable absl::Mutex mu_;
  ServiceHost* host_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time term_began_ ABSL_GUARDED_BY(mu_);
};

// Serves refusals until this replica leads (true) or is asked to stop (false).
bool FollowUntilLeading(const std::string& listen, const Leadership& leadership,
                        const ReplicaRole& role) {
  if (role.leading().HasBeenNotified()) return true;
  FollowerService follower(leadership);
  ServiceHost host("central", listen);
  host.SetGenericService(&follower);
  ExitIfError("cannot start gRPC server (--listen)", host.Start());
  host.SetServing(true);  // alive, but not the CentralService to route to
  host.SetServing(kCentralServiceName, false);
  log::Info("following: CentralService calls are refused until this replica leads",
            {{"leader", leadership.lease().holder}, {"at", leadership.lease().advertise_address}});
  while (!role.leading().WaitForNotificationWithTimeout(absl::Milliseconds(50))) {
    if (ShutdownRequested().HasBeenNotified()) return false;
  }
  host.Shutdown(absl::ZeroDuration());
  return true;
}

constexpr int kCallThreads = 8;
// The longest a call waits for the journal (kDurableWait in central.cc).
constexpr absl::Duration kLongestCall = absl::Seconds(5);

// Returns once every call handed to `pool` (kCallThreads threads) before now
// has been answered, or after `limit`: one task per thread that waits until
// all of them run, which they do only once the tasks queued before them are
// done. A call still waiting for the journal when the server stops is cut
// with CANCELLED, which clients do not retry (seen in ha_rolling_test under
// load: a driver's stop lost, its supply left open); answered, it is OK or
// UNAVAILABLE, and they retry at the next leader.
bool AnswerCallsInFlight(WorkerPool& pool, absl::Duration limit) {
  struct Barrier {
    absl::Mutex mu;
    int running ABSL_GUARDED_BY(mu) = 0;
    bool released ABSL_GUARDED_BY(mu) = false;
  };
  auto barrier = std::make_shared<Barrier>();
  int submitted = 0;
  for (; submitted < kCallThreads; ++submitted) {
    const bool queued = pool.TrySubmit([barrier] {
      absl::MutexLock lock(&barrier->mu);
      ++barrier->running;
      barrier->mu.Await(absl::Condition(&barrier->released));
    });
    if (!queued) break;
  }
  absl::MutexLock lock(&barrier->mu);
  const bool answered = submitted == kCallThreads &&
                        barrier->mu.AwaitWithTimeout(absl::Condition(
                                                         +[](int* running) { return *running == kCallThreads; },
                                                         &barrier->running),
                                                     limit);
  barrier->released = true;
  return answered;
}

// The leader's service: state from Postgres, Kafka, CentralService.
int Lead(const CentralPeers& peers, ServiceDeps& deps, ReplicaRole& role, LeadershipMetrics& metrics,
         int64_t epoch, absl::Duration shutdown_drain) {
  auto registry = registry::v1::RegistryService::NewStub(MakeChannel(peers.registry));
  auto auth = auth::v1::AuthService::NewStub(MakeChannel(peers.auth));
  PgSupplyStore store(*deps.postgres, &role.fence());
  KafkaPublisher publisher(*deps.producer);
  SystemClock clock;
  std::unique_ptr<TokenVerifier> tokens = MakeAuthTokenVerifier(*auth, clock);
  AuthCpKeys keys(*auth);
  PgReplayMarkStore replay_marks(*deps.postgres, &role.fence());
  EngineChannel channel(keys, &replay_marks, publisher, clock, static_cast<uint64_t>(epoch));
  AuthNotificationKeys notification_keys(*auth);
  RegistryCatalogue catalogue(*registry);
  Central central(NetworkConfigFromFlags(), store, publisher, channel, clock, &notification_keys,
                  &catalogue);
  absl::StatusOr<std::vector<common::v1::ChargingPoint>> entries = LoadCatalogue(*registry);
  ExitIfError("cannot load the charging-point catalogue (--registry)", entries.status());
  ExitIfError("cannot start central", central.Start(*entries));

  CallAuthorizer authz(*tokens);
  WorkerPool pool(kCallThreads, 10000);
  AuthCpTokens cp_tokens(*auth);
  PgAuditReader audit(*deps.postgres);
  CentralGrpc service(central, pool, cp_tokens, authz, audit);
  // The broker authenticates nobody: charge assertions and auth events are
  // verified with auth's keys, registry events with the registry's.
  std::unique_ptr<VerifyingKeys> auth_keys = AuthEventKeys(*auth, clock);
  std::unique_ptr<VerifyingKeys> registry_keys = RegistryEventKeys(*registry, clock);
  RegistryDriverTags driver_tags(*registry);
  KafkaRoutes routes(central, channel, *tokens, {auth_keys.get(), registry_keys.get(), &driver_tags},
                     service, clock);
  std::unique_ptr<KafkaConsumer> consumer = StartConsuming(
      {.brokers = KafkaBrokers(), .group_id = "evc-central", .client_id = "evc-central",
       .topics = {topics::kEngineEvents, topics::kChargeRequests, topics::kRegistryEvents,
                  topics::kAuthEvents},
       .sole_reader = true},
      "cannot consume from kafka (--kafka)",
      [&](std::span<const KafkaMessage> batch) { routes.HandleBatch(batch, deps.producer.get()); });

  ConfigGrpc config_service(central, pool, authz, service);
  ServiceHost host("central", peers.listen);
  host.AddService(&service);
  host.AddService(&config_service);
  ExitIfError("cannot start gRPC server (--listen)", host.Start());
  role.Serve(&host);
  if (epoch > 1) metrics.TookOver(absl::Now() - role.term_began());
  log::Info("leading: serving CentralService", {{"epoch", epoch}});
  ShutdownRequested().WaitForNotification();
  // Not ready first, still serving (LeadershipConfig::shutdown_drain); then
  // the streams end, the server stops and the caller resigns the lease.
  role.Unready();
  absl::SleepFor(shutdown_drain);
  central.StopTimers();
  service.EndStreams();
  // Calls in flight are answered first: the longest waits for the journal.
  if (!AnswerCallsInFlight(pool, kLongestCall)) {
    log::Warn("calls still in flight at shutdown; the server cuts them",
              {{"waited", absl::FormatDuration(kLongestCall)}});
  }
  // What is left (clients' health watches) is cancelled after a second.
  host.Shutdown(absl::Seconds(1));
  role.Serve(nullptr);
  consumer->Stop();
  central.Stop();
  return 0;
}

}  // namespace

int RunCentralReplica(const CentralPeers& peers) {
  absl::StatusOr<LeadershipConfig> config = LeadershipConfigFromFlags(peers.listen);
  ExitIfError("bad leader election flags", config.status());
  ServiceDeps deps = ConnectDeps(
      "central", {.postgres = true, .kafka_producer = true, .postgres_connections = 6});
  metrics::ServeFor(peers.listen);
  PgAuditSink audit(*deps.postgres, 10000, "central");
  KafkaPublisher audit_stream(*deps.producer);
  audit.StreamTo(&audit_stream);
  LeadershipMetrics metrics;
  ReplicaRole role(config->replica_id, metrics, audit);
  PgLeaderLeaseStore leases(*deps.postgres);
  SystemClock clock;
  Leadership leadership(*config, leases, clock, role);
  leadership.Step();  // a lone replica leads at once: the lease is free or its own
  leadership.Start();
  int code = 0;
  if (FollowUntilLeading(peers.listen, leadership, role)) {
    code = Lead(peers, deps, role, metrics, leadership.lease().epoch, config->shutdown_drain);
  }
  leadership.Resign();
  return code;
}

}  // namespace evc::central
