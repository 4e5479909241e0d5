#pragma once
// The charging point's monitor: its identity towards central. Every tick (the
// health interval central asks for, 1 s by default) it makes sure it is
// authenticated, that its engine is activated and healthy, and that its link
// to central is up, then reports health on the link. Every
// peer is retried with backoff; start-up order does not matter. Non-blocking
// apart from the authentication call, so a fleet runs many monitors.

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "evc/auth/v1/auth.pb.h"
#include "evc/central/v1/central.grpc.pb.h"
#include "evc/cp/v1/engine.pb.h"
#include "services/common/backoff.h"

namespace evc::cp {

// How the monitor reaches its engine: gRPC in the single-CP binaries, a direct
// call in the fleet simulator.
class EngineProbe {
 public:
  virtual ~EngineProbe() = default;
  virtual absl::Status Activate(const cp::v1::ActivateRequest& request) = 0;
  virtual absl::StatusOr<cp::v1::CheckResponse> Check() = 0;
  // Central's state of this CP, told when the link is registered and again
  // when it changes (OUT_OF_SERVICE while an operator or the weather holds
  // it). A simulated engine needs nothing of it; an OCPP charger is told its
  // availability.
  virtual void CentralState(common::v1::CpState state) {}
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual absl::StatusOr<auth::v1::AuthenticateChargingPointResponse> Authenticate(
      const std::string& cp_id, const std::string& secret) = 0;
};

class CentralLink;

// Start-up order does not matter: an engine the monitor has not reached yet
// is taken as still starting (the CP joins once it is up) for this long, and
// only then reported broken.
inline constexpr absl::Duration kEngineStartupGrace = absl::Seconds(10);

// The bounds on the health interval a monitor takes from central.
inline constexpr absl::Duration kMinHealthInterval = absl::Milliseconds(200);
inline constexpr absl::Duration kMaxHealthInterval = absl::Minutes(1);

class Monitor {
 public:
  Monitor(std::string cp_id, std::string secret, EngineProbe& engine, Authenticator& auth,
          central::v1::CentralService::StubInterface& central);
  ~Monitor();

  void Tick(absl::Time now);
  // Tick would not call auth (which blocks): the monitor holds credentials
  // valid past `now`. From Tick's thread only.
  bool Authenticated(absl::Time now) const;
  // Cancels the link and waits for it to end.
  void Shutdown();

  bool linked() const;
  // How often central wants health reports (it says so when the link
  // registers, and again when an operator changes it): the caller ticks this
  // often. One second until central has said.
  absl::Duration health_interval() const;
  const std::string& cp_id() const { return cp_id_; }

 private:
  friend class CentralLink;
  void LinkEnded(const grpc::Status& status);
  void LinkRegistered(const central::v1::Registered& registered);
  bool EnsureAuthenticated(absl::Time now);
  // The engine's health; sets engine_starting_ while it is reachable but not
  // ready (starting, or restarting).
  central::v1::Health CheckEngine();

  const std::string cp_id_;
  const std::string secret_;
  EngineProbe& engine_;
  Authenticator& auth_;
  central::v1::CentralService::StubInterface& central_;

  // Touched by Tick only.
  std::optional<auth::v1::AuthenticateChargingPointResponse> credentials_;
  absl::Time next_auth_ = absl::InfinitePast();
  Backoff auth_backoff_{absl::Milliseconds(200), absl::Seconds(5)};
  bool last_engine_ok_ = true;
  bool engine_starting_ = false;
  bool engine_reached_ = false;
  const absl::Time created_ = absl::Now();

  mutable absl::Mutex mu_;
  CentralLink* link_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool registered_ ABSL_GUARDED_BY(mu_) = false;
  bool drop_credentials_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_connect_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  Backoff connect_backoff_ ABSL_GUARDED_BY(mu_){absl::Milliseconds(200), absl::Seconds(2)};
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration health_interval_ ABSL_GUARDED_BY(mu_) = absl::Seconds(1);
};

}  // namespace evc::cp
