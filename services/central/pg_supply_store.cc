#include "services/central/pg_supply_store.h"

#include <google/protobuf/util/json_util.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/central/pg_leadership.h"
#include "services/common/audit.h"
#include "services/common/proto_time.h"

namespace evc::central {
namespace {

std::string PhaseName(common::v1::SupplyPhase p) { return common::v1::SupplyPhase_Name(p); }

constexpr char kTicketColumns[] =
    "supply_id, cp_id, driver_id, extract(epoch from started_at)::float8,"
    " extract(epoch from ended_at)::float8, energy_wh, amount_millieuros,"
    " price_millieuros_per_kwh, end_reason";

common::v1::Ticket TicketFromRow(const pqxx::row& r) {
  common::v1::Ticket t;
  t.set_supply_id(r[0].as<std::string>());
  t.set_cp_id(r[1].as<std::string>());
  t.set_driver_id(r[2].as<std::string>());
  *t.mutable_started_at() = ToProto(PgFromEpoch(r[3].as<double>()));
  *t.mutable_ended_at() = ToProto(PgFromEpoch(r[4].as<double>()));
  t.set_energy_wh(r[5].as<int64_t>());
  t.set_amount_millieuros(r[6].as<int64_t>());
  t.set_price_millieuros_per_kwh(r[7].as<int64_t>());
  common::v1::EndReason reason;
  if (common::v1::EndReason_Parse(r[8].as<std::string>(), &reason)) t.set_end_reason(reason);
  return t;
}

// Each writer below is one statement per batch, whatever its size: a flush
// costs a handful of round trips, not one per row. A supply whose ticket is in
// the same batch is inserted closed: inserting it open could meet its CP's
// next supply from the same batch on the one-open-supply-per-CP index.
void WriteOpened(pqxx::work& tx, const std::vector<SupplyRecord>& opened,
                 const std::vector<common::v1::Ticket>& tickets) {
  if (opened.empty()) return;
  absl::flat_hash_map<std::string, const common::v1::Ticket*> ticket_of;
  for (const common::v1::Ticket& t : tickets) ticket_of[t.supply_id()] = &t;
  std::vector<std::string> ids, cps, drivers, requests, phases, reasons;
  std::vector<int64_t> prices, energy;
  std::vector<double> authorized, ended;
  for (const SupplyRecord& s : opened) {
    auto t = ticket_of.find(s.supply_id);
    const common::v1::Ticket* ticket = t == ticket_of.end() ? nullptr : t->second;
    ids.push_back(s.supply_id);
    cps.push_back(s.cp_id);
    drivers.push_back(s.driver_id);
    requests.push_back(PgText(s.request_id, 256));
    phases.push_back(ticket ? PhaseName(common::v1::SUPPLY_PHASE_ENDED) : PhaseName(s.phase));
    prices.push_back(s.price_millieuros_per_kwh);
    authorized.push_back(PgEpoch(s.authorized_at));
    ended.push_back(ticket ? PgEpoch(FromProto(ticket->ended_at())) : 0);
    energy.push_back(ticket ? ticket->energy_wh() : s.energy_wh);
    reasons.push_back(ticket ? common::v1::EndReason_Name(ticket->end_reason()) : "");
  }
  tx.exec_params(
      "INSERT INTO supplies (supply_id, cp_id, driver_id, request_id, price_millieuros_per_kwh,"
      " phase, authorized_at, ended_at, energy_wh, end_reason)"
      " SELECT u.id, u.cp, u.driver, u.request, u.price, u.phase, to_timestamp(u.authorized),"
      "   CASE WHEN u.ended > 0 THEN to_timestamp(u.ended) END, u.energy, NULLIF(u.reason, '')"
      " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[],"
      "   $7::float8[], $8::float8[], $9::bigint[], $10::text[])"
      "   AS u(id, cp, driver, request, price, phase, authorized, ended, energy, reason)"
      " ON CONFLICT (supply_id) DO NOTHING",
      PgTextArray(ids), PgTextArray(cps), PgTextArray(drivers), PgTextArray(requests),
      PgNumArray(prices), PgTextArray(phases), PgNumArray(authorized), PgNumArray(ended),
      PgNumArray(energy), PgTextArray(reasons));
}

// Progress of many supplies in one statement, and one telemetry sample each.
void WriteChanged(pqxx::work& tx, const std::vector<SupplyRecord>& changed, absl::Time now) {
  if (changed.empty()) return;
  std::vector<std::string> ids, phases, stop_reasons;
  std::vector<double> started;
  std::vector<int64_t> energy, power, seq, meter_start;
  for (const SupplyRecord& s : changed) {
    meter_start.push_back(s.meter_start_wh);
    ids.push_back(s.supply_id);
    phases.push_back(PhaseName(s.phase));
    stop_reasons.push_back(s.stop_reason == common::v1::END_REASON_UNSPECIFIED
                               ? ""
                               : common::v1::EndReason_Name(s.stop_reason));
    started.push_back(s.started_at == absl::InfinitePast() ? 0 : PgEpoch(s.started_at));
    energy.push_back(s.energy_wh);
    power.push_back(s.power_w);
    seq.push_back(static_cast<int64_t>(s.last_seq));
  }
  tx.exec_params(
      // A supply closed earlier in this transaction (closes come first, see Write) keeps
      // its ticket's phase and energy but still takes the telemetry it applied.
      "UPDATE supplies AS s SET"
      " phase = CASE WHEN s.ended_at IS NULL THEN u.phase ELSE s.phase END,"
      " energy_wh = CASE WHEN s.ended_at IS NULL THEN u.energy ELSE s.energy_wh END,"
      " power_w = CASE WHEN s.ended_at IS NULL THEN u.power ELSE s.power_w END,"
      " last_seq = greatest(s.last_seq, u.seq),"
      " stop_reason = coalesce(nullif(u.stop_reason, ''), s.stop_reason),"
      " started_at = CASE WHEN u.started > 0 AND (s.ended_at IS NULL OR s.started_at IS NULL)"
      "   THEN to_timestamp(u.started) ELSE s.started_at END,"
      " meter_start_wh = greatest(s.meter_start_wh, u.meter_start)"
      " FROM unnest($1::text[], $2::text[], $3::float8[], $4::bigint[], $5::bigint[], $6::bigint[],"
      "   $7::text[], $8::bigint[]) AS u(id, phase, started, energy, power, seq, stop_reason, meter_start)"
      " WHERE s.supply_id = u.id",
      PgTextArray(ids), PgTextArray(phases), PgNumArray(started), PgNumArray(energy),
      PgNumArray(power), PgNumArray(seq), PgTextArray(stop_reasons), PgNumArray(meter_start));
  tx.exec_params(
      "INSERT INTO supply_telemetry (supply_id, seq, at, energy_wh, power_w)"
      " SELECT u.id, u.seq, to_timestamp($5), u.energy, u.power"
      " FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS u(id, seq, energy, power)"
      " WHERE u.seq > 0 ON CONFLICT DO NOTHING",
      PgTextArray(ids), PgNumArray(seq), PgNumArray(energy), PgNumArray(power), PgEpoch(now));
}

struct TicketColumns {
  std::vector<std::string> ids, cps, drivers, reasons;
  std::vector<double> started, ended;
  std::vector<int64_t> energy, amount, price;
  explicit TicketColumns(const std::vector<common::v1::Ticket>& tickets) {
    for (const common::v1::Ticket& t : tickets) {
      ids.push_back(t.supply_id());
      cps.push_back(t.cp_id());
      drivers.push_back(t.driver_id());
      reasons.push_back(common::v1::EndReason_Name(t.end_reason()));
      started.push_back(PgEpoch(FromProto(t.started_at())));
      ended.push_back(PgEpoch(FromProto(t.ended_at())));
      energy.push_back(t.energy_wh());
      amount.push_back(t.amount_millieuros());
      price.push_back(t.price_millieuros_per_kwh());
    }
  }
};

// Before any supply of the batch opens (see WriteOpened).
void CloseSupplies(pqxx::work& tx, const TicketColumns& c) {
  if (c.ids.empty()) return;
  tx.exec_params(
      "UPDATE supplies AS s SET phase = 'SUPPLY_PHASE_ENDED', ended_at = to_timestamp(u.ended),"
      " energy_wh = u.energy, end_reason = u.reason"
      " FROM unnest($1::text[], $2::float8[], $3::bigint[], $4::text[]) AS u(id, ended, energy, reason)"
      " WHERE s.supply_id = u.id",
      PgTextArray(c.ids), PgNumArray(c.ended), PgNumArray(c.energy), PgTextArray(c.reasons));
}

void InsertTickets(pqxx::work& tx, const TicketColumns& c) {
  if (c.ids.empty()) return;
  // The primary key makes a second ticket for a supply impossible.
  tx.exec_params(
      "INSERT INTO tickets (supply_id, cp_id, driver_id, started_at, ended_at, energy_wh,"
      " amount_millieuros, price_millieuros_per_kwh, end_reason)"
      " SELECT u.id, u.cp, u.driver, to_timestamp(u.started), to_timestamp(u.ended), u.energy,"
      "   u.amount, u.price, u.reason"
      " FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::bigint[],"
      "   $7::bigint[], $8::bigint[], $9::text[])"
      "   AS u(id, cp, driver, started, ended, energy, amount, price, reason)"
      " ON CONFLICT (supply_id) DO NOTHING",
      PgTextArray(c.ids), PgTextArray(c.cps), PgTextArray(c.drivers), PgNumArray(c.started),
      PgNumArray(c.ended), PgNumArray(c.energy), PgNumArray(c.amount), PgNumArray(c.price),
      PgTextArray(c.reasons));
}

// Holds change rarely (operator commands, weather alerts): one statement each,
// in order, so an add and a lift of the same hold in one batch end right.
void WriteHolds(pqxx::work& tx, const std::vector<HoldChange>& holds) {
  for (const HoldChange& h : holds) {
    const std::string reason = common::v1::HoldReason_Name(h.reason);
    if (h.held) {
      tx.exec_params(
          "INSERT INTO cp_holds (cp_id, reason, detail, since) VALUES ($1, $2, $3, to_timestamp($4))"
          " ON CONFLICT (cp_id, reason) DO UPDATE SET detail = excluded.detail, since = excluded.since",
          PgText(h.cp_id, 256), reason, PgText(h.detail, 512), PgEpoch(h.since));
    } else {
      tx.exec_params("DELETE FROM cp_holds WHERE cp_id = $1 AND reason = $2", PgText(h.cp_id, 256),
                     reason);
    }
  }
}

// Queue rows (issue 20): one per queued driver, in the order they changed.
void WriteQueue(pqxx::work& tx, const std::vector<QueueChange>& queue) {
  for (const QueueChange& q : queue) {
    const QueueEntry& e = q.entry;
    if (q.removed) {
      tx.exec_params("DELETE FROM central_queue WHERE driver_id = $1", PgText(e.driver_id, 256));
      continue;
    }
    const bool offered = !e.offered_cp.empty();
    tx.exec_params(
        "INSERT INTO central_queue (driver_id, city, address, joined_at, requested_energy_wh,"
        " offered_cp, offer_expires_at)"
        " VALUES ($1, $2, $3, to_timestamp($4), $5, $6, CASE WHEN $7 THEN to_timestamp($8) END)"
        " ON CONFLICT (driver_id) DO UPDATE SET city = excluded.city, address = excluded.address,"
        " joined_at = excluded.joined_at, requested_energy_wh = excluded.requested_energy_wh,"
        " offered_cp = excluded.offered_cp, offer_expires_at = excluded.offer_expires_at",
        PgText(e.driver_id, 256), PgText(e.city, 256), PgText(e.address, 256),
        PgEpoch(e.joined_at), e.requested_energy_wh, PgText(e.offered_cp, 256), offered,
        offered ? PgEpoch(e.offer_expires_at) : 0.0);
  }
}

}  // namespace

absl::Status PgSupplyStore::Write(const JournalBatch& batch) {
  const TicketColumns tickets(batch.tickets);
  return pool_.Transact([&](pqxx::work& tx) {
    CheckLeaderFence(tx, fence_);
    CloseSupplies(tx, tickets);
    WriteOpened(tx, batch.opened, batch.tickets);
    WriteChanged(tx, batch.changed, absl::Now());
    InsertTickets(tx, tickets);
    WriteAuditRows(tx, batch.audit);
    WriteHolds(tx, batch.holds);
    WriteQueue(tx, batch.queue);
    if (!batch.published_tickets.empty()) {
      tx.exec_params("UPDATE tickets SET published_at = now() WHERE supply_id = ANY($1::text[])",
                     PgTextArray(batch.published_tickets));
    }
  });
}

absl::Status PgSupplyStore::Quarantine(const QuarantinedRow& row) {
  return WriteQuarantine(pool_, row);
}

absl::StatusOr<std::vector<SupplyRecord>> PgSupplyStore::LoadOpenSupplies() {
  std::vector<SupplyRecord> out;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec(
        "SELECT supply_id, cp_id, driver_id, request_id, price_millieuros_per_kwh, phase,"
        " extract(epoch from authorized_at)::float8,"
        " coalesce(extract(epoch from started_at)::float8, 0), energy_wh, power_w, last_seq,"
        " coalesce(stop_reason, ''), meter_start_wh"
        " FROM supplies WHERE ended_at IS NULL");
    for (const pqxx::row& row : r) {
      SupplyRecord rec;
      rec.supply_id = row[0].as<std::string>();
      rec.cp_id = row[1].as<std::string>();
      rec.driver_id = row[2].as<std::string>();
      rec.request_id = row[3].as<std::string>();
      rec.price_millieuros_per_kwh = row[4].as<int64_t>();
      common::v1::SupplyPhase phase;
      rec.phase = common::v1::SupplyPhase_Parse(row[5].as<std::string>(), &phase)
                      ? phase
                      : common::v1::SUPPLY_PHASE_CHARGING;
      rec.authorized_at = PgFromEpoch(row[6].as<double>());
      double started = row[7].as<double>();
      rec.started_at = started > 0 ? PgFromEpoch(started) : absl::InfinitePast();
      rec.energy_wh = row[8].as<int64_t>();
      rec.power_w = row[9].as<int64_t>();
      rec.last_seq = static_cast<uint64_t>(row[10].as<int64_t>());
      common::v1::EndReason stop_reason;
      if (common::v1::EndReason_Parse(row[11].as<std::string>(), &stop_reason)) {
        rec.stop_reason = stop_reason;
      }
      rec.meter_start_wh = row[12].as<int64_t>();
      out.push_back(std::move(rec));
    }
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<common::v1::Ticket>> PgSupplyStore::LoadUnpublishedTickets() {
  std::vector<common::v1::Ticket> out;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec(absl::StrCat("SELECT ", kTicketColumns,
                                          " FROM tickets WHERE published_at IS NULL ORDER BY ended_at"));
    for (const pqxx::row& row : r) out.push_back(TicketFromRow(row));
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<QueueEntry>> PgSupplyStore::LoadQueue() {
  std::vector<QueueEntry> out;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec(
        "SELECT driver_id, city, address, extract(epoch from joined_at)::float8,"
        " requested_energy_wh, offered_cp, coalesce(extract(epoch from offer_expires_at)::float8, 0)"
        " FROM central_queue ORDER BY joined_at, driver_id");
    for (const pqxx::row& row : r) {
      QueueEntry e;
      e.driver_id = row[0].as<std::string>();
      e.city = row[1].as<std::string>();
      e.address = row[2].as<std::string>();
      e.joined_at = PgFromEpoch(row[3].as<double>());
      e.requested_energy_wh = row[4].as<int64_t>();
      e.offered_cp = row[5].as<std::string>();
      if (!e.offered_cp.empty()) e.offer_expires_at = PgFromEpoch(row[6].as<double>());
      out.push_back(std::move(e));
    }
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<HoldChange>> PgSupplyStore::LoadHolds() {
  std::vector<HoldChange> out;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec(
        "SELECT cp_id, reason, detail, extract(epoch from since)::float8 FROM cp_holds ORDER BY cp_id");
    for (const pqxx::row& row : r) {
      HoldChange h;
      h.cp_id = row[0].as<std::string>();
      if (!common::v1::HoldReason_Parse(row[1].as<std::string>(), &h.reason)) continue;
      h.held = true;
      h.detail = row[2].as<std::string>();
      h.since = PgFromEpoch(row[3].as<double>());
      out.push_back(std::move(h));
    }
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status PgSupplyStore::SaveSiteCap(const std::string& site_key, const SiteCap& cap,
                                        const std::string& actor) {
  return pool_.Transact([&](pqxx::work& tx) {
    CheckLeaderFence(tx, fence_);
    if (cap.cap_w <= 0) {
      tx.exec_params("DELETE FROM site_power_caps WHERE site_key = $1", PgText(site_key, 1024));
      return;
    }
    tx.exec_params(
        "INSERT INTO site_power_caps (site_key, address, city, cap_w, updated_by) VALUES"
        " ($1, $2, $3, $4, $5) ON CONFLICT (site_key) DO UPDATE SET address = excluded.address,"
        " city = excluded.city, cap_w = excluded.cap_w, updated_by = excluded.updated_by,"
        " updated_at = now()",
        PgText(site_key, 1024), PgText(cap.address, 512), PgText(cap.city, 256), cap.cap_w,
        PgText(actor, 256));
  });
}

absl::StatusOr<std::vector<SiteCap>> PgSupplyStore::LoadSiteCaps() {
  std::vector<SiteCap> out;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec("SELECT address, city, cap_w FROM site_power_caps ORDER BY site_key");
    for (const pqxx::row& row : r) {
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<int64_t>()});
    }
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status PgSupplyStore::SaveConfig(const central::v1::CentralConfig& config,
                                       const std::string& actor) {
  central::v1::CentralConfig settings = config;
  settings.clear_updated_at();
  settings.clear_updated_by();
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(settings, &json).ok()) {
    return absl::InternalError("cannot encode central's configuration");
  }
  return pool_.Transact([&](pqxx::work& tx) {
    CheckLeaderFence(tx, fence_);
    tx.exec_params(
        "INSERT INTO central_config (id, config, updated_by) VALUES (TRUE, $1::jsonb, $2)"
        " ON CONFLICT (id) DO UPDATE SET config = excluded.config,"
        " updated_by = excluded.updated_by, updated_at = now()",
        json, PgText(actor, 256));
  });
}

absl::StatusOr<std::optional<central::v1::CentralConfig>> PgSupplyStore::LoadConfig() {
  std::optional<std::string> json;
  std::string updated_by;
  absl::Time updated_at;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec(
        "SELECT config::text, updated_by, extract(epoch from updated_at)::float8 FROM central_config");
    if (r.empty()) return;
    json = r[0][0].as<std::string>();
    updated_by = r[0][1].as<std::string>();
    updated_at = PgFromEpoch(r[0][2].as<double>());
  });
  if (!s.ok()) return s;
  if (!json) return std::optional<central::v1::CentralConfig>();
  central::v1::CentralConfig config;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // written by a newer release
  if (!google::protobuf::util::JsonStringToMessage(*json, &config, options).ok()) {
    return absl::DataLossError("central_config holds a configuration that does not parse");
  }
  config.set_updated_by(updated_by);
  *config.mutable_updated_at() = ToProto(updated_at);
  return std::optional<central::v1::CentralConfig>(std::move(config));
}

absl::StatusOr<std::optional<common::v1::Ticket>> PgSupplyStore::GetTicket(
    const std::string& supply_id) {
  std::optional<common::v1::Ticket> out;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT ", kTicketColumns, " FROM tickets WHERE supply_id = $1"), supply_id);
    if (!r.empty()) out = TicketFromRow(r[0]);
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<common::v1::Ticket>> PgSupplyStore::ListTickets(
    const std::string& driver_id, const std::string& cp_id, int limit) {
  std::vector<common::v1::Ticket> out;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT ", kTicketColumns,
                     " FROM tickets WHERE ($1 = '' OR driver_id = $1) AND ($2 = '' OR cp_id = $2)"
                     " ORDER BY ended_at DESC LIMIT $3"),
        driver_id, cp_id, limit);
    for (const pqxx::row& row : r) out.push_back(TicketFromRow(row));
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace evc::central
