// The charging-point commands against fake registry, central and health services
// in this process: what they send, print and exit with.

#include "services/evcctl/cp_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "evc/central/v1/central.grpc.pb.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/evcctl/panel.h"
#include "services/evcctl/test_network.h"

namespace evc::evcctl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class FakeRegistry : public registry::v1::RegistryService::Service {
 public:
  grpc::Status RegisterChargingPoint(
      grpc::ServerContext*, const registry::v1::RegisterChargingPointRequest* request,
      registry::v1::RegisterChargingPointResponse* response) override {
    absl::MutexLock lock(&mu);
    registered = *request;
    if (request->cp_id() == "TAKEN") {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "TAKEN is enrolled");
    }
    response->mutable_credentials()->set_secret("first-secret");
    return grpc::Status::OK;
  }
  grpc::Status ResetCredentials(grpc::ServerContext*, const registry::v1::ResetCredentialsRequest*,
                                registry::v1::Credentials* response) override {
    response->set_secret("new-secret");
    return grpc::Status::OK;
  }
  grpc::Status UnregisterChargingPoint(grpc::ServerContext*,
                                       const registry::v1::UnregisterChargingPointRequest* request,
                                       registry::v1::UnregisterChargingPointResponse*) override {
    if (request->cp_id() == "GONE") return grpc::Status(grpc::StatusCode::NOT_FOUND, "no CP GONE");
    return grpc::Status::OK;
  }
  grpc::Status ListChargingPoints(grpc::ServerContext*,
                                  const registry::v1::ListChargingPointsRequest*,
                                  registry::v1::ListChargingPointsResponse* response) override {
    *response->add_charging_points() = Madrid();
    auto* elsewhere = response->add_charging_points();
    *elsewhere = Madrid();
    elsewhere->set_cp_id("MAD-2");
    elsewhere->mutable_location()->clear_coordinates();
    return grpc::Status::OK;
  }
  // Answers with the CP as the registry would hold it after the change.
  grpc::Status UpdateChargingPoint(grpc::ServerContext*,
                                   const registry::v1::UpdateChargingPointRequest* request,
                                   common::v1::ChargingPoint* response) override {
    absl::MutexLock lock(&mu);
    updated = *request;
    *response = Madrid();
    response->set_cp_id(request->charging_point().cp_id());
    *response->mutable_location()->mutable_coordinates() =
        request->charging_point().location().coordinates();
    return grpc::Status::OK;
  }

  static common::v1::ChargingPoint Madrid() {
    common::v1::ChargingPoint cp;
    cp.set_cp_id("MAD-1");
    cp.mutable_location()->set_city("Madrid");
    cp.mutable_location()->set_country("ES");
    cp.mutable_location()->set_address("Gran Via 1");
    cp.mutable_location()->mutable_coordinates()->set_latitude(40.4203);
    cp.mutable_location()->mutable_coordinates()->set_longitude(-3.7058);
    cp.set_price_millieuros_per_kwh(350);
    cp.set_max_power_w(22000);
    return cp;
  }

  absl::Mutex mu;
  registry::v1::RegisterChargingPointRequest registered ABSL_GUARDED_BY(mu);
  registry::v1::UpdateChargingPointRequest updated ABSL_GUARDED_BY(mu);
};

class FakeCentral : public central::v1::CentralService::Service {
 public:
  grpc::Status StopChargingPoints(grpc::ServerContext*, const central::v1::OperatorRequest* request,
                                  central::v1::OperatorResponse* response) override {
    if (request->all()) {
      response->add_affected_cp_ids("MAD-1");
      response->add_affected_cp_ids("ALC-1");
    }
    return grpc::Status::OK;
  }
  grpc::Status ResumeChargingPoints(grpc::ServerContext*,
                                    const central::v1::OperatorRequest* request,
                                    central::v1::OperatorResponse* response) override {
    response->add_affected_cp_ids(request->cp_id());
    return grpc::Status::OK;
  }
  grpc::Status ListChargingPoints(grpc::ServerContext*,
                                  const central::v1::ListChargingPointsRequest*,
                                  central::v1::ListChargingPointsResponse* response) override {
    *response->add_charging_points() = Cp("MAD-1", common::v1::CP_STATE_ACTIVE);
    *response->add_charging_points() = Cp("ALC-1", common::v1::CP_STATE_FAULTED);
    return grpc::Status::OK;
  }
  grpc::Status ListTickets(grpc::ServerContext*, const central::v1::ListTicketsRequest* request,
                           central::v1::ListTicketsResponse* response) override {
    auto* ticket = response->add_tickets();
    ticket->set_supply_id("s-1");
    ticket->set_cp_id(request->cp_id());
    ticket->set_energy_wh(1500);
    ticket->set_amount_millieuros(525);
    return grpc::Status::OK;
  }
  grpc::Status ListAuditEvents(grpc::ServerContext*, const central::v1::ListAuditEventsRequest*,
                               central::v1::ListAuditEventsResponse* response) override {
    // Newest first, as central answers.
    response->add_events()->set_action("second");
    response->add_events()->set_action("first");
    return grpc::Status::OK;
  }

  static central::v1::ChargingPointStatus Cp(const std::string& id, common::v1::CpState state) {
    central::v1::ChargingPointStatus cp;
    cp.mutable_charging_point()->set_cp_id(id);
    cp.set_state(state);
    return cp;
  }
};

class FakeHealth : public grpc::health::v1::Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest*,
                     grpc::health::v1::HealthCheckResponse* response) override {
    response->set_status(status);
    return grpc::Status::OK;
  }
  std::atomic<grpc::health::v1::HealthCheckResponse::ServingStatus> status =
      grpc::health::v1::HealthCheckResponse::SERVING;
};

class CpCommandsTest : public ::testing::Test {
 protected:
  FakeRegistry registry;
  FakeCentral central;
  FakeHealth health;
  TestNetwork network{&registry, &central, &health};
  Options& options = network.options;
  Context& context = network.context();
};

TEST_F(CpCommandsTest, RegisterSendsTheFlagsAndShowsTheSecretOnce) {
  options.registry = "registry:1";
  options.city = "Madrid";
  options.price = 350;
  options.max_power = 11000;
  EXPECT_EQ(Register(context, "MAD-2"), 0);
  EXPECT_EQ(network.Out(), "registered MAD-2\nsecret (shown once, keep it): first-secret\n");
  absl::MutexLock lock(&registry.mu);
  EXPECT_EQ(registry.registered.location().city(), "Madrid");
  EXPECT_EQ(registry.registered.price_millieuros_per_kwh(), 350);
  EXPECT_EQ(registry.registered.max_power_w(), 11000);
  EXPECT_EQ(registry.registered.location().country(), "ES") << "the default country";
  EXPECT_FALSE(registry.registered.location().has_coordinates());
  ASSERT_EQ(network.connections().opened.size(), 1u);
  EXPECT_EQ(network.connections().opened[0].address, "registry:1");
  EXPECT_TRUE(network.connections().opened[0].login);
}

TEST_F(CpCommandsTest, RegisterSendsTheCoordinatesGiven) {
  options.city = "Madrid";
  options.price = 350;
  options.latitude = 40.4203;
  options.longitude = -3.7058;
  EXPECT_EQ(Register(context, "MAD-2"), 0);
  absl::MutexLock lock(&registry.mu);
  EXPECT_DOUBLE_EQ(registry.registered.location().coordinates().latitude(), 40.4203);
  EXPECT_DOUBLE_EQ(registry.registered.location().coordinates().longitude(), -3.7058);
  EXPECT_EQ(registry.registered.max_power_w(), 22000) << "the default maximum power";
}

TEST_F(CpCommandsTest, HalfACoordinateIsRefusedBeforeAnyCall) {
  options.latitude = 40.4203;
  EXPECT_EQ(Register(context, "MAD-2"), 1);
  EXPECT_EQ(Update(context, "MAD-2"), 1);
  const std::string refused =
      "evcctl: INVALID_ARGUMENT: --latitude and --longitude go together: give both\n";
  EXPECT_EQ(network.Err(), refused + refused);
  EXPECT_TRUE(network.connections().opened.empty());
}

TEST_F(CpCommandsTest, UpdateChangesOnlyTheFlagsGivenAndShowsTheResult) {
  options.latitude = 40.4168;
  options.longitude = -3.7038;
  options.price = 410;
  EXPECT_EQ(Update(context, "MAD-1"), 0);
  EXPECT_EQ(network.Out(), "updated MAD-1: Gran Via 1, Madrid (ES), coordinates 40.41680,-3.70380, " +
                               Euros(350) + " EUR/kWh, 22.0 kW\n");
  absl::MutexLock lock(&registry.mu);
  const registry::v1::UpdateChargingPointRequest& sent = registry.updated;
  EXPECT_EQ(sent.charging_point().cp_id(), "MAD-1");
  EXPECT_THAT(sent.update_mask().paths(),
              ::testing::ElementsAre("location.coordinates", "price_millieuros_per_kwh"));
  EXPECT_DOUBLE_EQ(sent.charging_point().location().coordinates().latitude(), 40.4168);
  EXPECT_EQ(sent.charging_point().price_millieuros_per_kwh(), 410);
  EXPECT_TRUE(network.connections().opened[0].login);
}

TEST_F(CpCommandsTest, UpdateWithNothingToChangeSaysWhatItTakes) {
  EXPECT_EQ(Update(context, "MAD-1"), 1);
  EXPECT_THAT(network.Err(), HasSubstr("update needs something to change: --address, --city"));
  EXPECT_TRUE(network.connections().opened.empty());
}

TEST_F(CpCommandsTest, RegisterOfAnEnrolledCpFailsUnlessAskedToReset) {
  EXPECT_EQ(Register(context, "TAKEN"), 1);
  EXPECT_EQ(network.Err(), "evcctl: ALREADY_EXISTS: TAKEN is enrolled\n");
  options.reset_if_exists = true;
  EXPECT_EQ(Register(context, "TAKEN"), 0);
  EXPECT_THAT(network.Out(), HasSubstr("secret (shown once, keep it): new-secret\n"));
}

TEST_F(CpCommandsTest, RegisterWritesTheSecretToTheFileGiven) {
  options.secret_file = ::testing::TempDir() + "/cp_commands_test.secret";
  EXPECT_EQ(Register(context, "MAD-2"), 0);
  EXPECT_EQ(network.Out(), "registered MAD-2; secret written to " + options.secret_file + "\n");
  std::stringstream written;
  written << std::ifstream(options.secret_file).rdbuf();
  EXPECT_EQ(written.str(), "first-secret\n");
}

TEST_F(CpCommandsTest, AFailedLoginEndsTheCommandBeforeAnyCall) {
  network.connections().login_error = absl::UnauthenticatedError("wrong password");
  EXPECT_EQ(Unregister(context, "MAD-1"), 1);
  EXPECT_EQ(network.Err(), "evcctl: UNAUTHENTICATED: wrong password\n");
  EXPECT_EQ(network.Out(), "");
}

TEST_F(CpCommandsTest, UnregisterSaysTheCredentialsAreDeadOrWhyNot) {
  EXPECT_EQ(Unregister(context, "MAD-1"), 0);
  EXPECT_EQ(network.Out(), "unregistered MAD-1: its credentials and keys no longer work\n");
  EXPECT_EQ(Unregister(context, "GONE"), 1);
  EXPECT_EQ(network.Err(), "evcctl: NOT_FOUND: no CP GONE\n");
}

TEST_F(CpCommandsTest, ListIsATableAndNeedsNoLogin) {
  EXPECT_EQ(List(context), 0);
  const std::string price = absl::StrFormat("%10s", Euros(350));
  EXPECT_EQ(network.Out(),
            "CP           CITY           CC  ADDRESS                           EUR/kWh     MAX kW  "
            "LAT,LON\n"
            "MAD-1        Madrid         ES  Gran Via 1                     " +
                price + "       22.0  40.42030,-3.70580\n" +
                "MAD-2        Madrid         ES  Gran Via 1                     " + price +
                "       22.0  -\n");
  EXPECT_FALSE(network.connections().opened[0].login);
}

TEST_F(CpCommandsTest, StatusShowsEveryCpUnderTheHeader) {
  EXPECT_EQ(Status(context), 0);
  EXPECT_EQ(network.Out(),
            StatusHeader() + "\n" +
                StatusLine(FakeCentral::Cp("MAD-1", common::v1::CP_STATE_ACTIVE), false) + "\n" +
                StatusLine(FakeCentral::Cp("ALC-1", common::v1::CP_STATE_FAULTED), false) + "\n");
}

TEST_F(CpCommandsTest, StopNeedsACpOrAll) {
  EXPECT_EQ(StopOrResume(context, "stop", {"stop"}), 1);
  EXPECT_EQ(network.Err(),
            "evcctl: INVALID_ARGUMENT: stop needs a CP id or --all (evcctl help stop)\n");
  EXPECT_TRUE(network.connections().opened.empty());
}

TEST_F(CpCommandsTest, StopAndResumeSayWhatChanged) {
  EXPECT_EQ(StopOrResume(context, "stop", {"stop", "MAD-9"}), 0);
  options.all = true;
  EXPECT_EQ(StopOrResume(context, "stop", {"stop"}), 0);
  options.all = false;
  EXPECT_EQ(StopOrResume(context, "resume", {"resume", "MAD-1"}), 0);
  EXPECT_EQ(network.Out(), "stop: nothing to change\nstop: MAD-1, ALC-1\nresume: MAD-1\n");
}

TEST_F(CpCommandsTest, TicketsOfWalkInsSaySo) {
  options.cp = "MAD-1";
  EXPECT_EQ(Tickets(context), 0);
  const std::string out = network.Out();
  EXPECT_THAT(out, StartsWith("SUPPLY "));
  EXPECT_THAT(out, HasSubstr("s-1"));
  EXPECT_THAT(out, HasSubstr("(walk-in)"));
  EXPECT_THAT(out, HasSubstr(Kwh(1500)));
}

TEST_F(CpCommandsTest, AuditReadsOldestFirst) {
  EXPECT_EQ(Audit(context), 0);
  const std::string out = network.Out();
  EXPECT_THAT(out, StartsWith("AT "));
  EXPECT_LT(out.find("first"), out.find("second"));
}

TEST_F(CpCommandsTest, WaitActiveCountsActiveCpsUntilTheTimeout) {
  options.count = 1;
  EXPECT_EQ(WaitActive(context), 0);
  options.count = 2;
  options.timeout = absl::Milliseconds(300);
  EXPECT_EQ(WaitActive(context), 1);
  EXPECT_EQ(network.Err(), "evcctl: only 1 of 2 CPs ACTIVE\n");
}

TEST_F(CpCommandsTest, HealthExitsZeroOnlyWhenServing) {
  EXPECT_EQ(Health(context, "any:1"), 0);
  health.status = grpc::health::v1::HealthCheckResponse::NOT_SERVING;
  EXPECT_EQ(Health(context, "any:1"), 1);
  EXPECT_EQ(network.Out(), "SERVING\nNOT_SERVING\n");
  EXPECT_EQ(network.connections().opened[0].address, "any:1");
}

}  // namespace
}  // namespace evc::evcctl
