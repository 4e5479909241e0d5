// Planning the fleet's CPs, enrolling them against an in-process fake registry,
// and ticking them.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/common/testing/fake_registry.h"
#include "services/common/testing/fake_server.h"
#include "services/cp/fleet.h"

namespace evc::cp {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;

TEST(PlanFleet, NumbersTheCpsAndSpreadsThemOverTheCitiesInTurn) {
  const std::vector<ChargingPointEnrolment> plan = PlanFleet({.count = 3,
                                                              .prefix = "FLEET-",
                                                              .cities = "Madrid,Sevilla",
                                                              .price_millieuros_per_kwh = 350,
                                                              .max_power_w = 22000});
  EXPECT_THAT(plan, ElementsAre(Field(&ChargingPointEnrolment::cp_id, "FLEET-00001"),
                                Field(&ChargingPointEnrolment::cp_id, "FLEET-00002"),
                                Field(&ChargingPointEnrolment::cp_id, "FLEET-00003")));
  EXPECT_THAT(plan, ElementsAre(Field(&ChargingPointEnrolment::city, "Sevilla"),
                                Field(&ChargingPointEnrolment::city, "Madrid"),
                                Field(&ChargingPointEnrolment::city, "Sevilla")));
  for (const ChargingPointEnrolment& cp : plan) {
    EXPECT_EQ(cp.address, "Fleet bay " + cp.cp_id);
    EXPECT_EQ(cp.country, "ES");
    EXPECT_EQ(cp.price_millieuros_per_kwh, 350);
    EXPECT_EQ(cp.max_power_w, 22000);
  }
}

TEST(PlanFleet, WithoutCitiesEveryCpIsInAlicante) {
  const std::vector<ChargingPointEnrolment> plan =
      PlanFleet({.count = 2, .prefix = "F", .cities = ",,"});
  EXPECT_THAT(plan, ElementsAre(Field(&ChargingPointEnrolment::city, "Alicante"),
                                Field(&ChargingPointEnrolment::city, "Alicante")));
  EXPECT_EQ(plan[1].cp_id, "F00002");
}

TEST(PlanFleet, NoCountNoCps) { EXPECT_TRUE(PlanFleet({.count = 0, .prefix = "F", .cities = "Madrid"}).empty()); }

class Silent : public EngineOutput {
 public:
  void Send(const events::v1::EngineEvent&, const events::v1::SealedEnvelope&) override {}
  void Say(const std::string&, const std::string&) override {}
};

// Refuses every CP, remembering which asked.
class RecordingAuthenticator : public Authenticator {
 public:
  absl::StatusOr<auth::v1::AuthenticateChargingPointResponse> Authenticate(
      const std::string& cp_id, const std::string&) override {
    absl::MutexLock lock(&mu);
    asked.insert(cp_id);
    return absl::UnavailableError("auth is down");
  }
  absl::Mutex mu;
  std::set<std::string> asked ABSL_GUARDED_BY(mu);
};

class FleetTest : public ::testing::Test {
 protected:
  FleetTest() { fleet_ = std::make_unique<Fleet>(EngineOptions{.power_w = 11000}, output_, auth_, *central_); }

  absl::Status Enrol(absl::Duration patience = absl::Seconds(5)) {
    return fleet_->Enrol(*registry_, plan_, patience, nullptr);
  }

  FakeEnrolmentRegistry registry_service_;
  FakeServer server_{{&registry_service_}};
  std::unique_ptr<registry::v1::RegistryService::Stub> registry_ =
      registry::v1::RegistryService::NewStub(server_.channel());
  std::unique_ptr<central::v1::CentralService::Stub> central_ =
      central::v1::CentralService::NewStub(server_.channel());
  Silent output_;
  RecordingAuthenticator auth_;
  std::unique_ptr<Fleet> fleet_;
  const std::vector<ChargingPointEnrolment> plan_ =
      PlanFleet({.count = 2, .prefix = "FLEET-", .cities = "Madrid", .price_millieuros_per_kwh = 350,
                 .max_power_w = 22000});
};

// Every field of the request: PlanFleet's test and services/common/enrolment_test.cc.
TEST_F(FleetTest, EveryPlannedCpIsRegisteredAsPlannedAndGetsAnEngine) {
  ASSERT_TRUE(Enrol().ok());
  ASSERT_EQ(registry_service_.registered.size(), 2u);
  const auto& r = registry_service_.registered[0];
  EXPECT_EQ(r.cp_id(), "FLEET-00001");
  EXPECT_EQ(r.location().address(), "Fleet bay FLEET-00001");
  EXPECT_EQ(r.location().city(), "Madrid");
  EXPECT_TRUE(registry_service_.reset.empty());

  EXPECT_EQ(fleet_->size(), 2u);
  EXPECT_NE(fleet_->EngineOf("FLEET-00002"), nullptr);
  EXPECT_EQ(fleet_->EngineOf("OTHER-1"), nullptr) << "another CP's commands are not ours";
}

TEST_F(FleetTest, AKnownCpGetsNewCredentials) {
  registry_service_.known.insert("FLEET-00001");
  ASSERT_TRUE(Enrol().ok());
  EXPECT_EQ(registry_service_.reset, std::vector<std::string>{"FLEET-00001"});
  EXPECT_EQ(fleet_->size(), 2u);
}

TEST_F(FleetTest, ARegistryThatStaysDownEndsTheEnrolmentWhenPatienceRunsOut) {
  registry_service_.down = true;
  absl::Status enrolled = Enrol(absl::Seconds(1));
  EXPECT_TRUE(absl::IsUnavailable(enrolled)) << enrolled;
  EXPECT_THAT(std::string(enrolled.message()), ::testing::HasSubstr("enrol FLEET-00001"));
  EXPECT_TRUE(registry_service_.reset.empty());
  EXPECT_EQ(fleet_->size(), 0u);
}

TEST_F(FleetTest, ShutdownBeforeEnrolmentEnrolsNothing) {
  absl::Notification stop;
  stop.Notify();
  EXPECT_TRUE(fleet_->Enrol(*registry_, plan_, absl::Seconds(5), &stop).ok());
  EXPECT_TRUE(registry_service_.registered.empty());
  EXPECT_EQ(fleet_->size(), 0u);
}

TEST_F(FleetTest, RunTicksEveryMonitorAtLeastOnce) {
  ASSERT_TRUE(Enrol().ok());
  absl::Notification stopping;
  stopping.Notify();
  fleet_->Run(2, absl::Seconds(1), stopping);
  absl::MutexLock lock(&auth_.mu);
  EXPECT_EQ(auth_.asked, (std::set<std::string>{"FLEET-00001", "FLEET-00002"}));
}

// Auth answering slowly (a secret hash each), accepting everyone.
class SlowAuthenticator : public Authenticator {
 public:
  absl::StatusOr<auth::v1::AuthenticateChargingPointResponse> Authenticate(
      const std::string& cp_id, const std::string&) override {
    absl::SleepFor(absl::Milliseconds(40));
    absl::MutexLock lock(&mu);
    asked.insert(cp_id);
    auth::v1::AuthenticateChargingPointResponse r;
    r.set_token("token-" + cp_id);
    r.mutable_expires_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
    return r;
  }
  absl::Mutex mu;
  std::set<std::string> asked ABSL_GUARDED_BY(mu);
};

// Newcomers authenticate within nine tenths of a turn (90 ms), so those
// already linked still report on time: one turn of 40 CPs (4 of them due)
// asks auth for at most 3 at 40 ms each, not for all 4.
TEST(FleetRunTest, ATurnSpendsAtMostNineTenthsOfItsTimeAuthenticatingNewcomers) {
  FakeEnrolmentRegistry registry_service;
  FakeServer server{{&registry_service}};
  auto registry = registry::v1::RegistryService::NewStub(server.channel());
  auto central = central::v1::CentralService::NewStub(server.channel());
  Silent output;
  SlowAuthenticator auth;
  Fleet fleet(EngineOptions{.power_w = 11000}, output, auth, *central);
  ASSERT_TRUE(fleet.Enrol(*registry, PlanFleet({.count = 40, .prefix = "F-", .cities = "Madrid"}),
                          absl::Seconds(5), nullptr)
                  .ok());
  absl::Notification stopping;
  stopping.Notify();  // one turn
  fleet.Run(1, absl::Seconds(1), stopping);
  absl::MutexLock lock(&auth.mu);
  EXPECT_GE(auth.asked.size(), 1u);
  EXPECT_LE(auth.asked.size(), 3u);
}

}  // namespace
}  // namespace evc::cp
