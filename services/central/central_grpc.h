#pragma once
// gRPC face of central. Streams use callback reactors (no thread per call);
// calls that block (driver lookup, waiting for durability, token validation)
// run on a bounded worker pool.

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "evc/central/v1/central.grpc.pb.h"
#include "services/central/central.h"
#include "services/central/audit_reader.h"
#include "services/central/cp_token_validator.h"
#include "services/central/link_closer.h"
#include "services/central/link_settings.h"
#include "services/common/audit.h"
#include "services/common/authz.h"
#include "services/common/worker_pool.h"

namespace evc::central {


class MonitorLinkReactor;

class CentralGrpc : public v1::CentralService::CallbackService,
                    public LinkCloser,
                    public LinkSettings {
 public:
  // A monitor link must say Register within this long of opening.
  static constexpr absl::Duration kRegistrationTimeout = absl::Seconds(10);

  // Monitors link with a CP token checked by `cp_tokens`; operators read
  // the audit trail from `audit`.
  CentralGrpc(Central& central, WorkerPool& pool, CpTokenValidator& cp_tokens,
              CallAuthorizer& authz, AuditReader& audit,
              absl::Duration registration_timeout = kRegistrationTimeout);
  ~CentralGrpc() override;

  grpc::ServerBidiReactor<v1::MonitorMessage, v1::MonitorReply>* MonitorLink(
      grpc::CallbackServerContext* c) override;
  grpc::ServerUnaryReactor* RequestCharge(grpc::CallbackServerContext* c,
                                          const v1::RequestChargeRequest* req,
                                          v1::RequestChargeResponse* resp) override;
  grpc::ServerUnaryReactor* StopCharge(grpc::CallbackServerContext* c,
                                       const v1::StopChargeRequest* req,
                                       v1::StopChargeResponse* resp) override;
  grpc::ServerUnaryReactor* StopChargingPoints(grpc::CallbackServerContext* c,
                                               const v1::OperatorRequest* req,
                                               v1::OperatorResponse* resp) override;
  grpc::ServerUnaryReactor* ResumeChargingPoints(grpc::CallbackServerContext* c,
                                                 const v1::OperatorRequest* req,
                                                 v1::OperatorResponse* resp) override;
  grpc::ServerUnaryReactor* StopAllChargingPoints(grpc::CallbackServerContext* c,
                                                  const v1::AllChargingPointsRequest* req,
                                                  v1::OperatorResponse* resp) override;
  grpc::ServerUnaryReactor* ResumeAllChargingPoints(grpc::CallbackServerContext* c,
                                                    const v1::AllChargingPointsRequest* req,
                                                    v1::OperatorResponse* resp) override;
  grpc::ServerUnaryReactor* ListChargingPoints(grpc::CallbackServerContext* c,
                                               const v1::ListChargingPointsRequest* req,
                                               v1::ListChargingPointsResponse* resp) override;
  grpc::ServerUnaryReactor* GetSupply(grpc::CallbackServerContext* c,
                                      const v1::GetSupplyRequest* req,
                                      v1::SupplyView* resp) override;
  grpc::ServerUnaryReactor* ListTickets(grpc::CallbackServerContext* c,
                                        const v1::ListTicketsRequest* req,
                                        v1::ListTicketsResponse* resp) override;
  grpc::ServerUnaryReactor* GetNetworkStats(grpc::CallbackServerContext* c,
                                            const v1::GetNetworkStatsRequest* req,
                                            v1::NetworkStats* resp) override;
  grpc::ServerUnaryReactor* ListAuditEvents(grpc::CallbackServerContext* c,
                                            const v1::ListAuditEventsRequest* req,
                                            v1::ListAuditEventsResponse* resp) override;
  grpc::ServerWriteReactor<v1::NetworkUpdate>* WatchNetwork(
      grpc::CallbackServerContext* c, const v1::WatchNetworkRequest* req) override;
  grpc::ServerWriteReactor<v1::SupplyView>* WatchSupply(
      grpc::CallbackServerContext* c, const v1::WatchSupplyRequest* req) override;
  grpc::ServerUnaryReactor* SetSitePowerCap(grpc::CallbackServerContext* c,
                                            const v1::SetSitePowerCapRequest* req,
                                            v1::SitePowerCap* resp) override;
  grpc::ServerUnaryReactor* ListSitePowerCaps(grpc::CallbackServerContext* c,
                                              const v1::ListSitePowerCapsRequest* req,
                                              v1::ListSitePowerCapsResponse* resp) override;
  grpc::ServerUnaryReactor* ApplyWeatherHolds(grpc::CallbackServerContext* c,
                                              const v1::ApplyWeatherHoldsRequest* req,
                                              v1::ApplyWeatherHoldsResponse* resp) override;

  grpc::ServerUnaryReactor* JoinQueue(grpc::CallbackServerContext* c,
                                      const v1::JoinQueueRequest* req,
                                      common::v1::QueueStatus* resp) override;
  grpc::ServerUnaryReactor* GetQueuePosition(grpc::CallbackServerContext* c,
                                             const v1::QueueDriverRequest* req,
                                             common::v1::QueueStatus* resp) override;
  grpc::ServerUnaryReactor* LeaveQueue(grpc::CallbackServerContext* c,
                                       const v1::QueueDriverRequest* req,
                                       common::v1::QueueStatus* resp) override;
  grpc::ServerUnaryReactor* ListQueues(grpc::CallbackServerContext* c,
                                       const v1::ListQueuesRequest* req,
                                       v1::ListQueuesResponse* resp) override;

  // Cuts the monitor link of `cp_id`, if any (CP removed or credentials reset).
  void CloseLink(const std::string& cp_id, const grpc::Status& why);
  // The same for central's Kafka routes: the monitor must authenticate again.
  void CloseLink(const std::string& cp_id, const std::string& why) override;
  // Registered monitor links (one per CP at most).
  size_t LinkCount();
  // Tells every linked monitor (a Registered reply on its open link).
  void PushHealthInterval(absl::Duration interval) override;
  // Central is stopping: every monitor link and watch stream ends now with
  // UNAVAILABLE (clients reconnect, to the next leader), so the server stops
  // without waiting out its grace for streams that never end by themselves.
  void EndStreams();

 private:
  friend class MonitorLinkReactor;
  // An operator command: the caller must be an operator; `command` acts as
  // them (for the audit trail) and returns the CPs it changed.
  using OperatorCommand =
      std::function<absl::StatusOr<std::vector<std::string>>(const Caller& actor)>;
  grpc::ServerUnaryReactor* ServeOperatorCommand(grpc::CallbackServerContext* c,
                                                 v1::OperatorResponse* resp,
                                                 OperatorCommand command);
  // Who reads the network: from the call's token, the public view without one.
  NetworkViewer Viewer(const grpc::ServerContextBase& c) const;
  // A registered link. The generation tells a link from the one that replaced
  // it for the same CP, so a link ending late never removes its successor.
  struct Link {
    MonitorLinkReactor* reactor;
    uint64_t generation;
    // The CP's state as last told to the monitor.
    common::v1::CpState state = common::v1::CP_STATE_UNSPECIFIED;
  };
  // Follows the network's updates: a CP whose state changed is told on its
  // link (an OCPP charger then gets ChangeAvailability). Under central's
  // lock: it only queues a write.
  class StateFollower : public Watcher {
   public:
    explicit StateFollower(CentralGrpc& owner) : owner_(owner) {}
    bool Offer(const SharedUpdate& update) override;
    void End() override {}

   private:
    CentralGrpc& owner_;
  };
  void PushState(const std::string& cp_id, common::v1::CpState state);
  // The state the registration reply told the link (unless a push came first).
  void FollowLinkState(const std::string& cp_id, uint64_t generation, common::v1::CpState state);
  // A newer link for the same CP replaces (and closes) the older one, in one
  // critical section with the older one's removal; returns its generation.
  uint64_t AddLink(const std::string& cp_id, MonitorLinkReactor* link);
  void RemoveLink(const std::string& cp_id, uint64_t generation);

  // Links opened and not yet registered: a peer that opens links and says
  // nothing would otherwise hold each (~18 KB and a stream) for ever. Added
  // before the link's first read; ended by the sweeper after
  // registration_timeout_, forgotten by the link's OnDone.
  void AwaitRegister(MonitorLinkReactor* link);
  // The link's first message came: false when the sweeper is ending it.
  bool FirstMessageArrived(MonitorLinkReactor* link);
  void ForgetUnregistered(MonitorLinkReactor* link);
  void SweepUnregistered();
  struct Unregistered {
    absl::Time since;
    bool ending = false;
  };

  Central& central_;
  WorkerPool& pool_;
  CpTokenValidator& cp_tokens_;
  CallAuthorizer& authz_;
  AuditReader& audit_;
  absl::Mutex links_mu_;
  absl::flat_hash_map<std::string, Link> links_ ABSL_GUARDED_BY(links_mu_);
  uint64_t last_link_generation_ ABSL_GUARDED_BY(links_mu_) = 0;
  absl::flat_hash_map<MonitorLinkReactor*, Unregistered> unregistered_ ABSL_GUARDED_BY(links_mu_);
  const absl::Duration registration_timeout_;
  absl::Notification stop_sweeping_;
  std::thread sweeper_;
  StateFollower state_follower_;
};

}  // namespace evc::central
