#pragma once
// Fakes shared by central's tests (linked only by tests): an in-memory store,
// access tokens and Kafka trust minted as auth and the registry would, one key
// for every CP, the CentralFixture that holds them and wires a central on
// them (Wire), and OpenCommand to read what central sealed for an engine.

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "services/central/central.h"
#include "services/central/kafka_routes.h"
#include "services/common/crypto.h"
#include "services/common/proto_time.h"
#include "services/common/testing/recording_publisher.h"

namespace evc::central::fakes {

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
    audit.insert(audit.end(), b.audit.begin(), b.audit.end());
    for (const auto& h : b.holds) {
      if (h.held) {
        holds[{h.cp_id, h.reason}] = h;
      } else {
        holds.erase({h.cp_id, h.reason});
      }
    }
    for (const auto& q : b.queue) {
      if (q.removed) {
        queue.erase(q.entry.driver_id);
      } else {
        queue[q.entry.driver_id] = q.entry;
      }
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<HoldChange>> LoadHolds() override {
    absl::MutexLock lock(&mu);
    std::vector<HoldChange> out;
    for (auto& [key, h] : holds) out.push_back(h);
    return out;
  }
  absl::StatusOr<std::vector<QueueEntry>> LoadQueue() override {
    absl::MutexLock lock(&mu);
    std::vector<QueueEntry> out;
    for (auto& [driver, e] : queue) out.push_back(e);
    return out;
  }
  absl::Status SaveSiteCap(const std::string& key, const SiteCap& cap, const std::string&) override {
    absl::MutexLock lock(&mu);
    if (cap.cap_w > 0) {
      site_caps[key] = cap;
    } else {
      site_caps.erase(key);
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<SiteCap>> LoadSiteCaps() override {
    absl::MutexLock lock(&mu);
    std::vector<SiteCap> out;
    for (auto& [key, cap] : site_caps) out.push_back(cap);
    return out;
  }
  absl::Status SaveConfig(const central::v1::CentralConfig& c, const std::string& actor) override {
    absl::MutexLock lock(&mu);
    config = c;
    config->set_updated_by(actor);
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<central::v1::CentralConfig>> LoadConfig() override {
    absl::MutexLock lock(&mu);
    return config;
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
  std::vector<AuditRecord> audit;
  std::map<std::pair<std::string, common::v1::HoldReason>, HoldChange> holds;
  std::map<std::string, QueueEntry> queue;
  std::map<std::string, SiteCap> site_caps;
  std::optional<central::v1::CentralConfig> config;
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

// Mints access tokens as auth would, and verifies them as central does.
class TestTokens {
 public:
  TestTokens()
      : pair_(crypto::NewEd25519KeyPair()),
        verifier([this]() -> absl::StatusOr<std::vector<VerifyingKey>> {
          return std::vector<VerifyingKey>{{"test-key", pair_.public_key}};
        }, clock_) {}
  // Who a token names, as the gRPC layer would tell central.
  absl::StatusOr<Caller> CallerOf(const std::string& token) {
    absl::StatusOr<Claims> claims = verifier.Verify(token);
    if (!claims.ok()) return claims.status();
    return CallerFromClaims(*claims, "test");
  }
  std::string For(const std::string& subject, const std::string& role = kRoleDriver,
                  absl::Duration ttl = absl::Minutes(5)) {
    Claims c{subject, role, "session-" + subject, "t", absl::Now(), absl::Now() + ttl};
    return *SignToken({"test-key", pair_.private_key}, c);
  }

 private:
  crypto::Ed25519KeyPair pair_;
  SystemClock clock_;

 public:
  TokenVerifier verifier;
};

// What auth and the registry would sign, and the keys central checks with.
class TestTrust : public NotificationKeySource {
 public:
  TestTrust()
      : auth_pair_(crypto::NewEd25519KeyPair()), registry_pair_(crypto::NewEd25519KeyPair()),
        auth_keys_("auth", [this]() -> absl::StatusOr<std::vector<VerifyingKey>> {
          return std::vector<VerifyingKey>{{"auth-key", auth_pair_.public_key}};
        }, clock_),
        registry_keys_("registry", [this]() -> absl::StatusOr<std::vector<VerifyingKey>> {
          return std::vector<VerifyingKey>{{"registry-key", registry_pair_.public_key}};
        }, clock_) {}
  KafkaTrust trust() { return {&auth_keys_, &registry_keys_}; }
  absl::StatusOr<NotificationKey> Key(const std::string& driver_id) override {
    return DeriveNotificationKey({"auth-key", auth_pair_.private_key}, driver_id);
  }
  // A charge request on Kafka as the driver CLI sends it.
  KafkaMessage Request(const std::string& cp, const std::string& request_id, const std::string& driver,
                       const std::string& asserted_cp = "") {
    events::v1::ChargeAssertion a;
    a.set_assertion_id(crypto::RandomId());
    a.set_subject(driver);
    a.set_role(kRoleDriver);
    a.set_cp_id(asserted_cp.empty() ? cp : asserted_cp);
    a.set_request_id(request_id);
    *a.mutable_issued_at() = ToProto(absl::Now());
    *a.mutable_expires_at() = ToProto(absl::Now() + absl::Seconds(60));
    events::v1::ChargeRequest r;
    r.set_request_id(request_id);
    r.set_cp_id(cp);
    r.set_driver_id(driver);
    r.set_assertion(SignMessage({"auth-key", auth_pair_.private_key}, a)->SerializeAsString());
    return {topics::kChargeRequests, 0, 0, cp, r.SerializeAsString()};
  }
  std::string ByRegistry(const events::v1::RegistryEvent& e) {
    return SignMessage({"registry-key", registry_pair_.private_key}, e)->SerializeAsString();
  }

 private:
  SystemClock clock_;
  crypto::Ed25519KeyPair auth_pair_;
  crypto::Ed25519KeyPair registry_pair_;
  VerifyingKeys auth_keys_;
  VerifyingKeys registry_keys_;
};

// One key for every CP; counts how often central asked for keys.
class FixedKeys : public CpKeySource {
 public:
  absl::StatusOr<std::vector<CpKey>> Keys(const std::string&) override {
    ++fetches;
    return std::vector<CpKey>{key};
  }
  CpKey key{"k1", std::string(32, 'k')};
  std::atomic<int> fetches = 0;
};

// A command central sealed for its engine, opened with `key` as the engine would.
inline absl::StatusOr<events::v1::EngineCommand> OpenCommand(const std::string& sealed,
                                                             const CpKey& key) {
  absl::StatusOr<OpenedEnvelope> opened = OpenEnvelope(
      sealed, events::v1::SealedEnvelope::DIRECTION_CENTRAL_TO_ENGINE,
      [&](const std::string&, const std::string& id) { return id == key.key_id ? &key : nullptr; },
      absl::Now());
  if (!opened.ok()) return opened.status();
  events::v1::EngineCommand command;
  if (!command.ParseFromString(opened->plaintext)) {
    return absl::DataLossError("the envelope does not hold an engine command");
  }
  return command;
}

inline common::v1::ChargingPoint Cp(const std::string& id) {
  common::v1::ChargingPoint cp;
  cp.set_cp_id(id);
  cp.set_price_millieuros_per_kwh(400);
  return cp;
}

inline central::v1::Health Ok() {
  central::v1::Health h;
  h.set_engine_ok(true);
  return h;
}

// Replay marks in memory; a mark only moves forward, as in Postgres.
class MemoryReplayMarks : public ReplayMarkStore {
 public:
  absl::StatusOr<std::vector<ReplayMark>> LoadReplayMarks() override {
    std::vector<ReplayMark> out;
    for (const auto& [cp, m] : marks) out.push_back(m);
    return out;
  }
  absl::Status SaveReplayMarks(const std::vector<ReplayMark>& saved) override {
    ++saves;
    for (const ReplayMark& m : saved) {
      if (marks[m.cp_id].counter < m.counter) marks[m.cp_id] = m;
    }
    return absl::OkStatus();
  }
  std::map<std::string, ReplayMark> marks;
  int saves = 0;
};

// Records the monitor links central cuts.
class RecordingLinks : public LinkCloser {
 public:
  void CloseLink(const std::string& cp_id, const std::string& why) override {
    closed.emplace_back(cp_id, why);
  }
  std::vector<std::pair<std::string, std::string>> closed;
};

// What a test changes in how its central is wired; the rest are the fixture's fakes.
struct Wiring {
  Publisher* publisher = nullptr;  // null: the fixture's RecordingPublisher
  NetworkConfig config = {};
  ReplayMarkStore* marks = nullptr;
  NotificationKeySource* notification_keys = nullptr;
  CatalogueLookup* catalogue = nullptr;
};

// A central and the engine channel its commands leave by.
struct WiredCentral {
  WiredCentral(SupplyStore& store, Publisher& publisher, CpKeySource& keys, const Clock& clock,
               const Wiring& wiring)
      : channel(keys, wiring.marks, publisher, clock),
        central(wiring.config, store, publisher, channel, clock, wiring.notification_keys,
                wiring.catalogue) {}
  EngineChannel channel;
  Central central;
};

// The fakes central runs on in its tests: an in-memory store, a recording
// publisher, tokens and Kafka trust as auth and the registry would mint
// them, one key for every CP and the system clock. Wire() builds a central on
// them; calling it again on the same store is a restart.
class CentralFixture {
 public:
  std::unique_ptr<WiredCentral> Wire(const Wiring& wiring = {}) {
    Publisher& to = wiring.publisher != nullptr ? *wiring.publisher : publisher;
    return std::make_unique<WiredCentral>(store, to, keys, clock, wiring);
  }

  MemoryStore store;
  RecordingPublisher publisher;
  TestTokens tokens;
  TestTrust trust;
  FixedKeys keys;
  SystemClock clock;
};

}  // namespace evc::central::fakes
