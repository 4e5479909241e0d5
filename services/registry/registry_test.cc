#include "services/registry/registry.h"

#include <map>

#include <gtest/gtest.h>

#include "evc/events/v1/events.pb.h"

namespace evc::registry {
namespace {

class FakeStore : public RegistryStore {
 public:
  absl::Status InsertChargingPoint(const common::v1::ChargingPoint& cp,
                                   const std::string& hash) override {
    if (cps.count(cp.cp_id())) return absl::AlreadyExistsError("exists");
    cps[cp.cp_id()] = cp;
    hashes[cp.cp_id()] = hash;
    return absl::OkStatus();
  }
  absl::Status DeleteChargingPoint(const std::string& id) override {
    if (!cps.erase(id)) return absl::NotFoundError("no");
    hashes.erase(id);
    return absl::OkStatus();
  }
  absl::Status UpdateChargingPoint(const common::v1::ChargingPoint& cp) override {
    if (!cps.count(cp.cp_id())) return absl::NotFoundError("no");
    cps[cp.cp_id()] = cp;
    return absl::OkStatus();
  }
  absl::StatusOr<common::v1::ChargingPoint> GetChargingPoint(const std::string& id) override {
    if (!cps.count(id)) return absl::NotFoundError("no");
    return cps[id];
  }
  absl::StatusOr<std::vector<common::v1::ChargingPoint>> ListChargingPoints(
      const std::string& city) override {
    std::vector<common::v1::ChargingPoint> out;
    for (auto& [id, cp] : cps) {
      if (city.empty() || cp.location().city() == city) out.push_back(cp);
    }
    return out;
  }
  absl::Status SetSecretHash(const std::string& id, const std::string& hash) override {
    if (!cps.count(id)) return absl::NotFoundError("no");
    hashes[id] = hash;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> GetSecretHash(const std::string& id) override {
    if (!hashes.count(id)) return absl::NotFoundError("no");
    return hashes[id];
  }
  absl::Status InsertDriver(const v1::Driver& d) override {
    if (drivers.count(d.driver_id())) return absl::AlreadyExistsError("exists");
    drivers[d.driver_id()] = d;
    return absl::OkStatus();
  }
  absl::StatusOr<v1::Driver> GetDriver(const std::string& id) override {
    if (!drivers.count(id)) return absl::NotFoundError("no");
    return drivers[id];
  }

  std::map<std::string, common::v1::ChargingPoint> cps;
  std::map<std::string, std::string> hashes;
  std::map<std::string, v1::Driver> drivers;
};

class RegistryTest : public ::testing::Test {
 protected:
  v1::RegisterChargingPointRequest Valid(const std::string& id = "ALC-001") {
    v1::RegisterChargingPointRequest r;
    r.set_cp_id(id);
    r.mutable_location()->set_address("C/ Mayor 1");
    r.mutable_location()->set_city("Alicante");
    r.mutable_location()->set_country("es");
    r.set_price_millieuros_per_kwh(350);
    r.set_max_power_w(22000);
    return r;
  }
  std::vector<events::v1::RegistryEvent> Events() {
    std::vector<events::v1::RegistryEvent> out;
    for (const auto& rec : events.records()) {
      events::v1::RegistryEvent e;
      EXPECT_TRUE(e.ParseFromString(rec.payload));
      EXPECT_EQ(rec.key, e.cp_id());
      out.push_back(e);
    }
    return out;
  }

  FakeStore store;
  RecordingPublisher events;
  FakeClock clock;
  Registry registry{store, events, clock, crypto::ScryptParams{1 << 10, 8, 1}};
};

TEST_F(RegistryTest, RegisterReturnsCredentialsOnceAndStoresOnlyAHash) {
  auto r = registry.Register(Valid());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->charging_point().location().country(), "ES");
  const std::string secret = r->credentials().secret();
  EXPECT_GE(secret.size(), 40u);
  EXPECT_EQ(store.hashes["ALC-001"].find(secret), std::string::npos);
  v1::VerifyCredentialsRequest v;
  v.set_cp_id("ALC-001");
  v.set_secret(secret);
  EXPECT_TRUE(registry.Verify(v).ok());
  ASSERT_EQ(Events().size(), 1u);
  EXPECT_TRUE(Events()[0].has_registered());
}

TEST_F(RegistryTest, DuplicateIdIsRejected) {
  ASSERT_TRUE(registry.Register(Valid()).ok());
  EXPECT_EQ(registry.Register(Valid()).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(RegistryTest, InvalidChargingPointsAreRejectedWithTheFieldNamed) {
  auto bad = Valid("bad id!");
  EXPECT_NE(registry.Register(bad).status().message().find("cp_id"), std::string::npos);
  bad = Valid();
  bad.mutable_location()->set_city(" ");
  EXPECT_NE(registry.Register(bad).status().message().find("city"), std::string::npos);
  bad = Valid();
  bad.mutable_location()->set_country("Spain");
  EXPECT_NE(registry.Register(bad).status().message().find("country"), std::string::npos);
  bad = Valid();
  bad.set_price_millieuros_per_kwh(0);
  EXPECT_NE(registry.Register(bad).status().message().find("price"), std::string::npos);
  bad = Valid();
  bad.set_max_power_w(-5);
  EXPECT_EQ(registry.Register(bad).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store.cps.empty());
}

TEST_F(RegistryTest, WrongSecretAndUnknownCpGetTheSameAnswer) {
  ASSERT_TRUE(registry.Register(Valid()).ok());
  v1::VerifyCredentialsRequest wrong;
  wrong.set_cp_id("ALC-001");
  wrong.set_secret("guess");
  v1::VerifyCredentialsRequest unknown;
  unknown.set_cp_id("NOPE");
  unknown.set_secret("guess");
  auto a = registry.Verify(wrong).status();
  auto b = registry.Verify(unknown).status();
  EXPECT_EQ(a.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(a, b);
}

TEST_F(RegistryTest, UnregisteredCpCanNoLongerVerifyAndIsAnnounced) {
  auto r = registry.Register(Valid());
  ASSERT_TRUE(registry.Unregister("ALC-001").ok());
  v1::VerifyCredentialsRequest v;
  v.set_cp_id("ALC-001");
  v.set_secret(r->credentials().secret());
  EXPECT_EQ(registry.Verify(v).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(Events().back().has_unregistered());
  EXPECT_EQ(registry.Unregister("ALC-001").code(), absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, ResetCredentialsKillsTheOldSecret) {
  auto r = registry.Register(Valid());
  auto fresh = registry.ResetCredentials("ALC-001");
  ASSERT_TRUE(fresh.ok());
  v1::VerifyCredentialsRequest v;
  v.set_cp_id("ALC-001");
  v.set_secret(r->credentials().secret());
  EXPECT_FALSE(registry.Verify(v).ok());
  v.set_secret(fresh->secret());
  EXPECT_TRUE(registry.Verify(v).ok());
}

TEST_F(RegistryTest, UpdateChangesOnlyMaskedFields) {
  ASSERT_TRUE(registry.Register(Valid()).ok());
  v1::UpdateChargingPointRequest u;
  u.mutable_charging_point()->set_cp_id("ALC-001");
  u.mutable_charging_point()->set_price_millieuros_per_kwh(410);
  u.mutable_update_mask()->add_paths("price_millieuros_per_kwh");
  auto updated = registry.Update(u);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->price_millieuros_per_kwh(), 410);
  EXPECT_EQ(updated->location().city(), "Alicante");
  u.mutable_update_mask()->add_paths("cp_id");
  EXPECT_EQ(registry.Update(u).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Events().back().has_updated());
}

TEST_F(RegistryTest, DriversNeedAValidIdAndName) {
  v1::CreateDriverRequest d;
  d.set_driver_id("ana@example");
  d.set_name("Ana");
  ASSERT_TRUE(registry.CreateDriver(d).ok());
  EXPECT_EQ(registry.CreateDriver(d).status().code(), absl::StatusCode::kAlreadyExists);
  d.set_driver_id("bob");
  d.set_name("");
  EXPECT_EQ(registry.CreateDriver(d).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(registry.GetDriver("ana@example").ok());
  EXPECT_EQ(registry.GetDriver("zed").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace evc::registry
