#include "services/central/central_grpc.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/grpc_util.h"
#include "services/common/log.h"
#include "services/common/proto_time.h"

namespace evc::central {
namespace {

// The supply as `caller` may see it (MaySeeSupply): its driver or an operator.
absl::StatusOr<v1::SupplyView> SupplyViewFor(Central& central, const absl::StatusOr<Caller>& caller,
                                             const std::string& supply_id) {
  if (!caller.ok()) return caller.status();
  absl::StatusOr<v1::SupplyView> view = central.GetSupply(supply_id);
  if (!view.ok()) return view.status();
  if (absl::Status s = MaySeeSupply(*caller, view->supply()); !s.ok()) return s;
  return view;
}

// How central ends its streams when it stops: the client reconnects, to the
// next leader.
grpc::Status Stopping() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "central is stopping: reconnect (another replica takes over)");
}

}  // namespace

// ---- the monitor link: Register, then Health every second ----

class MonitorLinkReactor : public grpc::ServerBidiReactor<v1::MonitorMessage, v1::MonitorReply> {
 public:
  MonitorLinkReactor(CentralGrpc& owner, grpc::CallbackServerContext* context)
      : owner_(owner), peer_(context->peer()) {
    owner_.AwaitRegister(this);
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return Close(grpc::Status::OK);  // the monitor went away
    if (!first_message_read_) {
      first_message_read_ = true;
      if (!owner_.FirstMessageArrived(this)) return;  // too late: being ended
    }
    if (cp_id_.empty()) return Register();
    if (!in_.has_health()) {
      return Close(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "after Register, only Health messages are accepted"));
    }
    absl::Status s = owner_.central_.MonitorHealth(cp_id_, in_.health());
    if (!s.ok()) return Close(ToGrpcStatus(s));
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    bool write_next = false;
    grpc::Status pending;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (finish_pending_) {
        pending = finish_status_;
      } else if (ok && next_reply_) {
        reply_ = *std::move(next_reply_);
        next_reply_.reset();
        writing_ = write_next = true;
      } else {
        return;
      }
    }
    if (write_next) return StartWrite(&reply_);
    Finish(pending);
  }

  // Another reply on the registered link (new link settings); of those
  // waiting for the one being written, only the latest is kept. From outside
  // the reactor only under the links lock (see OnDone).
  void Push(const v1::MonitorReply& reply) {
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      if (writing_) {
        // Merged: a state and an interval pushed while one write is in
        // flight both reach the monitor (proto3 merges only the fields set).
        if (next_reply_) {
          next_reply_->MergeFrom(reply);
        } else {
          next_reply_ = reply;
        }
        return;
      }
      writing_ = true;
      reply_ = reply;
    }
    StartWrite(&reply_);
  }

  void OnDone() override {
    // Under the links lock: whoever closes this link from outside holds it too
    // and looks the link up in the registry first, so nobody touches it once
    // it is gone from there.
    owner_.ForgetUnregistered(this);
    if (generation_ != 0) owner_.RemoveLink(cp_id_, generation_);
    delete this;
  }

  // Ends the stream once; safe from any thread. From outside the reactor
  // only under the links lock, while the link is registered (see OnDone).
  void Close(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
      if (writing_) {
        finish_pending_ = true;
        finish_status_ = status;
        return;
      }
    }
    if (!status.ok()) {
      log::Warn("monitor link closed", {{"cp_id", cp_id_}, {"peer", peer_},
                                        {"reason", status.error_message()}});
    }
    Finish(status);
  }

 private:
  void Register() {
    if (!in_.has_register_()) {
      return Close(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "the first message on a monitor link must be Register"));
    }
    v1::Register reg = in_.register_();
    bool queued = owner_.pool_.TrySubmit([this, reg] {
      absl::StatusOr<std::string> token_cp = owner_.cp_tokens_.CpOf(reg.token());
      if (!token_cp.ok()) return Close(ToGrpcStatus(token_cp.status()));
      if (*token_cp != reg.cp_id()) {
        return Close(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                  absl::StrCat("token belongs to '", *token_cp, "', not '",
                                               reg.cp_id(), "'")));
      }
      // Its keys, before anything it sends or is sent needs them.
      if (absl::Status keys = owner_.central_.LoadKeys(reg.cp_id()); !keys.ok()) {
        return Close(ToGrpcStatus(keys));
      }
      absl::Status s = owner_.central_.MonitorRegistered(reg.cp_id(), reg.health());
      if (!s.ok()) return Close(ToGrpcStatus(s));
      cp_id_ = reg.cp_id();
      reply_.mutable_registered()->set_health_interval_ms(
          absl::ToInt64Milliseconds(owner_.central_.health_interval()));
      {
        absl::MutexLock lock(&mu_);
        if (finished_) return;
        // Held until the reply is written: a Close from a newer link or a
        // revocation waits for OnWriteDone to finish the stream, so this
        // reactor lives until StartWrite below, its last touch here.
        writing_ = true;
      }
      log::Info("monitor linked", {{"cp_id", cp_id_}, {"peer", peer_}});
      generation_ = owner_.AddLink(cp_id_, this);
      // Read once linked: a change after this is pushed (written after the
      // reply), so the monitor ends with the newest state either way.
      const common::v1::CpState state = owner_.central_.StateOf(cp_id_);
      reply_.mutable_registered()->set_state(state);
      owner_.FollowLinkState(cp_id_, generation_, state);
      StartRead(&in_);
      StartWrite(&reply_);
    });
    if (!queued) {
      Close(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "central busy; retry"));
    }
  }

  CentralGrpc& owner_;
  const std::string peer_;
  std::string cp_id_;
  // Its entry in the links registry; 0 until registered.
  uint64_t generation_ = 0;
  // Reactions to reads come one at a time: no lock needed.
  bool first_message_read_ = false;
  v1::MonitorMessage in_;
  v1::MonitorReply reply_;
  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_pending_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
  // Waiting for the write in flight (Push).
  std::optional<v1::MonitorReply> next_reply_ ABSL_GUARDED_BY(mu_);
};

// ---- streams to watchers ----

// A server stream fed from other threads through a bounded queue: a client
// that falls too far behind is ended instead of slowing the feeder.
template <typename Message>
class QueuedWriter : public grpc::ServerWriteReactor<Message> {
 public:
  // Enough for a burst of a few thousand CP changes; beyond, the client is
  // too slow and is dropped.
  static constexpr size_t kMaxQueued = 20000;

  // Queues `message`; false once the stream is ending (or has just been
  // ended for being too slow).
  bool Push(std::shared_ptr<const Message> message) {
    absl::MutexLock lock(&mu_);
    if (done_) return false;
    if (queue_.size() >= kMaxQueued) {
      FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                "watcher too slow: more than 20000 updates queued"));
      return false;
    }
    queue_.push_back(std::move(message));
    if (!writing_) {
      writing_ = true;
      this->StartWrite(queue_.front().get());
    }
    return true;
  }

  // Ends the stream after what is already queued.
  void Close(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    if (done_) return;
    done_ = true;
    if (writing_ || !queue_.empty()) {
      finish_pending_ = true;
      finish_status_ = status;
    } else {
      this->Finish(status);
    }
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    queue_.pop_front();
    writing_ = false;
    if (!ok) return FinishLocked(grpc::Status::CANCELLED);
    if (!queue_.empty() && !(done_ && !finish_pending_)) {
      writing_ = true;
      this->StartWrite(queue_.front().get());
      return;
    }
    if (finish_pending_) {
      finish_pending_ = false;
      this->Finish(finish_status_);
    }
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

 private:
  // Ends now, dropping what is queued.
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (done_ && !finish_pending_) return;
    done_ = true;
    if (writing_) {
      while (queue_.size() > 1) queue_.pop_back();
      finish_pending_ = true;
      finish_status_ = status;
    } else {
      finish_pending_ = false;
      this->Finish(status);
    }
  }

  absl::Mutex mu_;
  std::deque<std::shared_ptr<const Message>> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_pending_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
};

// The whole network: a snapshot, then every update, as `viewer` may see it.
class NetworkWatchReactor : public QueuedWriter<v1::NetworkUpdate>, public Watcher {
 public:
  NetworkWatchReactor(Central& central, NetworkViewer viewer) : central_(central), viewer_(std::move(viewer)) {
    central_.Watch(this);
  }

  bool Offer(const SharedUpdate& update) override {
    if (viewer_.is_operator) return Push(update);
    std::optional<v1::NetworkUpdate> shown = PublicView(*update, viewer_);
    return !shown || Push(std::make_shared<const v1::NetworkUpdate>(std::move(*shown)));
  }

  void End() override { Close(Stopping()); }

  void OnDone() override {
    central_.Unwatch(this);
    delete this;
  }

 private:
  Central& central_;
  const NetworkViewer viewer_;
};

// One supply: its view now, then each change, ending with the ticket.
class SupplyWatchReactor : public QueuedWriter<v1::SupplyView>, public Watcher {
 public:
  SupplyWatchReactor(Central& central, std::string supply_id)
      : central_(central), supply_id_(std::move(supply_id)) {}

  // Watches first, then reads the current view, so nothing between the two
  // is missed; updates seen before the view is sent wait for it. Runs off the
  // gRPC thread, so the call may end meanwhile (see OnDone).
  void Begin(const absl::StatusOr<Caller>& caller) {
    central_.Watch(this, /*with_snapshot=*/false);
    absl::StatusOr<v1::SupplyView> view = SupplyViewFor(central_, caller, supply_id_);
    if (!view.ok()) {
      Close(ToGrpcStatus(view.status()));
    } else {
      std::vector<SharedUpdate> held;
      {
        absl::MutexLock lock(&mu_);
        last_supply_ = view->supply();
        started_ = true;
        held.swap(held_);
      }
      Emit(*view);
      for (const auto& u : held) Offer(u);
    }
    EndBegin();
  }

  // Begin could not be scheduled.
  void EndBegin() {
    bool call_done;
    {
      absl::MutexLock lock(&life_mu_);
      beginning_ = false;
      call_done = call_done_;
    }
    if (call_done) Destroy();
  }

  bool Offer(const SharedUpdate& update) override {
    std::optional<v1::SupplyView> view;
    {
      absl::MutexLock lock(&mu_);
      if (!started_) {
        held_.push_back(update);
        return true;
      }
      view = ViewOf(*update);
    }
    return !view || Emit(*view);
  }

  void End() override { Close(Stopping()); }

  void OnDone() override {
    {
      absl::MutexLock lock(&life_mu_);
      call_done_ = true;
      if (beginning_) return;  // Begin destroys it when it returns
    }
    Destroy();
  }

 private:
  void Destroy() {
    central_.Unwatch(this);
    delete this;
  }

  // What `update` says about this supply, if anything.
  std::optional<v1::SupplyView> ViewOf(const v1::NetworkUpdate& update)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    v1::SupplyView view;
    if (update.has_charging_point() && update.charging_point().supply().supply_id() == supply_id_) {
      last_supply_ = update.charging_point().supply();
      *view.mutable_supply() = last_supply_;
      return view;
    }
    if (update.has_ticket() && update.ticket().supply_id() == supply_id_) {
      EndWithTicket(update.ticket(), last_supply_);
      *view.mutable_supply() = last_supply_;
      *view.mutable_ticket() = update.ticket();
      return view;
    }
    return std::nullopt;
  }

  // Sends `view`; the stream ends with the ticket.
  bool Emit(const v1::SupplyView& view) {
    bool queued = Push(std::make_shared<const v1::SupplyView>(view));
    if (view.has_ticket()) Close(grpc::Status::OK);
    return queued && !view.has_ticket();
  }

  Central& central_;
  const std::string supply_id_;
  absl::Mutex life_mu_;
  bool beginning_ ABSL_GUARDED_BY(life_mu_) = true;
  bool call_done_ ABSL_GUARDED_BY(life_mu_) = false;
  absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<SharedUpdate> held_ ABSL_GUARDED_BY(mu_);
  common::v1::Supply last_supply_ ABSL_GUARDED_BY(mu_);
};

// ---- service ----

CentralGrpc::CentralGrpc(Central& central, WorkerPool& pool, CpTokenValidator& cp_tokens,
                         CallAuthorizer& authz, AuditReader& audit, absl::Duration registration_timeout)
    : central_(central), pool_(pool), cp_tokens_(cp_tokens), authz_(authz), audit_(audit),
      registration_timeout_(registration_timeout), state_follower_(*this) {
  central_.Watch(&state_follower_, /*with_snapshot=*/false);
  sweeper_ = std::thread([this] {
    // A tenth of the timeout: a silent link lives at most 1.1 times it.
    const absl::Duration round = std::min(absl::Seconds(1), registration_timeout_ / 10);
    while (!stop_sweeping_.WaitForNotificationWithTimeout(round)) SweepUnregistered();
  });
}

CentralGrpc::~CentralGrpc() {
  stop_sweeping_.Notify();
  sweeper_.join();
  central_.Unwatch(&state_follower_);
}

void CentralGrpc::AwaitRegister(MonitorLinkReactor* link) {
  absl::MutexLock lock(&links_mu_);
  unregistered_[link] = Unregistered{absl::Now()};
}

bool CentralGrpc::FirstMessageArrived(MonitorLinkReactor* link) {
  absl::MutexLock lock(&links_mu_);
  auto it = unregistered_.find(link);
  if (it == unregistered_.end()) return true;
  if (it->second.ending) return false;
  unregistered_.erase(it);
  return true;
}

void CentralGrpc::ForgetUnregistered(MonitorLinkReactor* link) {
  absl::MutexLock lock(&links_mu_);
  unregistered_.erase(link);
}

void CentralGrpc::SweepUnregistered() {
  const absl::Time cutoff = absl::Now() - registration_timeout_;
  absl::MutexLock lock(&links_mu_);
  for (auto& [link, waiting] : unregistered_) {
    if (waiting.ending || waiting.since > cutoff) continue;
    // Alive: its OnDone forgets it under links_mu_ before freeing it.
    waiting.ending = true;
    link->Close(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                             absl::StrCat("no Register within ", absl::FormatDuration(registration_timeout_),
                                          " of opening the monitor link")));
  }
}

bool CentralGrpc::StateFollower::Offer(const SharedUpdate& update) {
  if (update->has_charging_point()) {
    const auto& status = update->charging_point();
    owner_.PushState(status.charging_point().cp_id(), status.state());
  }
  return true;
}

void CentralGrpc::PushState(const std::string& cp_id, common::v1::CpState state) {
  absl::MutexLock lock(&links_mu_);
  auto it = links_.find(cp_id);
  if (it == links_.end() || it->second.state == state) return;
  it->second.state = state;
  v1::MonitorReply reply;
  reply.mutable_registered()->set_state(state);  // interval 0: unchanged
  it->second.reactor->Push(reply);
}

void CentralGrpc::FollowLinkState(const std::string& cp_id, uint64_t generation, common::v1::CpState state) {
  absl::MutexLock lock(&links_mu_);
  auto it = links_.find(cp_id);
  // UNSPECIFIED: nothing pushed since the link was added.
  if (it != links_.end() && it->second.generation == generation &&
      it->second.state == common::v1::CP_STATE_UNSPECIFIED) {
    it->second.state = state;
  }
}

uint64_t CentralGrpc::AddLink(const std::string& cp_id, MonitorLinkReactor* link) {
  absl::MutexLock lock(&links_mu_);
  const uint64_t generation = ++last_link_generation_;
  auto [it, inserted] = links_.try_emplace(cp_id, Link{link, generation});
  if (!inserted) {
    // The older link's OnDone waits on links_mu_ before it frees itself, so
    // it is alive here; once replaced, nothing reaches it through links_.
    MonitorLinkReactor* older = it->second.reactor;
    it->second = Link{link, generation};
    older->Close(grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                              "replaced by a newer link for the same charging point"));
  }
  return generation;
}

void CentralGrpc::EndStreams() {
  {
    absl::MutexLock lock(&links_mu_);
    for (auto& [cp_id, link] : links_) link.reactor->Close(Stopping());
    for (auto& [link, waiting] : unregistered_) {
      waiting.ending = true;
      link->Close(Stopping());
    }
  }
  central_.EndWatchers();
}

void CentralGrpc::PushHealthInterval(absl::Duration interval) {
  v1::MonitorReply reply;
  reply.mutable_registered()->set_health_interval_ms(absl::ToInt64Milliseconds(interval));
  absl::MutexLock lock(&links_mu_);
  for (auto& [cp_id, link] : links_) link.reactor->Push(reply);
}

void CentralGrpc::RemoveLink(const std::string& cp_id, uint64_t generation) {
  absl::MutexLock lock(&links_mu_);
  auto it = links_.find(cp_id);
  if (it != links_.end() && it->second.generation == generation) links_.erase(it);
}

void CentralGrpc::CloseLink(const std::string& cp_id, const grpc::Status& why) {
  absl::MutexLock lock(&links_mu_);
  auto it = links_.find(cp_id);
  if (it != links_.end()) it->second.reactor->Close(why);
}

void CentralGrpc::CloseLink(const std::string& cp_id, const std::string& why) {
  CloseLink(cp_id, grpc::Status(grpc::StatusCode::UNAUTHENTICATED, why));
}

size_t CentralGrpc::LinkCount() {
  absl::MutexLock lock(&links_mu_);
  return links_.size();
}

grpc::ServerBidiReactor<v1::MonitorMessage, v1::MonitorReply>* CentralGrpc::MonitorLink(
    grpc::CallbackServerContext* c) {
  return new MonitorLinkReactor(*this, c);
}

grpc::ServerUnaryReactor* CentralGrpc::RequestCharge(grpc::CallbackServerContext* c,
                                                     const v1::RequestChargeRequest* req,
                                                     v1::RequestChargeResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    return Fill(central_.RequestCharge(authz_.Identify(*c), req->cp_id(), req->driver_id(), req->request_id()),
                resp->mutable_supply());
  });
}

grpc::ServerUnaryReactor* CentralGrpc::StopCharge(grpc::CallbackServerContext* c,
                                                  const v1::StopChargeRequest* req,
                                                  v1::StopChargeResponse* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    return Fill(central_.StopCharge(authz_.Identify(*c), req->supply_id(), req->driver_id()),
                resp->mutable_supply());
  });
}

// Queues (issue 20): who may do what is decided here (MayChargeAs for
// joining and leaving, QueueViewedFor for a place, operators for the list).
grpc::ServerUnaryReactor* CentralGrpc::JoinQueue(grpc::CallbackServerContext* c,
                                                 const v1::JoinQueueRequest* req,
                                                 common::v1::QueueStatus* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    return Fill(central_.JoinQueue(authz_.Identify(*c), *req), resp);
  });
}

grpc::ServerUnaryReactor* CentralGrpc::LeaveQueue(grpc::CallbackServerContext* c,
                                                  const v1::QueueDriverRequest* req,
                                                  common::v1::QueueStatus* resp) {
  return ServeOnPool(c, pool_, [=, this] {
    return Fill(central_.LeaveQueue(authz_.Identify(*c), req->driver_id()), resp);
  });
}

grpc::ServerUnaryReactor* CentralGrpc::GetQueuePosition(grpc::CallbackServerContext* c,
                                                        const v1::QueueDriverRequest* req,
                                                        common::v1::QueueStatus* resp) {
  return ServeOnPool(c, pool_, [=, this]() -> absl::Status {
    absl::StatusOr<Caller> caller = authz_.Identify(*c);
    if (!caller.ok()) return caller.status();
    return Fill(central_.QueuePosition(*caller, req->driver_id()), resp);
  });
}

grpc::ServerUnaryReactor* CentralGrpc::ListQueues(grpc::CallbackServerContext* c,
                                                  const v1::ListQueuesRequest*,
                                                  v1::ListQueuesResponse* resp) {
  return ServeOnPool(c, pool_, [=, this]() -> absl::Status {
    absl::StatusOr<Caller> op = authz_.RequireOperator(*c);
    if (!op.ok()) return op.status();
    for (auto& e : central_.ListQueues()) *resp->add_entries() = std::move(e);
    return absl::OkStatus();
  });
}

namespace {
absl::Status FillAffected(absl::StatusOr<std::vector<std::string>> ids, v1::OperatorResponse* resp) {
  if (!ids.ok()) return ids.status();
  for (auto& id : *ids) resp->add_affected_cp_ids(std::move(id));
  return absl::OkStatus();
}
}  // namespace

grpc::ServerUnaryReactor* CentralGrpc::ServeOperatorCommand(grpc::CallbackServerContext* c,
                                                            v1::OperatorResponse* resp,
                                                            OperatorCommand command) {
  return ServeOnPool(c, pool_, [=, this, command = std::move(command)] {
    absl::StatusOr<Caller> op = authz_.RequireOperator(*c);
    if (!op.ok()) return op.status();
    return FillAffected(command(*op), resp);
  });
}

grpc::ServerUnaryReactor* CentralGrpc::StopChargingPoints(grpc::CallbackServerContext* c,
                                                          const v1::OperatorRequest* req,
                                                          v1::OperatorResponse* resp) {
  return ServeOperatorCommand(c, resp, [this, req](const Caller& actor) {
    return central_.OperatorStop(actor, req->cp_id(), req->all());
  });
}

grpc::ServerUnaryReactor* CentralGrpc::ResumeChargingPoints(grpc::CallbackServerContext* c,
                                                            const v1::OperatorRequest* req,
                                                            v1::OperatorResponse* resp) {
  return ServeOperatorCommand(c, resp, [this, req](const Caller& actor) {
    return central_.OperatorResume(actor, req->cp_id(), req->all());
  });
}

// The route says "all": the request's deprecated `all` field changes nothing.
grpc::ServerUnaryReactor* CentralGrpc::StopAllChargingPoints(grpc::CallbackServerContext* c,
                                                             const v1::AllChargingPointsRequest*,
                                                             v1::OperatorResponse* resp) {
  return ServeOperatorCommand(c, resp, [this](const Caller& actor) {
    return central_.OperatorStop(actor, "", /*all=*/true);
  });
}

grpc::ServerUnaryReactor* CentralGrpc::ResumeAllChargingPoints(grpc::CallbackServerContext* c,
                                                               const v1::AllChargingPointsRequest*,
                                                               v1::OperatorResponse* resp) {
  return ServeOperatorCommand(c, resp, [this](const Caller& actor) {
    return central_.OperatorResume(actor, "", /*all=*/true);
  });
}

grpc::ServerUnaryReactor* CentralGrpc::SetSitePowerCap(grpc::CallbackServerContext* c,
                                                       const v1::SetSitePowerCapRequest* req,
                                                       v1::SitePowerCap* resp) {
  return ServeOnPool(c, pool_, [=, this]() -> absl::Status {
    absl::StatusOr<Caller> op = authz_.RequireOperator(*c);
    if (!op.ok()) return op.status();
    absl::StatusOr<v1::SitePowerCap> site =
        central_.SetSitePowerCap(*op, {req->address(), req->city(), req->cap_w()});
    if (!site.ok()) return site.status();
    *resp = std::move(*site);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CentralGrpc::ListSitePowerCaps(grpc::CallbackServerContext* c,
                                                         const v1::ListSitePowerCapsRequest*,
                                                         v1::ListSitePowerCapsResponse* resp) {
  return ServeOnPool(c, pool_, [=, this]() -> absl::Status {
    absl::StatusOr<Caller> op = authz_.RequireOperator(*c);
    if (!op.ok()) return op.status();
    for (auto& site : central_.SiteCapViews()) *resp->add_sites() = std::move(site);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CentralGrpc::ApplyWeatherHolds(grpc::CallbackServerContext* c,
                                                         const v1::ApplyWeatherHoldsRequest* req,
                                                         v1::ApplyWeatherHoldsResponse* resp) {
  return ServeOnPool(c, pool_, [=, this]() -> absl::Status {
    // An empty list lifts every weather hold: the weather service's alone.
    if (absl::Status s = authz_.RequireService(*c, {kWeather}); !s.ok()) return s;
    std::map<std::string, std::string> held;
    for (const auto& h : req->holds()) held[h.cp_id()] = h.detail();
    absl::StatusOr<WeatherHoldsResult> result =
        central_.ApplyWeatherHolds(held, Caller::Service(std::string(kWeather), c->peer()));
    if (!result.ok()) return result.status();
    for (auto& id : result->held) resp->add_held_cp_ids(std::move(id));
    for (auto& id : result->released) resp->add_released_cp_ids(std::move(id));
    for (auto& id : result->unknown) resp->add_unknown_cp_ids(std::move(id));
    return absl::OkStatus();
  });
}

NetworkViewer CentralGrpc::Viewer(const grpc::ServerContextBase& c) const {
  // No token, or one no longer valid: the public view (it gives nothing
  // away, so there is nothing to refuse).
  absl::StatusOr<Caller> caller = authz_.Identify(c);
  if (!caller.ok()) return {};
  return {.is_operator = caller->is_operator(), .driver_id = caller->name};
}

grpc::ServerUnaryReactor* CentralGrpc::ListChargingPoints(grpc::CallbackServerContext* c,
                                                          const v1::ListChargingPointsRequest*,
                                                          v1::ListChargingPointsResponse* resp) {
  // In memory and fast: answered on the gRPC thread.
  const NetworkViewer viewer = Viewer(*c);
  for (auto& s : central_.Snapshot()) *resp->add_charging_points() = PublicView(std::move(s), viewer);
  grpc::ServerUnaryReactor* reactor = c->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* CentralGrpc::GetSupply(grpc::CallbackServerContext* c,
                                                 const v1::GetSupplyRequest* req,
                                                 v1::SupplyView* resp) {
  return ServeOnPool(c, pool_, [=, this]() -> absl::Status {
    absl::StatusOr<v1::SupplyView> view = SupplyViewFor(central_, authz_.Identify(*c), req->supply_id());
    if (!view.ok()) return view.status();
    *resp = std::move(*view);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CentralGrpc::ListTickets(grpc::CallbackServerContext* c,
                                                   const v1::ListTicketsRequest* req,
                                                   v1::ListTicketsResponse* resp) {
  return ServeOnPool(c, pool_, [=, this]() -> absl::Status {
    absl::StatusOr<Caller> caller = authz_.Identify(*c);
    if (!caller.ok()) return caller.status();
    absl::StatusOr<std::string> driver_id = TicketsListedFor(*caller, req->driver_id());
    if (!driver_id.ok()) return driver_id.status();
    auto tickets = central_.ListTickets(*driver_id, req->cp_id(), req->limit());
    if (!tickets.ok()) return tickets.status();
    for (auto& t : *tickets) *resp->add_tickets() = std::move(t);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CentralGrpc::GetNetworkStats(grpc::CallbackServerContext* c,
                                                       const v1::GetNetworkStatsRequest*,
                                                       v1::NetworkStats* resp) {
  *resp = central_.Stats();
  grpc::ServerUnaryReactor* reactor = c->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* CentralGrpc::ListAuditEvents(grpc::CallbackServerContext* c,
                                                       const v1::ListAuditEventsRequest* req,
                                                       v1::ListAuditEventsResponse* resp) {
  return ServeOnPool(c, pool_, [=, this]() -> absl::Status {
    absl::StatusOr<Caller> op = authz_.RequireOperator(*c);
    if (!op.ok()) return op.status();
    AuditQuery query{req->category(), req->actor(), req->cp_id()};
    if (req->has_since()) query.since = FromProto(req->since());
    if (req->has_until()) query.until = FromProto(req->until());
    query.limit = req->limit();
    auto events = audit_.Read(query);
    if (!events.ok()) return events.status();
    for (auto& e : *events) *resp->add_events() = std::move(e);
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<v1::NetworkUpdate>* CentralGrpc::WatchNetwork(
    grpc::CallbackServerContext* c, const v1::WatchNetworkRequest*) {
  return new NetworkWatchReactor(central_, Viewer(*c));
}

grpc::ServerWriteReactor<v1::SupplyView>* CentralGrpc::WatchSupply(
    grpc::CallbackServerContext* c, const v1::WatchSupplyRequest* req) {
  auto* reactor = new SupplyWatchReactor(central_, req->supply_id());
  // Reading the supply may touch Postgres: off the gRPC thread.
  if (!pool_.TrySubmit([=, this, token = BearerToken(*c), peer = c->peer()] {
        reactor->Begin(authz_.IdentifyWithToken(token, peer));
      })) {
    reactor->Close(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "central busy; retry"));
    reactor->EndBegin();
  }
  return reactor;
}

}  // namespace evc::central
