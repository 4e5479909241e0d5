// Enrolling a CP against an in-process fake registry.

#include "services/common/enrolment.h"

#include <gtest/gtest.h>

#include <vector>

#include "services/common/testing/fake_registry.h"
#include "services/common/testing/fake_server.h"

namespace evc {
namespace {

class EnrolmentTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::string> Enrol(IfEnrolled if_enrolled) {
    return EnrolChargingPoint(*registry_, cp_, if_enrolled, absl::Seconds(5));
  }

  FakeEnrolmentRegistry service_;
  FakeServer server_{{&service_}};
  std::unique_ptr<registry::v1::RegistryService::Stub> registry_ =
      registry::v1::RegistryService::NewStub(server_.channel());
  const ChargingPointEnrolment cp_{.cp_id = "MAD-7",
                                   .address = "Gran Via 1",
                                   .city = "Madrid",
                                   .country = "ES",
                                   .price_millieuros_per_kwh = 350,
                                   .max_power_w = 22000};
};

TEST_F(EnrolmentTest, ANewCpIsRegisteredAsDescribedAndGetsItsSecret) {
  auto secret = Enrol(IfEnrolled::kFail);
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(*secret, "first-secret");
  ASSERT_EQ(service_.registered.size(), 1u);
  const auto& r = service_.registered[0];
  EXPECT_EQ(r.cp_id(), "MAD-7");
  EXPECT_EQ(r.location().address(), "Gran Via 1");
  EXPECT_EQ(r.location().city(), "Madrid");
  EXPECT_EQ(r.location().country(), "ES");
  EXPECT_EQ(r.price_millieuros_per_kwh(), 350);
  EXPECT_EQ(r.max_power_w(), 22000);
  EXPECT_TRUE(service_.reset.empty());
}

TEST_F(EnrolmentTest, AnEnrolledCpIsRefusedUnlessItsCredentialsMayBeReset) {
  service_.known.insert("MAD-7");
  EXPECT_TRUE(absl::IsAlreadyExists(Enrol(IfEnrolled::kFail).status()));
  EXPECT_TRUE(service_.reset.empty());

  auto secret = Enrol(IfEnrolled::kResetCredentials);
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(*secret, "new-secret");
  EXPECT_EQ(service_.reset, std::vector<std::string>{"MAD-7"});
}

TEST_F(EnrolmentTest, OtherErrorsAreReturnedWithoutAReset) {
  service_.down = true;
  EXPECT_TRUE(absl::IsUnavailable(Enrol(IfEnrolled::kResetCredentials).status()));
  EXPECT_TRUE(service_.reset.empty());
}

}  // namespace
}  // namespace evc
