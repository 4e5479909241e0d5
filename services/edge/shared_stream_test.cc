// Shared upstream streams (issue 19): Upstreams in front of a scripted
// central over real gRPC, with recording sinks in place of HTTP clients.

#include "services/edge/shared_stream.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <set>

#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "evc/central/v1/central.grpc.pb.h"
#include "evc/proto_files.h"
#include "services/common/testing/fake_server.h"
#include "services/edge/upstreams.h"

namespace evc::edge {
namespace {

using central::v1::NetworkUpdate;

constexpr absl::Duration kWait = absl::Seconds(10);

std::string MetadataValue(const grpc::CallbackServerContext& c, const std::string& key) {
  auto it = c.client_metadata().find(key);
  return it == c.client_metadata().end() ? "" : std::string(it->second.data(), it->second.size());
}

class ScriptedCentral;

// One WatchNetwork call: writes what the test sends, in order, and ends when
// told to or when the edge cancels it.
class Watch : public grpc::ServerWriteReactor<NetworkUpdate> {
 public:
  explicit Watch(ScriptedCentral& owner) : owner_(owner) {}

  void Send(const NetworkUpdate& update) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    queue_.push_back(update);
    if (queue_.size() == 1) StartWrite(&queue_.front());
  }
  void End(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    end_ = status;
    if (queue_.empty()) FinishOnce(status);
  }
  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    queue_.pop_front();
    if (!ok) return FinishOnce(grpc::Status::CANCELLED);
    if (!queue_.empty()) return StartWrite(&queue_.front());
    if (end_) FinishOnce(*end_);
  }
  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishOnce(grpc::Status::CANCELLED);
  }
  void OnDone() override;

 private:
  void FinishOnce(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  ScriptedCentral& owner_;
  absl::Mutex mu_;
  std::deque<NetworkUpdate> queue_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> end_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

class ScriptedCentral : public central::v1::CentralService::CallbackService {
 public:
  grpc::ServerWriteReactor<NetworkUpdate>* WatchNetwork(grpc::CallbackServerContext* c,
                                                        const central::v1::WatchNetworkRequest*) override {
    auto* watch = new Watch(*this);
    absl::MutexLock lock(&mu_);
    ++watch_calls_;
    bearers_.push_back(MetadataValue(*c, "authorization"));
    forwarded_.push_back(MetadataValue(*c, "x-forwarded-for"));
    open_.insert(watch);
    return watch;
  }
  // Holds every supply stream open until the edge cancels it.
  grpc::ServerWriteReactor<central::v1::SupplyView>* WatchSupply(grpc::CallbackServerContext*,
                                                                const central::v1::WatchSupplyRequest*) override {
    struct Hold : grpc::ServerWriteReactor<central::v1::SupplyView> {
      void OnCancel() override { Finish(grpc::Status::CANCELLED); }
      void OnDone() override { delete this; }
    };
    absl::MutexLock lock(&mu_);
    ++supply_calls_;
    return new Hold;
  }

  // To every open WatchNetwork call.
  void Send(const NetworkUpdate& update) {
    absl::MutexLock lock(&mu_);
    for (Watch* w : open_) w->Send(update);
  }
  void EndAll(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    for (Watch* w : open_) w->End(status);
  }
  void Closed(Watch* w) {
    absl::MutexLock lock(&mu_);
    open_.erase(w);
  }
  bool WaitForOpenCalls(size_t n) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return open_.size() == n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), kWait);
  }
  // Calls ever made, once there are at least `n`.
  int WaitForWatchCalls(int n) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return watch_calls_ >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&reached), kWait);
    return watch_calls_;
  }
  int watch_calls() {
    absl::MutexLock lock(&mu_);
    return watch_calls_;
  }
  int supply_calls() {
    absl::MutexLock lock(&mu_);
    return supply_calls_;
  }
  std::vector<std::string> bearers() {
    absl::MutexLock lock(&mu_);
    return bearers_;
  }
  std::vector<std::string> forwarded() {
    absl::MutexLock lock(&mu_);
    return forwarded_;
  }

 private:
  absl::Mutex mu_;
  std::set<Watch*> open_ ABSL_GUARDED_BY(mu_);
  int watch_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int supply_calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> bearers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> forwarded_ ABSL_GUARDED_BY(mu_);
};

void Watch::OnDone() {
  owner_.Closed(this);
  delete this;
}

// A client: takes `accept` lines, then refuses (too slow).
class RecordingSink : public StreamSink {
 public:
  explicit RecordingSink(size_t accept = std::numeric_limits<size_t>::max()) : accept_(accept) {}

  bool OnMessage(std::shared_ptr<const std::string> line) override {
    absl::MutexLock lock(&mu_);
    if (lines_.size() == accept_) return false;
    lines_.push_back(std::move(line));
    return true;
  }
  void OnEnd(const HttpError& end) override {
    absl::MutexLock lock(&mu_);
    ends_.push_back(end);
  }

  // The lines so far once there are at least `n` (fewer after kWait).
  std::vector<std::shared_ptr<const std::string>> WaitForLines(size_t n) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return lines_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&reached), kWait);
    return lines_;
  }
  // Every end so far once there is one (none after kWait).
  std::vector<HttpError> WaitForEnd() {
    absl::MutexLock lock(&mu_);
    auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !ends_.empty(); };
    mu_.AwaitWithTimeout(absl::Condition(&ended), kWait);
    return ends_;
  }
  size_t lines() {
    absl::MutexLock lock(&mu_);
    return lines_.size();
  }

 private:
  const size_t accept_;
  absl::Mutex mu_;
  std::vector<std::shared_ptr<const std::string>> lines_ ABSL_GUARDED_BY(mu_);
  std::vector<HttpError> ends_ ABSL_GUARDED_BY(mu_);
};

central::v1::ChargingPointStatus Cp(const std::string& id, common::v1::CpState state) {
  central::v1::ChargingPointStatus cp;
  cp.mutable_charging_point()->set_cp_id(id);
  cp.set_state(state);
  return cp;
}

NetworkUpdate SnapshotOf(std::initializer_list<central::v1::ChargingPointStatus> cps) {
  NetworkUpdate u;
  for (const auto& cp : cps) *u.mutable_snapshot()->add_charging_points() = cp;
  return u;
}

NetworkUpdate Changed(const central::v1::ChargingPointStatus& cp) {
  NetworkUpdate u;
  *u.mutable_charging_point() = cp;
  return u;
}

class SharedStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto services = LinkedServices(proto::ServiceProtoFiles());
    ASSERT_TRUE(services.ok());
    auto routes = RouteTable::Build(*services);
    ASSERT_TRUE(routes.ok());
    routes_ = std::make_unique<RouteTable>(std::move(*routes));
    network_ = routes_->Match("GET", "/v1/network:watch").route;
    supply_ = routes_->Match("GET", "/v1/supplies/s-1:watch").route;
    ASSERT_NE(network_, nullptr);
    ASSERT_NE(supply_, nullptr);
    upstreams_.Add("central", server_.address());
  }
  void TearDown() override { upstreams_.CancelAll(absl::Seconds(2)); }

  std::shared_ptr<StreamHandle> WatchNetwork(std::shared_ptr<RecordingSink> sink, CallMetadata metadata = {}) {
    return upstreams_.Stream(*network_, "", metadata, std::move(sink));
  }

  // The line a stream of one's own would start with for `update`.
  std::string LineOf(const NetworkUpdate& update) {
    return **upstreams_.json().Get(*NetworkUpdate::descriptor(), update.SerializeAsString(), true);
  }

  ScriptedCentral central_;
  FakeServer server_{&central_};
  std::unique_ptr<RouteTable> routes_;
  const Route* network_ = nullptr;
  const Route* supply_ = nullptr;
  Upstreams upstreams_{absl::Seconds(5)};
};

TEST_F(SharedStreamTest, TwoAnonymousWatchersShareOneCallAndEveryLine) {
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  auto ha = WatchNetwork(a, {"", "10.0.0.1"});
  auto hb = WatchNetwork(b, {"", "10.0.0.2"});
  ASSERT_TRUE(central_.WaitForOpenCalls(1));
  // Both joined before the first message: both get central's own snapshot.
  central_.Send(SnapshotOf({Cp("A", common::v1::CP_STATE_ACTIVE)}));
  central_.Send(Changed(Cp("A", common::v1::CP_STATE_SUPPLYING)));
  auto la = a->WaitForLines(2);
  auto lb = b->WaitForLines(2);
  ASSERT_EQ(la.size(), 2u);
  ASSERT_EQ(lb.size(), 2u);
  EXPECT_EQ(la[0].get(), lb[0].get());  // printed once, the same bytes for both
  EXPECT_EQ(la[1].get(), lb[1].get());
  EXPECT_EQ(*la[0], LineOf(SnapshotOf({Cp("A", common::v1::CP_STATE_ACTIVE)})));
  EXPECT_EQ(central_.watch_calls(), 1);
  // The call is the edge's, not one client's.
  EXPECT_EQ(central_.forwarded(), std::vector<std::string>{""});
}

TEST_F(SharedStreamTest, ALateJoinerStartsFromASnapshotOfEverythingSoFar) {
  auto first = std::make_shared<RecordingSink>();
  auto h1 = WatchNetwork(first);
  ASSERT_TRUE(central_.WaitForOpenCalls(1));
  central_.Send(SnapshotOf({Cp("A", common::v1::CP_STATE_ACTIVE), Cp("B", common::v1::CP_STATE_ACTIVE)}));
  central_.Send(Changed(Cp("B", common::v1::CP_STATE_SUPPLYING)));
  NetworkUpdate removed;
  removed.set_removed_cp_id("A");
  central_.Send(removed);
  central_.Send(Changed(Cp("C", common::v1::CP_STATE_DISCONNECTED)));
  NetworkUpdate message;
  message.mutable_message()->set_text("an event of its moment");
  central_.Send(message);
  ASSERT_EQ(first->WaitForLines(5).size(), 5u);

  auto late = std::make_shared<RecordingSink>();
  auto h2 = WatchNetwork(late);
  auto got = late->WaitForLines(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(*got[0],
            LineOf(SnapshotOf({Cp("B", common::v1::CP_STATE_SUPPLYING), Cp("C", common::v1::CP_STATE_DISCONNECTED)})));

  // Then the live updates, the same for both, with no gap and nothing twice.
  central_.Send(Changed(Cp("C", common::v1::CP_STATE_FAULTED)));
  auto all_first = first->WaitForLines(6);
  auto all_late = late->WaitForLines(2);
  ASSERT_EQ(all_first.size(), 6u);
  ASSERT_EQ(all_late.size(), 2u);
  EXPECT_EQ(all_late[1].get(), all_first[5].get());
  EXPECT_EQ(central_.watch_calls(), 1);
}

// One print of the snapshot serves the joiners that follow, each getting
// what came after it too; it is printed again once that grows long.
TEST_F(SharedStreamTest, JoinersShareOneSnapshotAndGetWhatCameAfterIt) {
  auto first = std::make_shared<RecordingSink>();
  auto h1 = WatchNetwork(first);
  ASSERT_TRUE(central_.WaitForOpenCalls(1));
  central_.Send(SnapshotOf({Cp("A", common::v1::CP_STATE_ACTIVE)}));
  central_.Send(Changed(Cp("A", common::v1::CP_STATE_SUPPLYING)));
  ASSERT_EQ(first->WaitForLines(2).size(), 2u);
  auto second = std::make_shared<RecordingSink>();
  auto h2 = WatchNetwork(second);
  ASSERT_EQ(second->WaitForLines(1).size(), 1u);

  central_.Send(Changed(Cp("A", common::v1::CP_STATE_ACTIVE)));
  central_.Send(Changed(Cp("B", common::v1::CP_STATE_ACTIVE)));
  auto seen = second->WaitForLines(3);
  ASSERT_EQ(seen.size(), 3u);
  auto third = std::make_shared<RecordingSink>();
  auto h3 = WatchNetwork(third);
  auto caught_up = third->WaitForLines(3);
  ASSERT_EQ(caught_up.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(caught_up[i].get(), seen[i].get()) << i;

  const int kMany = 300;  // more than a snapshot is replayed for
  for (int i = 0; i < kMany; ++i) {
    central_.Send(Changed(Cp("B", i % 2 ? common::v1::CP_STATE_ACTIVE : common::v1::CP_STATE_FAULTED)));
  }
  ASSERT_EQ(first->WaitForLines(4 + kMany).size(), 4u + kMany);
  auto fourth = std::make_shared<RecordingSink>();
  auto h4 = WatchNetwork(fourth);
  auto fresh = fourth->WaitForLines(1);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(*fresh[0],
            LineOf(SnapshotOf({Cp("A", common::v1::CP_STATE_ACTIVE), Cp("B", common::v1::CP_STATE_ACTIVE)})));
  central_.Send(Changed(Cp("A", common::v1::CP_STATE_FAULTED)));
  EXPECT_EQ(fourth->WaitForLines(2).size(), 2u);
  EXPECT_EQ(third->WaitForLines(4 + kMany).size(), 4u + kMany);
  EXPECT_EQ(central_.watch_calls(), 1);
}

TEST_F(SharedStreamTest, AWatcherTooSlowLeavesAndTheOtherKeepsTheCall) {
  auto slow = std::make_shared<RecordingSink>(/*accept=*/1);
  auto fast = std::make_shared<RecordingSink>();
  auto hs = WatchNetwork(slow);
  auto hf = WatchNetwork(fast);
  ASSERT_TRUE(central_.WaitForOpenCalls(1));
  central_.Send(SnapshotOf({Cp("A", common::v1::CP_STATE_ACTIVE)}));
  central_.Send(Changed(Cp("A", common::v1::CP_STATE_SUPPLYING)));
  central_.Send(Changed(Cp("A", common::v1::CP_STATE_ACTIVE)));
  EXPECT_EQ(fast->WaitForLines(3).size(), 3u);
  std::vector<HttpError> ends = slow->WaitForEnd();
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(slow->lines(), 1u);
  EXPECT_EQ(central_.watch_calls(), 1);
}

TEST_F(SharedStreamTest, TheLastWatcherToLeaveCancelsTheCall) {
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  auto ha = WatchNetwork(a);
  auto hb = WatchNetwork(b);
  ASSERT_TRUE(central_.WaitForOpenCalls(1));
  central_.Send(SnapshotOf({Cp("A", common::v1::CP_STATE_ACTIVE)}));
  ASSERT_EQ(b->WaitForLines(1).size(), 1u);

  ha->Cancel();
  ASSERT_EQ(a->WaitForEnd().size(), 1u);
  central_.Send(Changed(Cp("A", common::v1::CP_STATE_FAULTED)));
  EXPECT_EQ(b->WaitForLines(2).size(), 2u);  // still served
  hb->Cancel();
  EXPECT_TRUE(central_.WaitForOpenCalls(0));
  std::vector<HttpError> ends = b->WaitForEnd();
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].code(), grpc::StatusCode::CANCELLED);
  ha->Cancel();  // after the end: nothing happens
  EXPECT_EQ(a->WaitForEnd().size(), 1u);

  // The next watcher opens a call of its own.
  auto c = std::make_shared<RecordingSink>();
  auto hc = WatchNetwork(c);
  EXPECT_EQ(central_.WaitForWatchCalls(2), 2);
}

// Central decides what a caller sees from its token: no sharing across
// tokens, nor between two calls with the same one.
TEST_F(SharedStreamTest, AWatcherWithATokenHasACallOfItsOwn) {
  auto anonymous = std::make_shared<RecordingSink>();
  auto ana1 = std::make_shared<RecordingSink>();
  auto ana2 = std::make_shared<RecordingSink>();
  auto h0 = WatchNetwork(anonymous);
  auto h1 = WatchNetwork(ana1, {"tok-ana", "10.0.0.1"});
  auto h2 = WatchNetwork(ana2, {"tok-ana", "10.0.0.1"});
  ASSERT_TRUE(central_.WaitForOpenCalls(3));
  std::vector<std::string> bearers = central_.bearers();
  std::sort(bearers.begin(), bearers.end());
  EXPECT_EQ(bearers, (std::vector<std::string>{"", "Bearer tok-ana", "Bearer tok-ana"}));
  std::vector<std::string> forwarded = central_.forwarded();
  EXPECT_EQ(std::count(forwarded.begin(), forwarded.end(), "10.0.0.1"), 2);
}

TEST_F(SharedStreamTest, TheCallEndingEndsEveryWatcherAlike) {
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  auto ha = WatchNetwork(a);
  auto hb = WatchNetwork(b);
  ASSERT_TRUE(central_.WaitForOpenCalls(1));
  central_.Send(SnapshotOf({Cp("A", common::v1::CP_STATE_ACTIVE)}));
  central_.EndAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "central is stopping"));
  for (const auto& sink : {a, b}) {
    std::vector<HttpError> ends = sink->WaitForEnd();
    ASSERT_EQ(ends.size(), 1u);
    EXPECT_EQ(ends[0].code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(ends[0].message(), "central is stopping");
    EXPECT_EQ(sink->lines(), 1u);
  }
  // Reconnecting clients get a new call.
  auto c = std::make_shared<RecordingSink>();
  auto hc = WatchNetwork(c);
  EXPECT_EQ(central_.WaitForWatchCalls(2), 2);
}

// No snapshot came, so a joiner could not be brought level: it gets a call
// of its own, which later joiners share.
TEST_F(SharedStreamTest, ACallWithoutASnapshotTakesNoLateJoiner) {
  auto a = std::make_shared<RecordingSink>();
  auto ha = WatchNetwork(a);
  ASSERT_TRUE(central_.WaitForOpenCalls(1));
  NetworkUpdate message;
  message.mutable_message()->set_text("no snapshot first");
  central_.Send(message);
  ASSERT_EQ(a->WaitForLines(1).size(), 1u);
  auto b = std::make_shared<RecordingSink>();
  auto hb = WatchNetwork(b);
  auto c = std::make_shared<RecordingSink>();
  auto hc = WatchNetwork(c);
  EXPECT_EQ(central_.WaitForWatchCalls(2), 2);
  EXPECT_TRUE(central_.WaitForOpenCalls(2));
  EXPECT_EQ(b->lines(), 0u);
}

// A supply's stream opens with its current view, which a joiner would miss.
TEST_F(SharedStreamTest, StreamsWithoutAFoldAreNeverShared) {
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  auto ha = upstreams_.Stream(*supply_, "", {}, a);
  auto hb = upstreams_.Stream(*supply_, "", {}, b);
  for (int i = 0; i < 500 && central_.supply_calls() < 2; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(central_.supply_calls(), 2);
}

}  // namespace
}  // namespace evc::edge
