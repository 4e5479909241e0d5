// The journal against a store that refuses one specific row, or is away: the
// refused row is isolated and quarantined while the rest of its batch
// commits; an absent database is retried without losing anything; Stop()
// gives up after its bound.

#include "services/central/journal.h"

#include <gtest/gtest.h>

#include <set>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "services/central/empty_supply_store.h"

namespace evc::central {
namespace {

// All or nothing per Write, like a transaction: refuses a batch holding an
// audit record with action `poison` (a data error), or everything while
// `away`.
class FlakyStore : public EmptySupplyStore {
 public:
  absl::Status Write(const JournalBatch& b) override {
    absl::MutexLock lock(&mu);
    ++writes;
    if (away) return absl::UnavailableError("connection refused");
    for (const auto& a : b.audit) {
      if (a.action == poison) return absl::InvalidArgumentError("invalid byte sequence");
    }
    // PgSupplyStore's order: tickets close their supplies first.
    std::set<std::string> cps = open_cps;
    for (const auto& t : b.tickets) cps.erase(t.cp_id());
    for (const auto& s : b.opened) {
      if (opened.count(s.supply_id) == 0 && cps.count(s.cp_id)) {
        return absl::FailedPreconditionError("supplies_one_open_per_cp");
      }
    }
    for (const auto& t : b.tickets) open_cps.erase(t.cp_id());
    for (const auto& s : b.opened) {
      opened.insert(s.supply_id);
      bool ticketed = false;
      for (const auto& t : b.tickets) ticketed |= t.supply_id() == s.supply_id;
      if (!ticketed) open_cps.insert(s.cp_id);
    }
    for (const auto& t : b.tickets) tickets.insert(t.supply_id());
    for (const auto& a : b.audit) actions.push_back(a.action);
    for (const auto& h : b.holds) holds.push_back(h.cp_id);
    return absl::OkStatus();
  }
  absl::Status Quarantine(const QuarantinedRow& row) override {
    absl::MutexLock lock(&mu);
    quarantined.push_back(row);
    return absl::OkStatus();
  }

  absl::Mutex mu;
  std::string poison = "poison";
  bool away = false;
  int writes = 0;
  std::set<std::string> opened, open_cps, tickets;
  std::vector<std::string> actions, holds;
  std::vector<QuarantinedRow> quarantined;
};

AuditRecord Audit(const std::string& action) {
  return {absl::Now(), AuditCategory::kSecurity, action, "anonymous", "CP-1",
          "REJECTED",  {{"reason", action}},     ""};
}

SupplyRecord Supply(const std::string& id, const std::string& cp) {
  SupplyRecord s;
  s.supply_id = id;
  s.cp_id = cp;
  s.authorized_at = absl::Now();
  return s;
}

common::v1::Ticket Ticket(const std::string& id, const std::string& cp) {
  common::v1::Ticket t;
  t.set_supply_id(id);
  t.set_cp_id(cp);
  return t;
}

bool WaitDurable(absl::Notification& n) {
  return n.WaitForNotificationWithTimeout(absl::Seconds(10));
}

TEST(JournalTest, ARefusedRowIsQuarantinedAndTheRestOfItsBatchCommits) {
  FlakyStore store;
  Journal journal(store);
  JournalBatch batch;
  for (int i = 0; i < 20; ++i)
    batch.audit.push_back(Audit(i == 13 ? "poison" : "ok-" + std::to_string(i)));
  batch.opened.push_back(Supply("s1", "CP-1"));
  batch.holds.push_back({"CP-2", common::v1::HOLD_REASON_OPERATOR, true, "stop", absl::Now()});
  absl::Notification durable;
  journal.Submit(std::move(batch), [&] { durable.Notify(); });
  ASSERT_TRUE(WaitDurable(durable)) << "the callback never ran: the journal is stuck on one row";
  absl::MutexLock lock(&store.mu);
  EXPECT_EQ(store.actions.size(), 19u);
  EXPECT_EQ(std::count(store.actions.begin(), store.actions.end(), "poison"), 0);
  // Order kept among what committed.
  EXPECT_EQ(store.actions.front(), "ok-0");
  EXPECT_EQ(store.actions.back(), "ok-19");
  EXPECT_EQ(store.opened.count("s1"), 1u);
  EXPECT_EQ(store.holds, std::vector<std::string>{"CP-2"});
  ASSERT_EQ(store.quarantined.size(), 1u);
  const QuarantinedRow& q = store.quarantined[0];
  EXPECT_EQ(q.service, "central");
  EXPECT_EQ(q.kind, "audit");
  EXPECT_EQ(q.cp_id, "CP-1");
  EXPECT_TRUE(absl::StrContains(q.error, "invalid byte sequence")) << q.error;
  EXPECT_EQ(q.payload["audit"][0]["action"], "poison");
  EXPECT_EQ(journal.quarantined(), 1);
}

TEST(JournalTest, LaterBatchesKeepFlowingAfterAQuarantine) {
  FlakyStore store;
  Journal journal(store);
  for (int round = 0; round < 3; ++round) {
    JournalBatch batch;
    batch.audit.push_back(Audit("poison"));
    batch.audit.push_back(Audit("ok"));
    absl::Notification durable;
    journal.Submit(std::move(batch), [&] { durable.Notify(); });
    ASSERT_TRUE(WaitDurable(durable)) << "round " << round;
  }
  absl::MutexLock lock(&store.mu);
  EXPECT_EQ(store.actions.size(), 3u);
  EXPECT_EQ(store.quarantined.size(), 3u);
}

TEST(JournalTest, SplitPutsACompletedSupplyBeforeTheNextOnItsCp) {
  JournalBatch batch;
  batch.opened.push_back(Supply("new", "CP-1"));
  batch.tickets.push_back(Ticket("old", "CP-1"));
  batch.audit.push_back(Audit("a"));
  batch.published_tickets.push_back("old");
  batch.published_tickets.push_back("earlier");
  std::vector<JournalBatch> units = SplitJournalBatch(batch);
  ASSERT_EQ(units.size(), 4u);
  ASSERT_EQ(units[0].tickets.size(), 1u);
  EXPECT_EQ(units[0].tickets[0].supply_id(), "old");
  EXPECT_EQ(units[0].published_tickets, std::vector<std::string>{"old"});
  ASSERT_EQ(units[1].opened.size(), 1u);
  EXPECT_EQ(units[1].opened[0].supply_id, "new");
  EXPECT_EQ(units[2].audit.size(), 1u);
  EXPECT_EQ(units[3].published_tickets, std::vector<std::string>{"earlier"});
  JournalBatch joined = JoinJournalBatches(units.begin(), units.end());
  EXPECT_EQ(joined.opened.size(), 1u);
  EXPECT_EQ(joined.tickets.size(), 1u);
  EXPECT_EQ(joined.published_tickets.size(), 2u);
}

TEST(JournalTest, IsolationKeepsASupplyWithItsTicket) {
  FlakyStore store;
  Journal journal(store);
  {
    absl::Notification durable;
    JournalBatch first;
    first.opened.push_back(Supply("old", "CP-1"));
    journal.Submit(std::move(first), [&] { durable.Notify(); });
    ASSERT_TRUE(WaitDurable(durable));
  }
  // A refused row forces the batch apart; the completed supply must still
  // close before its CP's next supply opens.
  JournalBatch second;
  second.opened.push_back(Supply("new", "CP-1"));
  second.opened.push_back(Supply("both", "CP-2"));
  second.tickets.push_back(Ticket("both", "CP-2"));
  second.tickets.push_back(Ticket("old", "CP-1"));
  second.audit.push_back(Audit("poison"));
  absl::Notification durable;
  journal.Submit(std::move(second), [&] { durable.Notify(); });
  ASSERT_TRUE(WaitDurable(durable));
  absl::MutexLock lock(&store.mu);
  EXPECT_EQ(store.opened, (std::set<std::string>{"old", "new", "both"}));
  EXPECT_EQ(store.tickets, (std::set<std::string>{"old", "both"}));
  EXPECT_EQ(store.open_cps, std::set<std::string>{"CP-1"});
  ASSERT_EQ(store.quarantined.size(), 1u);
  EXPECT_EQ(store.quarantined[0].kind, "audit");
}

TEST(JournalTest, AnAbsentDatabaseIsRetriedAndNothingIsDropped) {
  FlakyStore store;
  store.away = true;
  Journal journal(store);
  JournalBatch batch;
  batch.audit.push_back(Audit("kept"));
  absl::Notification durable;
  journal.Submit(std::move(batch), [&] { durable.Notify(); });
  EXPECT_FALSE(durable.WaitForNotificationWithTimeout(absl::Milliseconds(300)));
  absl::Status why = journal.NotDurableError();
  EXPECT_EQ(why.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(why.message(), "the database is not accepting writes")) << why;
  EXPECT_TRUE(absl::StrContains(why.message(), "connection refused")) << why;
  {
    absl::MutexLock lock(&store.mu);
    store.away = false;
  }
  ASSERT_TRUE(WaitDurable(durable));
  absl::MutexLock lock(&store.mu);
  EXPECT_EQ(store.actions, std::vector<std::string>{"kept"});
  EXPECT_TRUE(store.quarantined.empty());
}

TEST(JournalTest, StopGivesUpWithinItsBoundWhenTheDatabaseIsAway) {
  FlakyStore store;
  store.away = true;
  Journal journal(store, absl::Milliseconds(500), absl::Milliseconds(300));
  JournalBatch batch;
  batch.audit.push_back(Audit("never"));
  bool ran = false;
  journal.Submit(std::move(batch), [&] { ran = true; });
  const absl::Time asked = absl::Now();
  journal.Stop();
  EXPECT_LT(absl::Now() - asked, absl::Seconds(3));
  // Not durable: its messages were not sent.
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace evc::central
