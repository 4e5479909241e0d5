#include "services/registry/registry.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

#include "evc/events/v1/events.pb.h"
#include "services/common/testing/fake_clock.h"
#include "services/common/testing/recording_audit_sink.h"
#include "services/common/testing/recording_publisher.h"
#include "services/registry/startup.h"

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

  std::map<std::string, common::v1::ChargingPoint> cps;
  std::map<std::string, std::string> hashes;
};

class FakeAccounts : public AccountStore {
 public:
  absl::Status InsertAccount(const v1::Account& a, const std::string& hash) override {
    const std::string key = absl::AsciiStrToLower(a.username());
    if (accounts.count(key)) return absl::AlreadyExistsError("exists");
    accounts[key] = {a, hash};
    return absl::OkStatus();
  }
  absl::StatusOr<StoredAccount> GetAccount(const std::string& username) override {
    auto it = accounts.find(absl::AsciiStrToLower(username));
    if (it == accounts.end()) return absl::NotFoundError("no");
    return it->second;
  }
  absl::Status UpdateAccount(const StoredAccount& a) override {
    for (const std::string& tag : a.account.id_tags()) {
      absl::StatusOr<std::string> owner = AccountOfIdTag(tag);
      if (owner.ok() && *owner != a.account.username()) return absl::AlreadyExistsError("tag taken");
    }
    accounts[absl::AsciiStrToLower(a.account.username())] = a;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> AccountOfIdTag(const std::string& tag) override {
    for (const auto& [key, stored] : accounts) {
      for (const std::string& t : stored.account.id_tags()) {
        if (t == tag) return stored.account.username();
      }
    }
    return absl::NotFoundError("no such tag");
  }
  std::map<std::string, StoredAccount> accounts;
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
  RecordingAuditSink audit;
  Registry registry{store, events, audit, clock, crypto::ScryptParams{1 << 10, 8, 1}};
  const Caller op = Caller::Operator("admin", "ipv4:127.0.0.1:1");
};

TEST_F(RegistryTest, RegisterReturnsCredentialsOnceAndStoresOnlyAHash) {
  auto r = registry.Register(Valid(), op);
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
  ASSERT_TRUE(registry.Register(Valid(), op).ok());
  EXPECT_EQ(registry.Register(Valid(), op).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(RegistryTest, InvalidChargingPointsAreRejectedWithTheFieldNamed) {
  auto bad = Valid("bad id!");
  EXPECT_NE(registry.Register(bad, op).status().message().find("cp_id"), std::string::npos);
  bad = Valid();
  bad.mutable_location()->set_city(" ");
  EXPECT_NE(registry.Register(bad, op).status().message().find("city"), std::string::npos);
  bad = Valid();
  bad.mutable_location()->set_country("Spain");
  EXPECT_NE(registry.Register(bad, op).status().message().find("country"), std::string::npos);
  bad = Valid();
  bad.set_price_millieuros_per_kwh(0);
  EXPECT_NE(registry.Register(bad, op).status().message().find("price"), std::string::npos);
  bad = Valid();
  bad.set_max_power_w(-5);
  EXPECT_EQ(registry.Register(bad, op).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store.cps.empty());
}

TEST_F(RegistryTest, WrongSecretAndUnknownCpGetTheSameAnswer) {
  ASSERT_TRUE(registry.Register(Valid(), op).ok());
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
  auto r = registry.Register(Valid(), op);
  ASSERT_TRUE(registry.Unregister("ALC-001", op).ok());
  v1::VerifyCredentialsRequest v;
  v.set_cp_id("ALC-001");
  v.set_secret(r->credentials().secret());
  EXPECT_EQ(registry.Verify(v).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(Events().back().has_unregistered());
  EXPECT_EQ(registry.Unregister("ALC-001", op).code(), absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, ResetCredentialsKillsTheOldSecret) {
  auto r = registry.Register(Valid(), op);
  auto fresh = registry.ResetCredentials("ALC-001", op);
  ASSERT_TRUE(fresh.ok());
  v1::VerifyCredentialsRequest v;
  v.set_cp_id("ALC-001");
  v.set_secret(r->credentials().secret());
  EXPECT_FALSE(registry.Verify(v).ok());
  v.set_secret(fresh->secret());
  EXPECT_TRUE(registry.Verify(v).ok());
}

TEST_F(RegistryTest, UpdateChangesOnlyMaskedFields) {
  ASSERT_TRUE(registry.Register(Valid(), op).ok());
  v1::UpdateChargingPointRequest u;
  u.mutable_charging_point()->set_cp_id("ALC-001");
  u.mutable_charging_point()->set_price_millieuros_per_kwh(410);
  u.mutable_update_mask()->add_paths("price_millieuros_per_kwh");
  auto updated = registry.Update(u, op);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->price_millieuros_per_kwh(), 410);
  EXPECT_EQ(updated->location().city(), "Alicante");
  u.mutable_update_mask()->add_paths("cp_id");
  EXPECT_EQ(registry.Update(u, op).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Events().back().has_updated());
}

TEST_F(RegistryTest, CoordinatesAreStoredReturnedAndAnnounced) {
  auto request = Valid();
  request.mutable_location()->mutable_coordinates()->set_latitude(38.3447);
  request.mutable_location()->mutable_coordinates()->set_longitude(-0.4917);
  auto r = registry.Register(request, op);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(r->charging_point().location().coordinates().latitude(), 38.3447);
  EXPECT_DOUBLE_EQ(store.cps["ALC-001"].location().coordinates().longitude(), -0.4917);
  auto got = registry.Get("ALC-001");
  ASSERT_TRUE(got.ok());
  EXPECT_DOUBLE_EQ(got->location().coordinates().latitude(), 38.3447);
  auto listed = registry.List({});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->charging_points_size(), 1);
  EXPECT_DOUBLE_EQ(listed->charging_points(0).location().coordinates().longitude(), -0.4917);
  ASSERT_EQ(Events().size(), 1u);
  EXPECT_DOUBLE_EQ(Events()[0].registered().location().coordinates().latitude(), 38.3447);
  // Without coordinates is fine too: they are optional.
  ASSERT_TRUE(registry.Register(Valid("ALC-002"), op).ok());
  EXPECT_FALSE(store.cps["ALC-002"].location().has_coordinates());
}

TEST_F(RegistryTest, CoordinatesOutsideTheEarthAreRejectedWithTheFieldNamed) {
  auto refused = [&](double latitude, double longitude) {
    auto request = Valid();
    request.mutable_location()->mutable_coordinates()->set_latitude(latitude);
    request.mutable_location()->mutable_coordinates()->set_longitude(longitude);
    absl::Status s = registry.Register(request, op).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << latitude << "," << longitude;
    return std::string(s.message());
  };
  EXPECT_EQ(refused(90.5, 0),
            "location.coordinates.latitude must be between -90 and 90 degrees (got 90.5)");
  EXPECT_EQ(refused(0, -180.01),
            "location.coordinates.longitude must be between -180 and 180 degrees (got -180.01)");
  EXPECT_EQ(refused(std::nan(""), 0),
            "location.coordinates.latitude must be a finite number of degrees");
  EXPECT_EQ(refused(0, std::numeric_limits<double>::infinity()),
            "location.coordinates.longitude must be a finite number of degrees");
  EXPECT_TRUE(store.cps.empty());
  // The edges of the map are on it.
  auto poles = Valid("POLE-1");
  poles.mutable_location()->mutable_coordinates()->set_latitude(-90);
  poles.mutable_location()->mutable_coordinates()->set_longitude(180);
  EXPECT_TRUE(registry.Register(poles, op).ok());
}

TEST_F(RegistryTest, UpdateMaskPathsReachIntoTheLocation) {
  auto request = Valid();
  request.mutable_location()->mutable_coordinates()->set_latitude(38.3447);
  request.mutable_location()->mutable_coordinates()->set_longitude(-0.4917);
  ASSERT_TRUE(registry.Register(request, op).ok());
  auto update = [&](const std::string& path, const common::v1::Location& location) {
    v1::UpdateChargingPointRequest u;
    u.mutable_charging_point()->set_cp_id("ALC-001");
    *u.mutable_charging_point()->mutable_location() = location;
    u.mutable_update_mask()->add_paths(path);
    return registry.Update(u, op);
  };
  common::v1::Location moved;
  moved.mutable_coordinates()->set_latitude(38.3528);
  moved.mutable_coordinates()->set_longitude(-0.4953);
  // Only the coordinates: the address stays (and an empty one would be refused).
  auto updated = update("location.coordinates", moved);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->location().address(), "C/ Mayor 1");
  EXPECT_DOUBLE_EQ(updated->location().coordinates().latitude(), 38.3528);
  EXPECT_DOUBLE_EQ(store.cps["ALC-001"].location().coordinates().longitude(), -0.4953);
  EXPECT_DOUBLE_EQ(Events().back().updated().location().coordinates().latitude(), 38.3528);

  // Only the city: the coordinates stay.
  common::v1::Location city;
  city.set_city("Elche");
  updated = update("location.city", city);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->location().city(), "Elche");
  EXPECT_DOUBLE_EQ(updated->location().coordinates().latitude(), 38.3528);

  // Bad coordinates change nothing.
  common::v1::Location off_map;
  off_map.mutable_coordinates()->set_latitude(123);
  absl::Status refused = update("location.coordinates", off_map).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("location.coordinates.latitude"), std::string::npos);
  EXPECT_DOUBLE_EQ(store.cps["ALC-001"].location().coordinates().latitude(), 38.3528);

  // Naming the coordinates with none removes them.
  updated = update("location.coordinates", common::v1::Location());
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_FALSE(updated->location().has_coordinates());
  EXPECT_FALSE(store.cps["ALC-001"].location().has_coordinates());

  // "location" replaces the whole Location, coordinates included.
  common::v1::Location whole = Valid().location();
  whole.mutable_coordinates()->set_latitude(38.3447);
  updated = update("location", whole);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->location().city(), "Alicante");
  EXPECT_EQ(updated->location().country(), "ES");
  EXPECT_DOUBLE_EQ(updated->location().coordinates().latitude(), 38.3447);
  EXPECT_DOUBLE_EQ(updated->location().coordinates().longitude(), 0);

  absl::Status unknown = update("location.street", whole).status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("location.coordinates"), std::string::npos) << unknown;
}

TEST_F(RegistryTest, EnrolmentIsAuditedWithTheOperator) {
  ASSERT_TRUE(registry.Register(Valid(), op).ok());
  EXPECT_FALSE(registry.Register(Valid(), op).ok());
  std::vector<AuditRecord> records = audit.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].action, "cp_registered");
  EXPECT_EQ(records[0].actor, "admin");
  EXPECT_EQ(records[0].source, "ipv4:127.0.0.1:1");
  EXPECT_EQ(records[1].outcome, "REJECTED");
}

class AccountsTest : public ::testing::Test {
 protected:
  v1::SignUpRequest Ana() {
    v1::SignUpRequest r;
    r.set_username("ana");
    r.set_name("Ana García");
    r.set_email("ana@example.com");
    r.set_password("correct horse 42");
    r.set_password_confirmation("correct horse 42");
    return r;
  }
  v1::VerifyPasswordRequest Login(const std::string& user, const std::string& password) {
    v1::VerifyPasswordRequest r;
    r.set_username(user);
    r.set_password(password);
    return r;
  }

  FakeAccounts store;
  RecordingAuditSink audit;
  FakeClock clock;
  Accounts accounts{store, audit, clock, crypto::ScryptParams{1 << 10, 8, 1}};
  const Caller anonymous = Caller::Anonymous("ipv4:10.0.0.1:5");
};

TEST_F(AccountsTest, SignUpStoresOnlyASaltedHash) {
  auto account = accounts.SignUp(Ana(), anonymous);
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->role(), "driver");
  const std::string& hash = store.accounts["ana"].password_hash;
  EXPECT_EQ(hash.find("correct horse"), std::string::npos);
  EXPECT_EQ(hash.rfind("scrypt$", 0), 0u);
  EXPECT_TRUE(accounts.VerifyPassword(Login("ana", "correct horse 42")).ok());
  EXPECT_TRUE(absl::IsUnauthenticated(accounts.VerifyPassword(Login("ana", "correct horse 43")).status()));
  // Unknown account: the same answer as a wrong password.
  absl::Status unknown = accounts.VerifyPassword(Login("zoe", "correct horse 42")).status();
  EXPECT_TRUE(absl::IsUnauthenticated(unknown));
  EXPECT_EQ(unknown.message(), accounts.VerifyPassword(Login("ana", "nope")).status().message());
}

TEST_F(AccountsTest, PasswordRulesHaveClearMessages) {
  v1::SignUpRequest r = Ana();
  auto expect_refused = [&](const std::string& password, const std::string& words) {
    r.set_password(password);
    r.set_password_confirmation(password);
    absl::Status s = accounts.SignUp(r, anonymous).status();
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << password;
    EXPECT_NE(s.message().find(words), absl::string_view::npos) << s.message();
  };
  expect_refused("short1", "between 10 and 128");
  expect_refused("no digits at all", "one letter and one digit");
  expect_refused("1234567890123", "one letter and one digit");
  expect_refused("xxANA123456", "must not contain the username");
  r = Ana();
  r.set_password_confirmation("something else 1");
  EXPECT_NE(accounts.SignUp(r, anonymous).status().message().find("confirmation"), absl::string_view::npos);
  r = Ana();
  r.set_email("not-an-email");
  EXPECT_TRUE(absl::IsInvalidArgument(accounts.SignUp(r, anonymous).status()));
}

TEST_F(AccountsTest, DuplicateUsernamesAreRejectedWhateverTheCase) {
  ASSERT_TRUE(accounts.SignUp(Ana(), anonymous).ok());
  v1::SignUpRequest again = Ana();
  again.set_username("ANA");
  absl::Status s = accounts.SignUp(again, anonymous).status();
  EXPECT_TRUE(absl::IsAlreadyExists(s));
  EXPECT_NE(s.message().find("taken"), absl::string_view::npos);
}

TEST_F(AccountsTest, OnlyOperatorsCreateOperators) {
  v1::SignUpRequest r = Ana();
  r.set_role("operator");
  EXPECT_TRUE(absl::IsPermissionDenied(accounts.SignUp(r, anonymous).status()));
  EXPECT_TRUE(absl::IsPermissionDenied(accounts.SignUp(r, Caller::Driver("luis")).status()));
  auto created = accounts.SignUp(r, Caller::Operator("admin"));
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->role(), "operator");
}

TEST_F(AccountsTest, ProfileUpdatesNeedTheOwnerAndTheCurrentPassword) {
  ASSERT_TRUE(accounts.SignUp(Ana(), anonymous).ok());
  const Caller ana = Caller::Driver("ana");
  v1::UpdateProfileRequest u;
  u.set_username("ana");
  u.set_name("Ana G.");
  auto renamed = accounts.UpdateProfile(u, ana);
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  EXPECT_EQ(renamed->name(), "Ana G.");
  EXPECT_TRUE(absl::IsPermissionDenied(accounts.UpdateProfile(u, Caller::Driver("luis")).status()));

  u.clear_name();
  u.set_new_password("a new secret 77");
  u.set_new_password_confirmation("a new secret 77");
  u.set_current_password("wrong one 1");
  EXPECT_TRUE(absl::IsPermissionDenied(accounts.UpdateProfile(u, ana).status()));
  u.set_current_password("correct horse 42");
  ASSERT_TRUE(accounts.UpdateProfile(u, ana).ok());
  EXPECT_FALSE(accounts.VerifyPassword(Login("ana", "correct horse 42")).ok());
  EXPECT_TRUE(accounts.VerifyPassword(Login("ana", "a new secret 77")).ok());

  int rejected = 0;
  for (const AuditRecord& a : audit.records()) rejected += a.outcome == "REJECTED";
  EXPECT_EQ(rejected, 2);
}

TEST_F(AccountsTest, DriversRegisterRfidTagsThatResolveToThem) {
  ASSERT_TRUE(accounts.SignUp(Ana(), anonymous).ok());
  const Caller ana = Caller::Driver("ana");
  v1::UpdateProfileRequest u;
  u.set_username("ana");
  u.add_id_tags("04a1b2c3");
  u.add_id_tags("04A1B2C3");  // the same tag: OCPP compares idTags case-insensitively
  u.add_id_tags("fob-7");
  auto tagged = accounts.UpdateProfile(u, ana);
  ASSERT_TRUE(tagged.ok()) << tagged.status();
  EXPECT_THAT(tagged->id_tags(), ::testing::ElementsAre("04A1B2C3", "FOB-7"));
  EXPECT_EQ(accounts.ResolveIdTag("04a1B2c3")->username(), "ana");
  EXPECT_TRUE(absl::IsNotFound(accounts.ResolveIdTag("UNKNOWN1").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(accounts.ResolveIdTag("").status()));

  // A tag already on another account is refused, and audited.
  v1::SignUpRequest luis = Ana();
  luis.set_username("luis");
  ASSERT_TRUE(accounts.SignUp(luis, anonymous).ok());
  v1::UpdateProfileRequest steal;
  steal.set_username("luis");
  steal.add_id_tags("fob-7");
  EXPECT_TRUE(absl::IsAlreadyExists(accounts.UpdateProfile(steal, Caller::Driver("luis")).status()));
  EXPECT_EQ(accounts.ResolveIdTag("FOB-7")->username(), "ana");
  EXPECT_EQ(audit.records().back().outcome, "REJECTED");

  // Naming id_tags in the mask with none given removes them all; a name
  // change alone leaves them.
  v1::UpdateProfileRequest rename;
  rename.set_username("ana");
  rename.set_name("Ana G.");
  EXPECT_EQ(accounts.UpdateProfile(rename, ana)->id_tags_size(), 2);
  v1::UpdateProfileRequest clear;
  clear.set_username("ana");
  clear.mutable_update_mask()->add_paths("id_tags");
  EXPECT_EQ(accounts.UpdateProfile(clear, ana)->id_tags_size(), 0);
  EXPECT_TRUE(absl::IsNotFound(accounts.ResolveIdTag("FOB-7").status()));
}

TEST_F(AccountsTest, RfidTagsAreCheckedAndOnlyForDrivers) {
  ASSERT_TRUE(accounts.SignUp(Ana(), anonymous).ok());
  v1::UpdateProfileRequest u;
  u.set_username("ana");
  for (const char* bad : {"has space", "123456789012345678901", "-lead", "tag\"quote"}) {
    u.clear_id_tags();
    u.add_id_tags(bad);
    absl::Status s = accounts.UpdateProfile(u, Caller::Driver("ana")).status();
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << bad;
    EXPECT_NE(s.message().find("id_tag"), absl::string_view::npos) << s.message();
  }
  u.clear_id_tags();
  for (int i = 0; i < 11; ++i) u.add_id_tags(absl::StrCat("TAG", i));
  EXPECT_NE(accounts.UpdateProfile(u, Caller::Driver("ana")).status().message().find("at most 10"),
            absl::string_view::npos);

  v1::SignUpRequest op = Ana();
  op.set_username("boss");
  op.set_role("operator");
  ASSERT_TRUE(accounts.SignUp(op, Caller::Operator("admin")).ok());
  v1::UpdateProfileRequest tag_operator;
  tag_operator.set_username("boss");
  tag_operator.add_id_tags("OPS1");
  EXPECT_TRUE(absl::IsFailedPrecondition(accounts.UpdateProfile(tag_operator, Caller::Operator("boss")).status()));
  // An operator may set a driver's tags (a fob handed out at a desk).
  v1::UpdateProfileRequest desk;
  desk.set_username("ana");
  desk.add_id_tags("DESK-1");
  EXPECT_TRUE(accounts.UpdateProfile(desk, Caller::Operator("boss")).ok());
}

TEST(SecretHashing, TheCostIsLog2OfNWithinTenToTwenty) {
  auto production = SecretHashing(14);
  ASSERT_TRUE(production.ok()) << production.status();
  EXPECT_EQ(production->n, 1u << 14);
  EXPECT_EQ(SecretHashing(10)->n, 1u << 10);
  EXPECT_EQ(SecretHashing(20)->n, 1u << 20);
  EXPECT_EQ(SecretHashing(9).status(), absl::InvalidArgumentError("must be between 10 and 20"));
  EXPECT_EQ(SecretHashing(21).status(), absl::InvalidArgumentError("must be between 10 and 20"));
}

TEST_F(AccountsTest, NoBootstrapOperatorNamedNoneCreated) {
  EXPECT_TRUE(BootstrapOperator(accounts, "", "/nonexistent/password").ok());
  EXPECT_TRUE(store.accounts.empty());
}

TEST_F(AccountsTest, TheBootstrapOperatorLogsInWithThePasswordInItsFile) {
  const std::string file = ::testing::TempDir() + "/bootstrap.password";
  std::ofstream(file) << "a long admin secret 9\n";
  ASSERT_TRUE(BootstrapOperator(accounts, "root", file).ok());
  ASSERT_EQ(store.accounts.count("root"), 1u);
  EXPECT_EQ(store.accounts["root"].account.role(), kRoleOperator);
  EXPECT_TRUE(accounts.VerifyPassword(Login("root", "a long admin secret 9")).ok());
}

TEST_F(AccountsTest, AnUnreadablePasswordFileNamesTheFlag) {
  absl::Status s = BootstrapOperator(accounts, "root", "/nonexistent/password");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StartsWith(s.message(), "--bootstrap_operator_password_file: ")) << s;
  EXPECT_TRUE(store.accounts.empty());
}

TEST_F(AccountsTest, AWeakBootstrapPasswordIsRefusedAsTheAccountRulesSay) {
  const std::string file = ::testing::TempDir() + "/weak.password";
  std::ofstream(file) << "x\n";
  absl::Status s = BootstrapOperator(accounts, "root", file);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_TRUE(absl::StartsWith(s.message(), "cannot create the bootstrap operator: ")) << s;
}

}  // namespace
}  // namespace evc::registry
