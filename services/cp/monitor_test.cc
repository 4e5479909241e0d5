// The monitor follows what central says on its link: the health interval
// (clamped to kMinHealthInterval..kMaxHealthInterval) and the CP's state,
// which it hands to the engine side (an OCPP charger's availability).

#include "services/cp/monitor.h"

#include <gtest/gtest.h>

#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/common/testing/fake_server.h"
#include "services/cp/accepting_authenticator.h"

namespace evc::cp {
namespace {

class HealthyEngine : public EngineProbe {
 public:
  absl::Status Activate(const cp::v1::ActivateRequest&) override {
    absl::MutexLock lock(&mu_);
    activated_ = true;
    return absl::OkStatus();
  }
  absl::StatusOr<cp::v1::CheckResponse> Check() override {
    absl::MutexLock lock(&mu_);
    if (!reachable_) return absl::UnavailableError("connection refused");
    cp::v1::CheckResponse r;
    r.set_ok(true);
    r.set_activated(activated_);
    r.set_key_id(activated_ ? "k1" : "");
    return r;
  }
  void CentralState(common::v1::CpState state) override {
    absl::MutexLock lock(&mu_);
    states_.push_back(state);
  }
  std::vector<common::v1::CpState> states() {
    absl::MutexLock lock(&mu_);
    return states_;
  }
  void SetReachable(bool reachable) {
    absl::MutexLock lock(&mu_);
    reachable_ = reachable;
  }

 private:
  absl::Mutex mu_;
  bool reachable_ ABSL_GUARDED_BY(mu_) = true;
  bool activated_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<common::v1::CpState> states_ ABSL_GUARDED_BY(mu_);
};

// Answers the registration with `replies`, one after the other, then holds
// the link open until the monitor ends it.
class ScriptedCentral : public central::v1::CentralService::Service {
 public:
  // What the next links are answered with.
  void Script(std::vector<central::v1::Registered> replies) {
    absl::MutexLock lock(&mu_);
    replies_ = std::move(replies);
    registered_health_.clear();
  }
  grpc::Status MonitorLink(grpc::ServerContext*,
                           grpc::ServerReaderWriter<central::v1::MonitorReply, central::v1::MonitorMessage>* stream) override {
    central::v1::MonitorMessage in;
    if (!stream->Read(&in) || !in.has_register_()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no Register");
    {
      absl::MutexLock lock(&mu_);
      registered_health_.push_back(in.register_().health());
    }
    std::vector<central::v1::Registered> replies;
    {
      absl::MutexLock lock(&mu_);
      replies = replies_;
    }
    for (const auto& r : replies) {
      central::v1::MonitorReply reply;
      *reply.mutable_registered() = r;
      stream->Write(reply);
    }
    while (stream->Read(&in)) {
    }
    return grpc::Status::OK;
  }
  std::vector<central::v1::Health> registrations() {
    absl::MutexLock lock(&mu_);
    return registered_health_;
  }

 private:
  absl::Mutex mu_;
  std::vector<central::v1::Registered> replies_ ABSL_GUARDED_BY(mu_);
  std::vector<central::v1::Health> registered_health_ ABSL_GUARDED_BY(mu_);
};

// One central for every test here, over loopback TCP as monitors reach it,
// never torn down: gRPC 1.51 trips a refcount assertion (grpc_cq_internal_unref)
// when a server goes just after a bidi stream on it was cancelled.
struct SharedCentral {
  ScriptedCentral central;
  FakeServer server{{&central}};
  std::unique_ptr<central::v1::CentralService::Stub> stub = central::v1::CentralService::NewStub(
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
};
SharedCentral& Shared() {
  static SharedCentral* shared = new SharedCentral();
  return *shared;
}
// The shared central, answering the next links with `replies`.
ScriptedCentral& Scripted(std::vector<central::v1::Registered> replies) {
  Shared().central.Script(std::move(replies));
  return Shared().central;
}

central::v1::Registered Registered(common::v1::CpState state, int64_t interval_ms) {
  central::v1::Registered r;
  r.set_state(state);
  r.set_health_interval_ms(interval_ms);
  return r;
}

// Ticks `monitor` until `done` holds (at most 10 s of ticks).
bool TickUntil(Monitor& monitor, const std::function<bool()>& done) {
  for (int i = 0; i < 200 && !done(); ++i) {
    monitor.Tick(absl::Now());
    absl::SleepFor(absl::Milliseconds(50));
  }
  return done();
}

TEST(MonitorTest, TheIntervalCentralSaysIsClampedToItsBounds) {
  Scripted({Registered(common::v1::CP_STATE_ACTIVE, 50)});
  auto& stub = *Shared().stub;
  AcceptingAuthenticator auth;
  HealthyEngine engine;
  Monitor monitor("CP1", "secret", engine, auth, stub);
  ASSERT_TRUE(TickUntil(monitor, [&] { return monitor.health_interval() != absl::Seconds(1); }));
  EXPECT_EQ(monitor.health_interval(), kMinHealthInterval);
  EXPECT_EQ(engine.states(), std::vector<common::v1::CpState>{common::v1::CP_STATE_ACTIVE});
  monitor.Shutdown();
}

TEST(MonitorTest, StatesAndIntervalsPushedOnTheOpenLinkReachTheEngineSide) {
  Scripted({Registered(common::v1::CP_STATE_ACTIVE, 1000),
            Registered(common::v1::CP_STATE_OUT_OF_SERVICE, 0),  // 0: interval unchanged
            Registered(common::v1::CP_STATE_UNSPECIFIED, 300'000)});
  auto& stub = *Shared().stub;
  AcceptingAuthenticator auth;
  HealthyEngine engine;
  Monitor monitor("CP1", "secret", engine, auth, stub);
  ASSERT_TRUE(TickUntil(monitor, [&] { return monitor.health_interval() == kMaxHealthInterval; }))
      << "a 5-minute interval is clamped to " << absl::FormatDuration(kMaxHealthInterval);
  EXPECT_TRUE(monitor.linked());
  // UNSPECIFIED (an interval-only push) is not a state.
  EXPECT_EQ(engine.states(), (std::vector<common::v1::CpState>{common::v1::CP_STATE_ACTIVE,
                                                               common::v1::CP_STATE_OUT_OF_SERVICE}));
  monitor.Shutdown();
}

// Start-up order does not matter: an engine not up yet when its monitor
// starts (a whole network coming back) is not reported broken; the CP joins
// once the engine answers.
TEST(MonitorTest, AnEngineNotReachedYetIsWaitedForNotReportedBroken) {
  ScriptedCentral& central = Scripted({Registered(common::v1::CP_STATE_ACTIVE, 1000)});
  auto& stub = *Shared().stub;
  AcceptingAuthenticator auth;
  HealthyEngine engine;
  engine.SetReachable(false);
  Monitor monitor("CP1", "secret", engine, auth, stub);
  for (int i = 0; i < 10; ++i) monitor.Tick(absl::Now());
  EXPECT_TRUE(central.registrations().empty()) << "registered with an engine it never reached";
  engine.SetReachable(true);
  ASSERT_TRUE(TickUntil(monitor, [&] { return monitor.linked(); }));
  ASSERT_EQ(central.registrations().size(), 1u);
  EXPECT_TRUE(central.registrations()[0].engine_ok());
  monitor.Shutdown();
}

}  // namespace
}  // namespace evc::cp
