// The registry's store against a private Postgres (`evc _pg`): what the SQL
// stores and reads back, coordinates above all (nullable columns with range
// and pairing checks of their own, sql/012_cp_coordinates.sql), and drivers'
// RFID tags.

#include "services/registry/pg_registry_store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>

#include "tests/integration/test_postgres.h"

namespace evc::registry {
namespace {

class PgRegistryStoreTest : public testing::PostgresSuite<PgRegistryStoreTest> {
 public:
  static constexpr char kPostgresName[] = "pg-registry";

 protected:
  void SetUp() override {
    PostgresSuite::SetUp();
    if (HasFatalFailure()) return;
    store_.emplace(pool());
    ASSERT_TRUE(Sql("DELETE FROM charging_points").ok());
  }

  static common::v1::ChargingPoint Cp(const std::string& id) {
    common::v1::ChargingPoint cp;
    cp.set_cp_id(id);
    cp.mutable_location()->set_address("Av. de la Estación 5");
    cp.mutable_location()->set_city("Alicante");
    cp.mutable_location()->set_country("ES");
    cp.set_price_millieuros_per_kwh(350);
    cp.set_max_power_w(22000);
    return cp;
  }
  static common::v1::ChargingPoint At(common::v1::ChargingPoint cp, double latitude, double longitude) {
    cp.mutable_location()->mutable_coordinates()->set_latitude(latitude);
    cp.mutable_location()->mutable_coordinates()->set_longitude(longitude);
    return cp;
  }
  static absl::Status Sql(const std::string& statement) {
    return pool().Transact([&](pqxx::work& tx) { tx.exec(statement); });
  }

  std::optional<PgRegistryStore> store_;  // once SetUp found the database
};

TEST_F(PgRegistryStoreTest, CoordinatesAreStoredExactlyAndAbsentWhenNotGiven) {
  ASSERT_TRUE(store_->InsertChargingPoint(At(Cp("ALC-001"), 38.3447, -0.4917), "hash").ok());
  ASSERT_TRUE(store_->InsertChargingPoint(Cp("ALC-002"), "hash").ok());
  auto located = store_->GetChargingPoint("ALC-001");
  ASSERT_TRUE(located.ok()) << located.status();
  ASSERT_TRUE(located->location().has_coordinates());
  EXPECT_EQ(located->location().coordinates().latitude(), 38.3447);
  EXPECT_EQ(located->location().coordinates().longitude(), -0.4917);
  EXPECT_EQ(located->location().city(), "Alicante");
  auto list = store_->ListChargingPoints("alicante");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].location().coordinates().longitude(), -0.4917);
  EXPECT_FALSE((*list)[1].location().has_coordinates()) << (*list)[1].DebugString();
}

TEST_F(PgRegistryStoreTest, AnUpdateSetsMovesAndRemovesCoordinates) {
  ASSERT_TRUE(store_->InsertChargingPoint(Cp("ALC-001"), "hash").ok());
  ASSERT_TRUE(store_->UpdateChargingPoint(At(Cp("ALC-001"), -90, 180)).ok());
  auto cp = store_->GetChargingPoint("ALC-001");
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->location().coordinates().latitude(), -90);
  EXPECT_EQ(cp->location().coordinates().longitude(), 180);
  // (0, 0) is a place (off Africa), not "none".
  ASSERT_TRUE(store_->UpdateChargingPoint(At(Cp("ALC-001"), 0, 0)).ok());
  EXPECT_TRUE(store_->GetChargingPoint("ALC-001")->location().has_coordinates());
  ASSERT_TRUE(store_->UpdateChargingPoint(Cp("ALC-001")).ok());
  EXPECT_FALSE(store_->GetChargingPoint("ALC-001")->location().has_coordinates());
}

TEST_F(PgRegistryStoreTest, TheDatabaseRefusesCoordinatesOffTheMapOrHalfGiven) {
  // The registry checks first; the columns hold the same rule for any other writer.
  EXPECT_FALSE(store_->InsertChargingPoint(At(Cp("ALC-001"), 90.5, 0), "hash").ok());
  EXPECT_FALSE(store_->InsertChargingPoint(At(Cp("ALC-001"), 0, -181), "hash").ok());
  EXPECT_FALSE(store_->InsertChargingPoint(At(Cp("ALC-001"), std::nan(""), 0), "hash").ok());
  ASSERT_TRUE(store_->InsertChargingPoint(At(Cp("ALC-001"), 38.3447, -0.4917), "hash").ok());
  EXPECT_FALSE(Sql("UPDATE charging_points SET longitude = NULL").ok());
  EXPECT_EQ(store_->GetChargingPoint("ALC-001")->location().coordinates().longitude(), -0.4917);
}

// RFID tags (sql/013_driver_id_tags.sql): each on one account, replaced as a
// set, resolved to their account.
TEST_F(PgRegistryStoreTest, IdTagsBelongToOneAccountAndAreReplacedAsASet) {
  ASSERT_TRUE(Sql("DELETE FROM driver_id_tags; DELETE FROM drivers WHERE driver_id IN ('tag-ana', 'tag-luis')").ok());
  for (const char* name : {"tag-ana", "tag-luis"}) {
    v1::Account a;
    a.set_username(name);
    a.set_name(name);
    a.set_email(std::string(name) + "@example.com");
    a.set_role("driver");
    ASSERT_TRUE(store_->InsertAccount(a, "hash").ok());
  }
  auto ana = store_->GetAccount("tag-ana");
  ASSERT_TRUE(ana.ok()) << ana.status();
  ana->account.add_id_tags("04A1B2C3");
  ana->account.add_id_tags("FOB-7");
  ASSERT_TRUE(store_->UpdateAccount(*ana).ok());
  EXPECT_EQ(*store_->AccountOfIdTag("FOB-7"), "tag-ana");
  auto luis = store_->GetAccount("tag-luis");
  ASSERT_TRUE(luis.ok());
  luis->account.add_id_tags("LUIS-1");
  luis->account.add_id_tags("FOB-7");  // Ana's
  absl::Status taken = store_->UpdateAccount(*luis);
  EXPECT_TRUE(absl::IsAlreadyExists(taken)) << taken;
  EXPECT_TRUE(absl::IsNotFound(store_->AccountOfIdTag("LUIS-1").status())) << "the refused update left nothing";
  EXPECT_EQ(store_->GetAccount("tag-luis")->account.id_tags_size(), 0);
  // Replaced as a set: one kept, one dropped, one added.
  ana->account.clear_id_tags();
  ana->account.add_id_tags("FOB-7");
  ana->account.add_id_tags("NEW-9");
  ASSERT_TRUE(store_->UpdateAccount(*ana).ok());
  auto reread = store_->GetAccount("tag-ana");
  ASSERT_TRUE(reread.ok());
  EXPECT_EQ(reread->account.id_tags_size(), 2);
  EXPECT_TRUE(absl::IsNotFound(store_->AccountOfIdTag("04A1B2C3").status()));
  EXPECT_EQ(*store_->AccountOfIdTag("NEW-9"), "tag-ana");
  // The dropped tag is free for another account now.
  luis->account.clear_id_tags();
  luis->account.add_id_tags("04A1B2C3");
  ASSERT_TRUE(store_->UpdateAccount(*luis).ok());
  EXPECT_EQ(*store_->AccountOfIdTag("04A1B2C3"), "tag-luis");
}

}  // namespace
}  // namespace evc::registry
