// Central's gRPC face. The monitor-link registry under a reconnect storm:
// many links for the same CP registering, being replaced and going away at
// once. A replaced link is closed by its successor while it may be ending on
// its own; neither may touch the other after it is freed (run it under ASan
// or TSan to see a use-after-free), and the registry ends empty.

#include "services/central/central_grpc.h"

#include <atomic>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "services/central/central_testing.h"
#include "services/common/grpc_server.h"
#include "services/common/grpc_util.h"
#include "services/common/testing/fake_server.h"

namespace evc::central {
namespace {

// The token is the CP id it belongs to.
class TokenIsCpId : public CpTokenValidator {
 public:
  absl::StatusOr<std::string> CpOf(const std::string& token) override { return token; }
};

class NoAudit : public AuditReader {
 public:
  absl::StatusOr<std::vector<common::v1::AuditEvent>> Read(const AuditQuery&) override {
    return std::vector<common::v1::AuditEvent>();
  }
};

// Central's gRPC face on the fakes central's tests run it on.
class CentralGrpcTest : public ::testing::Test, protected fakes::CentralFixture {
 protected:
  std::unique_ptr<fakes::WiredCentral> wired_ = Wire();
  Central& central_ = wired_->central;
  WorkerPool pool_{8, 10000};
  CallAuthorizer authz_{tokens.verifier};
  TokenIsCpId cp_tokens_;
  NoAudit audit_;
  CentralGrpc service_{central_, pool_, cp_tokens_, authz_, audit_};
};

constexpr char kCp[] = "RACE-1";

class LinkRaceTest : public CentralGrpcTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(central_.Start({fakes::Cp(kCp)}).ok());
    host_.AddService(served_);
    ASSERT_TRUE(host_.Start().ok());
    host_.SetServing(true);
    stub_ = v1::CentralService::NewStub(MakeChannel(absl::StrCat("127.0.0.1:", host_.port()), nullptr, &tls_));
  }
  void TearDown() override {
    host_.Shutdown(absl::Seconds(1));
    central_.Stop();
  }

  // Opens a link for kCp; true once central answered Registered.
  bool Link(grpc::ClientContext& context,
            std::unique_ptr<grpc::ClientReaderWriter<v1::MonitorMessage, v1::MonitorReply>>& stream) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    stream = stub_->MonitorLink(&context);
    v1::MonitorMessage m;
    m.mutable_register_()->set_cp_id(kCp);
    m.mutable_register_()->set_token(kCp);
    m.mutable_register_()->mutable_health()->set_engine_ok(true);
    if (!stream->Write(m)) return false;
    v1::MonitorReply reply;
    return stream->Read(&reply) && reply.has_registered();
  }

  CentralGrpc* served_ = &service_;
  TlsConfig tls_;
  ServiceHost host_{"central", "127.0.0.1:0", &tls_};
  std::unique_ptr<v1::CentralService::Stub> stub_;
};

TEST_F(LinkRaceTest, ConcurrentReconnectsOfOneCpLeaveOneLinkAndNoDanglingOne) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 40;
  std::atomic<int> linked{0}, replaced{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::minstd_rand rng(t);
      for (int r = 0; r < kRounds; ++r) {
        grpc::ClientContext context;
        std::unique_ptr<grpc::ClientReaderWriter<v1::MonitorMessage, v1::MonitorReply>> stream;
        if (!Link(context, stream)) {
          // Replaced before its Registered reply could be read.
          ++replaced;
          stream->Finish();
          continue;
        }
        ++linked;
        // Go away while a successor may be replacing this link: at once (a
        // cancel), after a health report, or by ending the stream.
        switch (rng() % 3) {
          case 0:
            context.TryCancel();
            break;
          case 1: {
            v1::MonitorMessage health;
            health.mutable_health()->set_engine_ok(true);
            stream->Write(health);
            [[fallthrough]];
          }
          default:
            stream->WritesDone();
            break;
        }
        grpc::Status end = stream->Finish();
        if (end.error_code() == grpc::StatusCode::ALREADY_EXISTS) ++replaced;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GT(linked.load(), kThreads * kRounds / 2);
  std::printf("links registered %d, replaced or refused %d\n", linked.load(), replaced.load());
  // Every link ended: the registry empties (OnDone runs after the call ends).
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (service_.LinkCount() != 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(service_.LinkCount(), 0u);

  // A late end of a replaced link never removes its successor.
  grpc::ClientContext first_context, second_context;
  std::unique_ptr<grpc::ClientReaderWriter<v1::MonitorMessage, v1::MonitorReply>> first, second;
  ASSERT_TRUE(Link(first_context, first));
  ASSERT_TRUE(Link(second_context, second));
  EXPECT_EQ(first->Finish().error_code(), grpc::StatusCode::ALREADY_EXISTS);
  absl::SleepFor(absl::Milliseconds(200));  // the first link's OnDone has run
  EXPECT_EQ(service_.LinkCount(), 1u);
  second->WritesDone();
  EXPECT_TRUE(second->Finish().ok());
  const absl::Time gone = absl::Now() + absl::Seconds(5);
  while (service_.LinkCount() != 0 && absl::Now() < gone) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(service_.LinkCount(), 0u);
}

// A peer that opens monitor links and says nothing holds none for long; a
// monitor that registered is never ended for it.
class SilentLinkTest : public LinkRaceTest {
 protected:
  static constexpr absl::Duration kTimeout = absl::Milliseconds(300);
  SilentLinkTest() { served_ = &quick_; }
  CentralGrpc quick_{central_, pool_, cp_tokens_, authz_, audit_, kTimeout};
};

TEST_F(SilentLinkTest, ALinkThatNeverRegistersIsEndedAndARegisteredOneIsNot) {
  grpc::ClientContext silent_context;
  silent_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  const absl::Time opened = absl::Now();
  auto silent = stub_->MonitorLink(&silent_context);
  grpc::ClientContext linked_context;
  std::unique_ptr<grpc::ClientReaderWriter<v1::MonitorMessage, v1::MonitorReply>> linked;
  ASSERT_TRUE(Link(linked_context, linked));

  v1::MonitorReply reply;
  EXPECT_FALSE(silent->Read(&reply));
  const grpc::Status ended = silent->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << ended.error_message();
  EXPECT_NE(ended.error_message().find("no Register within"), std::string::npos) << ended.error_message();
  EXPECT_GE(absl::Now() - opened, kTimeout);

  // Well past the timeout, the registered link still takes health reports.
  absl::SleepFor(kTimeout * 2);
  v1::MonitorMessage health;
  health.mutable_health()->set_engine_ok(true);
  EXPECT_TRUE(linked->Write(health));
  linked->WritesDone();
  EXPECT_TRUE(linked->Finish().ok());
}

// The gRPC entry point verifies the driver's token before central sees the
// request: a forged, tampered or missing one is UNAUTHENTICATED, and audited.
class DriverTokenTest : public CentralGrpcTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(central_.Start({fakes::Cp("CP1")}).ok());
    ASSERT_TRUE(central_.MonitorRegistered("CP1", fakes::Ok()).ok());
  }
  // Ana asks to charge at CP1 with `token` ("": none).
  grpc::Status Charge(const std::string& token) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    v1::RequestChargeRequest request;
    request.set_cp_id("CP1");
    request.set_driver_id("ana");
    request.set_request_id("r1");
    v1::RequestChargeResponse response;
    return stub_->RequestCharge(&context, request, &response);
  }
  int RefusalsAudited() {
    absl::MutexLock lock(&store.mu);
    int refused = 0;
    for (const AuditRecord& a : store.audit) {
      refused += a.action == "charge_request_refused" && a.category == AuditCategory::kSecurity;
    }
    return refused;
  }

  FakeServer server_{{&service_}};
  std::unique_ptr<v1::CentralService::Stub> stub_ = v1::CentralService::NewStub(server_.channel());
};

// Ana's claims under the signature of Luis's token: "header.payload.signature".
std::string Tampered(const std::string& anas, const std::string& luiss) {
  return anas.substr(0, anas.rfind('.')) + luiss.substr(luiss.rfind('.'));
}

TEST_F(DriverTokenTest, ForgedTamperedOrMissingDriverTokensAreUnauthenticated) {
  fakes::TestTokens another_auth;  // signs with a key central does not trust
  const grpc::Status forged = Charge(another_auth.For("ana"));
  EXPECT_EQ(forged.error_code(), grpc::StatusCode::UNAUTHENTICATED) << forged.error_message();
  const grpc::Status tampered = Charge(Tampered(tokens.For("ana"), tokens.For("luis")));
  EXPECT_EQ(tampered.error_code(), grpc::StatusCode::UNAUTHENTICATED) << tampered.error_message();
  const grpc::Status missing = Charge("");
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED) << missing.error_message();
  EXPECT_NE(missing.error_message().find("log in"), std::string::npos) << missing.error_message();
  {
    absl::MutexLock lock(&store.mu);
    EXPECT_TRUE(store.open.empty()) << "nothing authorised";
  }
  // Ana's own token charges: the refusals were the tokens'.
  const grpc::Status genuine = Charge(tokens.For("ana"));
  EXPECT_TRUE(genuine.ok()) << genuine.error_message();
  central_.Stop();
  EXPECT_EQ(RefusalsAudited(), 3);
}

// Queues (issue 20): the operator-only list and a driver's own place are
// decided at the entry point, from the call's token.
TEST_F(DriverTokenTest, QueueRpcsAreDecidedFromTheCallersToken) {
  auto list = [&](const std::string& token) {
    grpc::ClientContext context;
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    v1::ListQueuesResponse response;
    return stub_->ListQueues(&context, v1::ListQueuesRequest(), &response).error_code();
  };
  EXPECT_EQ(list(""), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(list(tokens.For("ana")), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(list(tokens.For("admin", kRoleOperator)), grpc::StatusCode::OK);
  auto place = [&](const std::string& token, const std::string& driver) {
    grpc::ClientContext context;
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    v1::QueueDriverRequest request;
    request.set_driver_id(driver);
    common::v1::QueueStatus response;
    return stub_->GetQueuePosition(&context, request, &response).error_code();
  };
  EXPECT_EQ(place("", ""), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(place(tokens.For("luis"), "ana"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(place(tokens.For("ana"), ""), grpc::StatusCode::NOT_FOUND) << "not queued";
  grpc::ClientContext context;
  v1::JoinQueueRequest join;
  join.set_city("Alicante");
  common::v1::QueueStatus joined;
  EXPECT_EQ(stub_->JoinQueue(&context, join, &joined).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  central_.Stop();
}

}  // namespace
}  // namespace evc::central
