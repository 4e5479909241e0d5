// Enrolling a CP against an in-process fake registry.

#include "services/common/enrolment.h"

#include <gtest/gtest.h>

#include <vector>

#include "absl/time/clock.h"

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

TEST_F(EnrolmentTest, EnrolEachHandsOnEverySecretAndStopsAtOnceOnARefusal) {
  service_.known.insert("B");
  std::vector<std::string> got;
  const auto keep = [&](const ChargingPointEnrolment& cp, const std::string& secret) {
    got.push_back(cp.cp_id + "=" + secret);
  };
  ASSERT_TRUE(EnrolEach(*registry_, {{.cp_id = "A"}, {.cp_id = "B"}}, absl::Seconds(5), nullptr, keep).ok());
  EXPECT_EQ(got, (std::vector<std::string>{"A=first-secret", "B=new-secret"}));

  // Invalid input does not get better with retries: the first answer ends it.
  service_.refuse = true;
  const absl::Time start = absl::Now();
  absl::Status refused = EnrolEach(*registry_, {{.cp_id = "C"}, {.cp_id = "D"}}, absl::Seconds(30), nullptr, keep);
  EXPECT_TRUE(absl::IsInvalidArgument(refused)) << refused;
  EXPECT_NE(refused.message().find("enrol C: price must be set"), std::string::npos) << refused;
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(got.size(), 2u);

  // A registry that is down is waited for, up to the patience.
  service_.refuse = false;
  service_.down = true;
  EXPECT_TRUE(absl::IsUnavailable(EnrolEach(*registry_, {{.cp_id = "E"}}, absl::Milliseconds(300), nullptr, keep)));
}

}  // namespace
}  // namespace evc
