#include "services/central/journal.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/backoff.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/common/postgres.h"

namespace evc::central {
namespace {

nlohmann::json SupplyJson(const SupplyRecord& s) {
  return {{"supply_id", s.supply_id},
          {"cp_id", s.cp_id},
          {"driver_id", s.driver_id},
          {"request_id", s.request_id},
          {"phase", common::v1::SupplyPhase_Name(s.phase)},
          {"authorized_at", absl::FormatTime(s.authorized_at)},
          {"energy_wh", s.energy_wh},
          {"price_millieuros_per_kwh", s.price_millieuros_per_kwh},
          {"last_seq", s.last_seq}};
}

nlohmann::json MessageJson(const google::protobuf::Message& m) {
  std::string text;
  if (!google::protobuf::util::MessageToJsonString(m, &text).ok()) return m.ShortDebugString();
  return nlohmann::json::parse(text, nullptr, false);
}

// What an operator reads in journal_quarantine for a refused unit.
QuarantinedRow DescribeUnit(const JournalBatch& u, const absl::Status& why) {
  QuarantinedRow row;
  row.service = "central";
  row.error = why.ToString();
  row.at = absl::Now();
  nlohmann::json& p = row.payload;
  p = nlohmann::json::object();
  for (const auto& s : u.opened) p["opened"].push_back(SupplyJson(s));
  for (const auto& s : u.changed) p["changed"].push_back(SupplyJson(s));
  for (const auto& t : u.tickets) p["tickets"].push_back(MessageJson(t));
  for (const auto& a : u.audit) p["audit"].push_back(AuditRecordJson(a));
  for (const auto& h : u.holds) {
    p["holds"].push_back({{"cp_id", h.cp_id},
                          {"reason", common::v1::HoldReason_Name(h.reason)},
                          {"held", h.held},
                          {"detail", h.detail},
                          {"since", absl::FormatTime(h.since)}});
  }
  for (const auto& q : u.queue) {
    p["queue"].push_back({{"driver_id", q.entry.driver_id},
                          {"city", q.entry.city},
                          {"address", q.entry.address},
                          {"offered_cp", q.entry.offered_cp},
                          {"removed", q.removed}});
  }
  for (const auto& id : u.published_tickets) p["published_tickets"].push_back(id);
  if (!u.tickets.empty()) {
    row.kind = "ticket";
    row.cp_id = u.tickets[0].cp_id();
  } else if (!u.opened.empty() || !u.changed.empty()) {
    row.kind = "supply";
    row.cp_id = u.opened.empty() ? u.changed[0].cp_id : u.opened[0].cp_id;
  } else if (!u.audit.empty()) {
    row.kind = "audit";
    row.cp_id = u.audit[0].cp_id;
  } else if (!u.holds.empty()) {
    row.kind = "hold";
    row.cp_id = u.holds[0].cp_id;
  } else if (!u.queue.empty()) {
    row.kind = "queue";
    row.cp_id = u.queue[0].entry.offered_cp;
  } else {
    row.kind = "outbox_mark";
  }
  return row;
}

prometheus::Counter& QuarantinedCounter() {
  static auto& c = prometheus::BuildCounter()
                       .Name("evc_journal_quarantined_total")
                       .Help(
                           "Journal rows Postgres refused for their data, quarantined so the "
                           "rest of their batch committed")
                       .Register(metrics::Registry())
                       .Add({});
  return c;
}

prometheus::Gauge& AvailableGauge() {
  static auto& g = prometheus::BuildGauge()
                       .Name("evc_journal_database_available")
                       .Help(
                           "1 while central's journal writes go through, 0 while the database "
                           "is not accepting them (retried, callers told UNAVAILABLE)")
                       .Register(metrics::Registry())
                       .Add({});
  return g;
}

}  // namespace

std::vector<JournalBatch> SplitJournalBatch(JournalBatch b) {
  std::vector<JournalBatch> units;
  absl::flat_hash_map<std::string, size_t> unit_of;
  auto supply_unit = [&](const std::string& id) -> JournalBatch& {
    auto [it, fresh] = unit_of.try_emplace(id, units.size());
    if (fresh) units.emplace_back();
    return units[it->second];
  };
  for (auto& t : b.tickets) supply_unit(t.supply_id()).tickets.push_back(std::move(t));
  for (auto& s : b.opened) supply_unit(s.supply_id).opened.push_back(std::move(s));
  for (auto& s : b.changed) supply_unit(s.supply_id).changed.push_back(std::move(s));
  for (auto& a : b.audit) units.emplace_back().audit.push_back(std::move(a));
  for (auto& h : b.holds) units.emplace_back().holds.push_back(std::move(h));
  for (auto& q : b.queue) units.emplace_back().queue.push_back(std::move(q));
  for (auto& id : b.published_tickets) {
    auto it = unit_of.find(id);
    (it == unit_of.end() ? units.emplace_back() : units[it->second])
        .published_tickets.push_back(id);
  }
  return units;
}

JournalBatch JoinJournalBatches(std::vector<JournalBatch>::iterator begin,
                                std::vector<JournalBatch>::iterator end) {
  JournalBatch out;
  auto append = [](auto& to, const auto& from) { to.insert(to.end(), from.begin(), from.end()); };
  for (auto it = begin; it != end; ++it) {
    append(out.opened, it->opened);
    append(out.changed, it->changed);
    append(out.tickets, it->tickets);
    append(out.audit, it->audit);
    append(out.holds, it->holds);
    append(out.queue, it->queue);
    append(out.published_tickets, it->published_tickets);
  }
  return out;
}

Journal::Journal(SupplyStore& store, absl::Duration progress_interval, absl::Duration stop_timeout)
    : store_(store),
      progress_interval_(progress_interval),
      stop_timeout_(stop_timeout),
      thread_([this] { Loop(); }) {
  AvailableGauge().Set(1);
}

Journal::~Journal() { Stop(); }

void Journal::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (!finished_.WaitForNotificationWithTimeout(stop_timeout_)) {
    {
      absl::MutexLock lock(&mu_);
      give_up_ = true;
    }
    // The loop leaves at its next retry; a call stuck inside the database
    // (a hung connection) is left behind rather than holding up shutdown.
    if (!finished_.WaitForNotificationWithTimeout(absl::Seconds(2))) {
      log::Error("journal stuck in a database call at shutdown; leaving it");
      thread_.detach();
      return;
    }
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status Journal::NotDurableError() const {
  absl::MutexLock lock(&mu_);
  const std::string why =
      last_error_.ok() ? "no commit confirmed in time" : std::string(last_error_.message());
  return absl::UnavailableError(absl::StrCat(
      "the database is not accepting writes: ", why,
      "; the change is kept and takes effect once it is written (retry later to see it)"));
}

int64_t Journal::transactions() const {
  absl::MutexLock lock(&mu_);
  return transactions_;
}

int64_t Journal::quarantined() const {
  absl::MutexLock lock(&mu_);
  return quarantined_;
}

void Journal::Submit(JournalBatch batch, std::function<void()> on_durable) {
  absl::MutexLock lock(&mu_);
  for (auto& s : batch.opened) pending_.opened.push_back(std::move(s));
  for (auto& s : batch.changed) changed_[s.supply_id] = std::move(s);
  for (auto& t : batch.tickets) pending_.tickets.push_back(std::move(t));
  for (auto& a : batch.audit) pending_.audit.push_back(std::move(a));
  for (auto& h : batch.holds) pending_.holds.push_back(std::move(h));
  for (auto& q : batch.queue) pending_.queue.push_back(std::move(q));
  if (on_durable) callbacks_.push_back(std::move(on_durable));
}

void Journal::MarkPublished(const std::string& supply_id) {
  absl::MutexLock lock(&mu_);
  pending_.published_tickets.push_back(supply_id);
}

bool Journal::Urgent() const {
  return !pending_.opened.empty() || !pending_.tickets.empty() || !pending_.holds.empty() ||
         !pending_.queue.empty() ||
         !callbacks_.empty();
}

absl::Status Journal::WriteRetrying(const JournalBatch& batch) {
  Backoff backoff(absl::Milliseconds(50), absl::Seconds(5));
  while (true) {
    absl::Status s = store_.Write(batch);
    const bool away = IsTransientWriteError(s);
    {
      absl::MutexLock lock(&mu_);
      last_error_ = away ? s : absl::OkStatus();
      if (s.ok()) ++transactions_;
    }
    AvailableGauge().Set(away ? 0 : 1);
    if (!away) return s;
    log::Error("journal write failed (the database is not accepting writes); retrying",
               {{"error", s.ToString()}});
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&give_up_), backoff.Next())) return s;
  }
}

void Journal::Quarantine(const JournalBatch& unit, const absl::Status& why) {
  QuarantinedCounter().Increment();
  {
    absl::MutexLock lock(&mu_);
    ++quarantined_;
  }
  const QuarantinedRow row = DescribeUnit(unit, why);
  Backoff backoff(absl::Milliseconds(50), absl::Seconds(5));
  while (true) {
    absl::Status s = store_.Quarantine(row);
    if (s.ok()) return;
    if (!IsTransientWriteError(s)) {
      log::Error("journal row refused and its quarantine too; dropped",
                 {{"kind", row.kind},
                  {"error", why.ToString()},
                  {"quarantine_error", s.ToString()},
                  {"payload", PgJson(row.payload)}});
      return;
    }
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&give_up_), backoff.Next())) return;
  }
}

bool Journal::WriteIsolating(const JournalBatch& batch) {
  absl::Status s = WriteRetrying(batch);
  if (s.ok()) return true;
  if (IsTransientWriteError(s)) return false;  // given up at shutdown
  log::Warn("journal batch refused by the database; isolating the refused rows",
            {{"error", s.ToString()}});
  std::vector<JournalBatch> units = SplitJournalBatch(batch);
  size_t done = 0;
  s = evc::WriteIsolating(
      units.size(),
      [&](size_t begin, size_t end) {
        return WriteRetrying(JoinJournalBatches(units.begin() + begin, units.begin() + end));
      },
      [&](size_t i, const absl::Status& why) { Quarantine(units[i], why); }, &done);
  return s.ok();
}

void Journal::Loop() {
  absl::Time last_flush = absl::Now();
  while (true) {
    JournalBatch batch;
    std::vector<std::function<void()>> callbacks;
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || Urgent(); };
      // Wake for urgent work at once, otherwise at the progress interval.
      mu_.AwaitWithDeadline(absl::Condition(&ready), last_flush + progress_interval_);
      stopping = stopping_;
      batch = std::move(pending_);
      pending_ = JournalBatch();
      for (auto& [id, s] : changed_) batch.changed.push_back(std::move(s));
      changed_.clear();
      callbacks.swap(callbacks_);
    }
    last_flush = absl::Now();
    if (!batch.empty() && !WriteIsolating(batch)) {
      // Stop() gave up: their changes are not durable, so their messages stay unsent.
      absl::MutexLock lock(&mu_);
      log::Error("journal stopped with writes the database did not take",
                 {{"opened", batch.opened.size() + pending_.opened.size()},
                  {"tickets", batch.tickets.size() + pending_.tickets.size()},
                  {"audit", batch.audit.size() + pending_.audit.size()},
                  {"holds", batch.holds.size() + pending_.holds.size()},
                  {"unsent_messages", callbacks.size() + callbacks_.size()},
                  {"error", last_error_.ToString()}});
      break;
    }
    for (auto& cb : callbacks) cb();
    if (stopping) {
      absl::MutexLock lock(&mu_);
      if (pending_.empty() && changed_.empty() && callbacks_.empty()) break;
    }
  }
  finished_.Notify();
}

}  // namespace evc::central
