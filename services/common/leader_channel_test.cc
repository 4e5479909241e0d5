// MakeLeaderChannel: two servers stand for two central replicas; calls go to
// the one whose health reports the service SERVING, and move when that moves.

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/common/grpc_server.h"

namespace evc {
namespace {

constexpr char kLed[] = "evc.test.v1.LedService";

class Replica {
 public:
  Replica() {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    server_ = builder.BuildAndStart();
    Lead(false);
  }
  ~Replica() { server_->Shutdown(std::chrono::system_clock::now()); }
  void Lead(bool leading) { server_->GetHealthCheckService()->SetServingStatus(kLed, leading); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// Which replica answers a call, "" when the call fails.
std::string Answerer(grpc::health::v1::Health::Stub& stub, grpc::StatusCode* code = nullptr) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub.Check(&context, request, &response);
  if (code != nullptr) *code = status.error_code();
  if (!status.ok()) return "";
  // "ipv4:127.0.0.1:PORT"
  const std::string peer = context.peer();
  return peer.substr(peer.find(':') + 1);
}

// Calls may keep reaching the old leader until its health watch reports the
// change: bounded by `deadline`, never a fixed sleep.
bool CallsReach(grpc::health::v1::Health::Stub& stub, const std::string& address, absl::Duration deadline) {
  const absl::Time give_up = absl::Now() + deadline;
  while (absl::Now() < give_up) {
    if (Answerer(stub) == address) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

TEST(LeaderChannel, CallsGoToTheReplicaServingTheServiceAndFollowItWhenItMoves) {
  Replica first, second;
  auto channel = MakeLeaderChannel(absl::StrCat("ipv4:", first.address(), ",", second.address()), kLed);
  auto stub = grpc::health::v1::Health::NewStub(channel);

  grpc::StatusCode code = grpc::StatusCode::OK;
  EXPECT_EQ(Answerer(*stub, &code), "") << "no replica leads yet";
  EXPECT_EQ(code, grpc::StatusCode::UNAVAILABLE);

  second.Lead(true);
  ASSERT_TRUE(CallsReach(*stub, second.address(), absl::Seconds(10)));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Answerer(*stub), second.address()) << "only the leader is called";

  second.Lead(false);
  first.Lead(true);
  ASSERT_TRUE(CallsReach(*stub, first.address(), absl::Seconds(10)));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Answerer(*stub), first.address());
}

TEST(LeaderChannel, ALoneReplicaIsFoundByItsPlainAddress) {
  Replica only;
  only.Lead(true);
  auto stub = grpc::health::v1::Health::NewStub(MakeLeaderChannel(only.address(), kLed));
  EXPECT_TRUE(CallsReach(*stub, only.address(), absl::Seconds(10)));
}

}  // namespace
}  // namespace evc
