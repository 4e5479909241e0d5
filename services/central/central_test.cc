// Central with an in-memory store and a recording publisher: effects are
// persisted before messages leave, and tickets survive a restart.

#include "services/central/central.h"

#include <map>
#include <set>

#include <gtest/gtest.h>

namespace evc::central {
namespace {

class MemoryStore : public SupplyStore {
 public:
  absl::Status Write(const JournalBatch& b) override {
    absl::MutexLock lock(&mu);
    ++writes;
    for (const auto& s : b.opened) open[s.supply_id] = s;
    for (const auto& s : b.changed) {
      if (open.count(s.supply_id)) open[s.supply_id] = s;
    }
    for (const auto& t : b.tickets) {
      open.erase(t.supply_id());
      tickets.try_emplace(t.supply_id(), t);
    }
    for (const auto& id : b.published_tickets) published.insert(id);
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<SupplyRecord>> LoadOpenSupplies() override {
    absl::MutexLock lock(&mu);
    std::vector<SupplyRecord> out;
    for (auto& [id, s] : open) out.push_back(s);
    return out;
  }
  absl::StatusOr<std::vector<common::v1::Ticket>> LoadUnpublishedTickets() override {
    absl::MutexLock lock(&mu);
    std::vector<common::v1::Ticket> out;
    for (auto& [id, t] : tickets) {
      if (!published.count(id)) out.push_back(t);
    }
    return out;
  }
  absl::StatusOr<std::optional<common::v1::Ticket>> GetTicket(const std::string& id) override {
    absl::MutexLock lock(&mu);
    if (!tickets.count(id)) return std::optional<common::v1::Ticket>();
    return std::optional<common::v1::Ticket>(tickets[id]);
  }
  absl::StatusOr<std::vector<common::v1::Ticket>> ListTickets(const std::string&, const std::string&,
                                                              int) override {
    return std::vector<common::v1::Ticket>();
  }
  int Writes() {
    absl::MutexLock lock(&mu);
    return writes;
  }

  absl::Mutex mu;
  int writes = 0;
  std::map<std::string, SupplyRecord> open;
  std::map<std::string, common::v1::Ticket> tickets;
  std::set<std::string> published;
};

// Records whether the store already held the supply when a command left.
class CheckingPublisher : public RecordingPublisher {
 public:
  explicit CheckingPublisher(MemoryStore& store) : store_(store) {}
  absl::Status Publish(const std::string& topic, const std::string& key,
                       const google::protobuf::Message& m, Delivered d) override {
    if (topic == topics::kEngineCommands) {
      events::v1::EngineCommand c;
      c.ParseFromString(m.SerializeAsString());
      if (c.has_authorize()) {
        absl::MutexLock lock(&store_.mu);
        if (!store_.open.count(c.authorize().supply_id())) authorize_before_durable = true;
      }
    }
    return RecordingPublisher::Publish(topic, key, m, std::move(d));
  }
  bool authorize_before_durable = false;

 private:
  MemoryStore& store_;
};

class AllDriversKnown : public DriverDirectory {
 public:
  absl::StatusOr<bool> IsKnown(const std::string& id) override { return id != "stranger"; }
};

common::v1::ChargingPoint Cp(const std::string& id) {
  common::v1::ChargingPoint cp;
  cp.set_cp_id(id);
  cp.set_price_millieuros_per_kwh(400);
  return cp;
}

central::v1::Health Ok() {
  central::v1::Health h;
  h.set_engine_ok(true);
  return h;
}

TEST(CentralTest, AuthoriseLeavesOnlyAfterTheSupplyIsDurable) {
  MemoryStore store;
  CheckingPublisher publisher(store);
  AllDriversKnown drivers;
  SystemClock clock;
  Central central({}, store, publisher, drivers, clock);
  ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
  ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
  auto supply = central.RequestCharge("CP1", "ana", "r1");
  ASSERT_TRUE(supply.ok()) << supply.status();
  EXPECT_FALSE(publisher.authorize_before_durable);
  bool sent = false;
  for (const auto& r : publisher.records()) sent |= r.topic == topics::kEngineCommands && r.key == "CP1";
  EXPECT_TRUE(sent);
  EXPECT_EQ(central.RequestCharge("CP1", "stranger", "r2").status().code(), absl::StatusCode::kNotFound);
  central.Stop();
}

TEST(CentralTest, TicketsAreStoredOnceAndResentAfterARestartUntilDelivered) {
  MemoryStore store;
  AllDriversKnown drivers;
  SystemClock clock;
  std::string supply_id;
  {
    // A publisher that loses the ticket: never acknowledged.
    class Lossy : public RecordingPublisher {
     public:
      absl::Status Publish(const std::string& t, const std::string& k, const google::protobuf::Message& m,
                           Delivered) override {
        return RecordingPublisher::Publish(t, k, m, nullptr);
      }
    } lossy;
    Central central({}, store, lossy, drivers, clock);
    ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
    ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
    auto supply = central.RequestCharge("CP1", "ana", "r1");
    ASSERT_TRUE(supply.ok());
    supply_id = supply->supply_id();
    ASSERT_TRUE(central.StopCharge(supply_id, "ana").ok());  // before plug: ends at once
    central.Stop();
  }
  ASSERT_EQ(store.tickets.size(), 1u);
  EXPECT_TRUE(store.published.empty());
  RecordingPublisher publisher;
  Central restarted({}, store, publisher, drivers, clock);
  ASSERT_TRUE(restarted.Start({Cp("CP1")}).ok());
  int tickets = 0;
  for (const auto& r : publisher.records()) {
    events::v1::DriverNotification n;
    if (r.topic == topics::kDriverNotifications && n.ParseFromString(r.payload) && n.has_ticket()) {
      ++tickets;
      EXPECT_EQ(n.ticket().supply_id(), supply_id);
    }
  }
  EXPECT_EQ(tickets, 1);
  restarted.Stop();  // flushes the outbox mark
  EXPECT_EQ(store.published.count(supply_id), 1u);
  auto view = Central({}, store, publisher, drivers, clock).GetSupply(supply_id);
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->has_ticket());
}

TEST(CentralTest, OpenSuppliesAreRestoredOnStart) {
  MemoryStore store;
  SupplyRecord s;
  s.supply_id = "s1";
  s.cp_id = "CP1";
  s.driver_id = "ana";
  s.phase = common::v1::SUPPLY_PHASE_CHARGING;
  s.authorized_at = absl::Now();
  s.energy_wh = 100;
  s.price_millieuros_per_kwh = 400;
  store.open["s1"] = s;
  RecordingPublisher publisher;
  AllDriversKnown drivers;
  SystemClock clock;
  Central central({}, store, publisher, drivers, clock);
  ASSERT_TRUE(central.Start({Cp("CP1")}).ok());
  auto view = central.GetSupply("s1");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->supply().energy_wh(), 100);
  // The driver is still busy with it.
  ASSERT_TRUE(central.MonitorRegistered("CP1", Ok()).ok());
  EXPECT_EQ(central.RequestCharge("CP1", "ana", "r9").status().code(),
            absl::StatusCode::kFailedPrecondition);
  central.Stop();
}

}  // namespace
}  // namespace evc::central
