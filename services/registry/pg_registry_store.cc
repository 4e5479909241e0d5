#include "services/registry/pg_registry_store.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "services/common/crypto.h"
#include "services/common/proto_time.h"

namespace evc::registry {
namespace {

constexpr char kCpColumns[] =
    "cp_id, address, city, country, price_millieuros_per_kwh, max_power_w, "
    "extract(epoch from registered_at)::float8, latitude, longitude";

// One coordinate as a column: NULL (both are) when the CP has none.
std::optional<double> Coordinate(const common::v1::ChargingPoint& cp,
                                 double (common::v1::GeoPoint::*axis)() const) {
  if (!cp.location().has_coordinates()) return std::nullopt;
  return (cp.location().coordinates().*axis)();
}

common::v1::ChargingPoint CpFromRow(const pqxx::row& row) {
  common::v1::ChargingPoint cp;
  cp.set_cp_id(row[0].as<std::string>());
  cp.mutable_location()->set_address(row[1].as<std::string>());
  cp.mutable_location()->set_city(row[2].as<std::string>());
  cp.mutable_location()->set_country(row[3].as<std::string>());
  cp.set_price_millieuros_per_kwh(row[4].as<int64_t>());
  cp.set_max_power_w(row[5].as<int64_t>());
  *cp.mutable_registered_at() = ToProto(absl::FromUnixMicros(
      static_cast<int64_t>(row[6].as<double>() * 1e6)));
  if (!row[7].is_null() && !row[8].is_null()) {
    common::v1::GeoPoint& at = *cp.mutable_location()->mutable_coordinates();
    at.set_latitude(row[7].as<double>());
    at.set_longitude(row[8].as<double>());
  }
  return cp;
}

absl::Status NotFound(const std::string& what, const std::string& id) {
  return absl::NotFoundError(absl::StrCat(what, " '", id, "' is not registered"));
}

}  // namespace

absl::Status PgRegistryStore::InsertChargingPoint(const common::v1::ChargingPoint& cp,
                                                  const std::string& secret_hash) {
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "INSERT INTO charging_points (cp_id, address, city, country, price_millieuros_per_kwh,"
        " max_power_w, latitude, longitude) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        cp.cp_id(), PgText(cp.location().address(), 512), PgText(cp.location().city(), 256),
        PgText(cp.location().country(), 64), cp.price_millieuros_per_kwh(), cp.max_power_w(),
        Coordinate(cp, &common::v1::GeoPoint::latitude),
        Coordinate(cp, &common::v1::GeoPoint::longitude));
    tx.exec_params("INSERT INTO cp_credentials (cp_id, secret_hash) VALUES ($1, $2)", cp.cp_id(),
                   secret_hash);
  });
  if (absl::IsAlreadyExists(s)) {
    return absl::AlreadyExistsError(absl::StrCat("charging point '", cp.cp_id(), "' is already registered"));
  }
  return s;
}

absl::Status PgRegistryStore::DeleteChargingPoint(const std::string& cp_id) {
  return pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params("DELETE FROM charging_points WHERE cp_id = $1", cp_id);
    if (r.affected_rows() == 0) throw AbortTransaction(NotFound("charging point", cp_id));
  });
}

absl::Status PgRegistryStore::UpdateChargingPoint(const common::v1::ChargingPoint& cp) {
  return pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "UPDATE charging_points SET address = $2, city = $3, country = $4,"
        " price_millieuros_per_kwh = $5, max_power_w = $6, latitude = $7, longitude = $8"
        " WHERE cp_id = $1",
        cp.cp_id(), PgText(cp.location().address(), 512), PgText(cp.location().city(), 256),
        PgText(cp.location().country(), 64), cp.price_millieuros_per_kwh(), cp.max_power_w(),
        Coordinate(cp, &common::v1::GeoPoint::latitude),
        Coordinate(cp, &common::v1::GeoPoint::longitude));
    if (r.affected_rows() == 0) throw AbortTransaction(NotFound("charging point", cp.cp_id()));
  });
}

absl::StatusOr<common::v1::ChargingPoint> PgRegistryStore::GetChargingPoint(const std::string& cp_id) {
  common::v1::ChargingPoint cp;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT ", kCpColumns, " FROM charging_points WHERE cp_id = $1"), cp_id);
    if (r.empty()) throw AbortTransaction(NotFound("charging point", cp_id));
    cp = CpFromRow(r[0]);
  });
  if (!s.ok()) return s;
  return cp;
}

absl::StatusOr<std::vector<common::v1::ChargingPoint>> PgRegistryStore::ListChargingPoints(
    const std::string& city) {
  std::vector<common::v1::ChargingPoint> out;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT ", kCpColumns,
                     " FROM charging_points WHERE $1 = '' OR lower(city) = lower($1) ORDER BY cp_id"),
        city);
    for (const pqxx::row& row : r) out.push_back(CpFromRow(row));
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status PgRegistryStore::SetSecretHash(const std::string& cp_id, const std::string& secret_hash) {
  return pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "UPDATE cp_credentials SET secret_hash = $2, issued_at = now() WHERE cp_id = $1", cp_id,
        secret_hash);
    if (r.affected_rows() == 0) throw AbortTransaction(NotFound("charging point", cp_id));
  });
}

absl::StatusOr<std::string> PgRegistryStore::GetSecretHash(const std::string& cp_id) {
  std::string hash;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r =
        tx.exec_params("SELECT secret_hash FROM cp_credentials WHERE cp_id = $1", cp_id);
    if (r.empty()) throw AbortTransaction(NotFound("charging point", cp_id));
    hash = r[0][0].as<std::string>();
  });
  if (!s.ok()) return s;
  return hash;
}

absl::Status PgRegistryStore::InsertAccount(const v1::Account& account,
                                            const std::string& password_hash) {
  return pool_.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "INSERT INTO drivers (driver_id, name, email, role, password_hash) VALUES ($1, $2, $3, $4, $5)",
        account.username(), PgText(account.name(), 256), PgText(account.email(), 256), account.role(),
        password_hash);
  });
}

absl::StatusOr<StoredAccount> PgRegistryStore::GetAccount(const std::string& username) {
  StoredAccount stored;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT driver_id, name, email, role, password_hash,"
        "   extract(epoch from created_at)::float8, extract(epoch from updated_at)::float8"
        " FROM drivers WHERE lower(driver_id) = lower($1)",
        username);
    if (r.empty()) throw AbortTransaction(NotFound("account", username));
    v1::Account& a = stored.account;
    a.set_username(r[0][0].as<std::string>());
    a.set_name(r[0][1].as<std::string>());
    a.set_email(r[0][2].as<std::string>());
    a.set_role(r[0][3].as<std::string>());
    stored.password_hash = r[0][4].as<std::string>();
    *a.mutable_created_at() = ToProto(PgFromEpoch(r[0][5].as<double>()));
    *a.mutable_updated_at() = ToProto(PgFromEpoch(r[0][6].as<double>()));
    for (const pqxx::row& tag : tx.exec_params(
             "SELECT id_tag FROM driver_id_tags WHERE driver_id = $1 ORDER BY added_at, id_tag", a.username())) {
      a.add_id_tags(tag[0].as<std::string>());
    }
  });
  if (!s.ok()) return s;
  return stored;
}

absl::Status PgRegistryStore::UpdateAccount(const StoredAccount& stored) {
  return pool_.Transact([&](pqxx::work& tx) {
    const v1::Account& a = stored.account;
    pqxx::result r = tx.exec_params(
        "UPDATE drivers SET name = $2, email = $3, role = $4, password_hash = $5, updated_at = now()"
        " WHERE driver_id = $1",
        a.username(), PgText(a.name(), 256), PgText(a.email(), 256), a.role(), stored.password_hash);
    if (r.affected_rows() == 0) throw AbortTransaction(NotFound("account", a.username()));
    ReplaceIdTags(tx, a);
  });
}

// Tags kept keep their added_at; a tag of another account is refused whole
// (the transaction rolls back).
void PgRegistryStore::ReplaceIdTags(pqxx::work& tx, const v1::Account& account) {
  std::string kept = "{";
  for (const std::string& tag : account.id_tags()) {
    // One statement: two accounts adding the same tag at once cannot both get
    // it (the second waits on the unique index, then finds the first's row).
    pqxx::result mine = tx.exec_params(
        "INSERT INTO driver_id_tags (id_tag, driver_id) VALUES ($1, $2)"
        " ON CONFLICT (id_tag) DO UPDATE SET driver_id = driver_id_tags.driver_id"
        " WHERE driver_id_tags.driver_id = EXCLUDED.driver_id RETURNING 1",
        tag, account.username());
    if (mine.empty()) {
      throw AbortTransaction(absl::AlreadyExistsError(
          absl::StrCat("id_tag '", tag, "' is registered to another account")));
    }
    absl::StrAppend(&kept, kept.size() > 1 ? "," : "", tag);  // tags hold no quote, comma or brace
  }
  kept += "}";
  tx.exec_params("DELETE FROM driver_id_tags WHERE driver_id = $1 AND NOT (id_tag = ANY($2::text[]))",
                 account.username(), kept);
}

absl::StatusOr<std::string> PgRegistryStore::AccountOfIdTag(const std::string& id_tag) {
  std::string username;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params("SELECT driver_id FROM driver_id_tags WHERE id_tag = $1", id_tag);
    if (r.empty()) throw AbortTransaction(absl::NotFoundError(absl::StrCat("id_tag '", id_tag, "' is not registered")));
    username = r[0][0].as<std::string>();
  });
  if (!s.ok()) return s;
  return username;
}

absl::StatusOr<SigningKey> PgRegistryStore::EventSigningKey(const std::string& owner) {
  const crypto::Ed25519KeyPair fresh = crypto::NewEd25519KeyPair();
  SigningKey key;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "INSERT INTO event_signing_keys (owner, key_id, private_key, public_key)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (owner) DO NOTHING",
        owner, crypto::RandomId(), pqxx::binarystring(fresh.private_key),
        pqxx::binarystring(fresh.public_key));
    pqxx::row row =
        tx.exec_params1("SELECT key_id, private_key FROM event_signing_keys WHERE owner = $1", owner);
    key = {row[0].as<std::string>(), pqxx::binarystring(row[1]).str()};
  });
  if (!s.ok()) return s;
  return key;
}

}  // namespace evc::registry
