// The fault run: central killed with SIGKILL 20 times while a fleet of CPs
// supplies and drivers charge through the edge's REST API, restarted after
// each kill. Every restart must serve (health SERVING and a charge accepted
// through the edge) within 10 s; at the end every supply central accepted has
// exactly one ticket, no charge request opened two supplies, and every
// ticket's amount is what the price formula gives for its energy.

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "services/central/effects.h"
#include "services/common/backoff.h"
#include "services/common/grpc_util.h"
#include "services/edge/test_http_client.h"
#include "tests/integration/stack.h"

namespace evc::testing {
namespace {

namespace http = boost::beast::http;
using edge::testing::HttpReply;

constexpr int kCps = 50;
constexpr int kDrivers = 12;
constexpr int kKills = 20;
constexpr int64_t kPrice = 350;  // the fleet's --price, millieuros per kWh
constexpr absl::Duration kServeWithin = absl::Seconds(10);

std::string CpId(int i) { return absl::StrFormat("F-%05d", i); }

// The CPs no driver is using.
class CpPool {
 public:
  CpPool() {
    for (int i = 1; i <= kCps; ++i) free_.push_back(CpId(i));
  }
  std::string Take() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(+[](std::vector<std::string>* f) { return !f->empty(); }, &free_));
    std::string cp = free_.front();
    free_.erase(free_.begin());
    return cp;
  }
  void Give(const std::string& cp) {
    absl::MutexLock lock(&mu_);
    free_.push_back(cp);
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> free_ ABSL_GUARDED_BY(mu_);
};

// A driver through the edge: REST calls with its access token, retried while
// central is down (5xx or no answer) with the same request id.
class RestDriver {
 public:
  RestDriver(Stack& stack, int edge_port, std::string id)
      : stack_(stack), port_(edge_port), id_(std::move(id)) {}

  HttpReply Call(http::verb verb, const std::string& target, const std::string& body) {
    edge::testing::Headers headers = {{"Authorization", "Bearer " + stack_.driver(id_).AccessToken()}};
    if (!body.empty()) headers.push_back({"Content-Type", "application/json"});
    return edge::testing::HttpCall(port_, verb, target, body, headers);
  }

  // Until a definitive answer (2xx or 4xx) or `deadline`; status 0 if none.
  HttpReply CallUntilAnswered(http::verb verb, const std::string& target, const std::string& body,
                              absl::Time deadline) {
    HttpReply r;
    Backoff backoff(absl::Milliseconds(50), absl::Milliseconds(500));
    while (absl::Now() < deadline) {
      r = Call(verb, target, body);
      if (r.status >= 200 && r.status < 500) return r;
      absl::SleepFor(backoff.Next());
    }
    return r;
  }

  // Requests a charge at `cp`; the supply id, or empty if refused.
  std::string Charge(const std::string& cp, const std::string& request_id, absl::Time deadline,
                     int* status) {
    HttpReply r = CallUntilAnswered(http::verb::post, "/v1/charging-points/" + cp + ":charge",
                                    nlohmann::json{{"requestId", request_id}}.dump(), deadline);
    *status = r.status;
    if (r.status != 200) return "";
    return r.json()["supply"].value("supplyId", "");
  }

  // Until central has applied the engine's start of the supply (it came over
  // Kafka); false at `deadline`.
  bool WaitForStart(const std::string& supply_id, absl::Time deadline) {
    while (absl::Now() < deadline) {
      HttpReply r = Call(http::verb::get, "/v1/supplies/" + supply_id, "");
      if (r.status == 200 && (r.json()["supply"].contains("startedAt") || r.json().contains("ticket"))) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  // The supply's ticket as the driver sees it (null until there is one).
  nlohmann::json WaitForTicket(const std::string& supply_id, absl::Time deadline) {
    while (absl::Now() < deadline) {
      HttpReply r = Call(http::verb::get, "/v1/supplies/" + supply_id, "");
      if (r.status == 200 && r.json().contains("ticket")) return r.json()["ticket"];
      absl::SleepFor(absl::Milliseconds(400));
    }
    return nullptr;
  }

  const std::string& id() const { return id_; }

 private:
  Stack& stack_;
  int port_;
  std::string id_;
};

struct Figures {
  absl::Mutex mu;
  std::set<std::string> accepted ABSL_GUARDED_BY(mu);           // supply ids answered 200
  std::map<std::string, nlohmann::json> seen ABSL_GUARDED_BY(mu);  // tickets drivers saw
  std::map<int, int> refusals ABSL_GUARDED_BY(mu);               // HTTP status -> count
  std::vector<std::string> problems ABSL_GUARDED_BY(mu);

  void Accepted(const std::string& id) {
    absl::MutexLock lock(&mu);
    accepted.insert(id);
  }
  void Refused(int status) {
    absl::MutexLock lock(&mu);
    ++refusals[status];
  }
  void Saw(const std::string& id, nlohmann::json ticket) {
    absl::MutexLock lock(&mu);
    seen[id] = std::move(ticket);
  }
  void Problem(std::string what) {
    absl::MutexLock lock(&mu);
    if (problems.size() < 20) problems.push_back(std::move(what));
  }
};

// One charge from request to ticket; stops it itself when `stop_after` > 0,
// else the fleet's engine unplugs after a few readings.
void ChargeOnce(RestDriver& driver, CpPool& pool, Figures& figures, const std::string& request_id,
                absl::Duration stop_after) {
  const std::string cp = pool.Take();
  int status = 0;
  const std::string supply = driver.Charge(cp, request_id, absl::Now() + absl::Seconds(45), &status);
  if (supply.empty()) {
    figures.Refused(status);
    pool.Give(cp);
    absl::SleepFor(absl::Milliseconds(200));
    return;
  }
  figures.Accepted(supply);
  if (stop_after > absl::ZeroDuration()) {
    absl::SleepFor(stop_after);
    // 4xx: the supply had already ended (unplugged or closed by central).
    HttpReply stop = driver.CallUntilAnswered(http::verb::post, "/v1/supplies/" + supply + ":stop", "{}",
                                              absl::Now() + absl::Seconds(45));
    if (stop.status == 0 || stop.status >= 500) {
      figures.Problem(absl::StrCat("stop of ", supply, " never answered: ", stop.status, " ", stop.body));
    }
  }
  nlohmann::json ticket = driver.WaitForTicket(supply, absl::Now() + absl::Seconds(90));
  if (ticket.is_null()) {
    figures.Problem(absl::StrCat("no ticket for ", supply, " at ", cp, " (driver ", driver.id(), ")"));
  } else {
    figures.Saw(supply, ticket);
  }
  pool.Give(cp);
}

absl::Duration Median(std::vector<absl::Duration> v) {
  if (v.empty()) return absl::ZeroDuration();
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Rows of a SQL query, columns split on '|'.
std::vector<std::vector<std::string>> Rows(Stack& stack, const std::string& query) {
  std::vector<std::vector<std::string>> rows;
  for (absl::string_view line : absl::StrSplit(stack.Sql(query), '\n', absl::SkipEmpty())) {
    rows.push_back(absl::StrSplit(line, '|'));
  }
  return rows;
}

int64_t Int(const std::string& s) {
  int64_t v = -1;
  return absl::SimpleAtoi(s, &v) ? v : -1;
}

// An int64 field of protobuf JSON (a string, or a number when small).
int64_t JsonInt(const nlohmann::json& j, const char* field) {
  if (!j.contains(field)) return 0;
  if (j[field].is_string()) return Int(j[field].get<std::string>());
  return j[field].is_number() ? j[field].get<int64_t>() : -1;
}

// Ends the load and joins its threads however the test leaves.
struct Joined {
  std::atomic<bool>& loading;
  std::vector<std::thread>& threads;
  ~Joined() {
    loading = false;
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  }
};

TEST(FaultCentralTest, TwentyKillsUnderLoadLoseAndDuplicateNoTicket) {
  const absl::Time began = absl::Now();
  Stack::Options options;
  options.link_timeout = absl::Seconds(3);
  options.restart_grace = absl::Seconds(15);
  auto started = Stack::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  Stack& stack = **started;

  for (int i = 0; i < kDrivers + kKills; ++i) {
    ASSERT_TRUE(stack.AddDriver(absl::StrCat("fault-", i)).ok());
  }
  auto fleet = stack.Spawn("fleet", "evc-cp-fleet",
                           {absl::StrCat("--count=", kCps), "--prefix=F-", absl::StrCat("--price=", kPrice),
                            "--registry=" + stack.registry_address(), "--auth=" + stack.auth_address(),
                            "--central=" + stack.central_address(), "--tick_threads=2",
                            "--telemetry_period=500ms", "--unplug_after_readings=8", "--user=admin",
                            "--password_file=" + stack.PasswordFile("admin")});
  auto connected = [&] {
    auto s = CallUnary(&central::v1::CentralService::Stub::GetNetworkStats, stack.central(),
                       central::v1::GetNetworkStatsRequest(), absl::Seconds(2));
    return s.ok() && s->connected() >= kCps;
  };
  ASSERT_TRUE(Stack::WaitFor(connected, absl::Seconds(90))) << "the fleet never connected";
  auto edge_port = stack.StartEdge();
  ASSERT_TRUE(edge_port.ok()) << edge_port.status();

  CpPool pool;
  Figures figures;
  std::atomic<bool> loading{true};
  std::atomic<int> next_request{0};
  std::vector<std::thread> drivers;
  Joined join_drivers{loading, drivers};
  for (int d = 0; d < kDrivers; ++d) {
    drivers.emplace_back([&, d] {
      RestDriver driver(stack, *edge_port, absl::StrCat("fault-", d));
      for (int n = 0; loading; ++n) {
        // Half stop their supply, half let the engine unplug.
        const absl::Duration stop_after = (n + d) % 2 == 0 ? absl::Milliseconds(1500) : absl::ZeroDuration();
        ChargeOnce(driver, pool, figures, absl::StrCat("fault-", d, "-", next_request++), stop_after);
      }
    });
  }

  // Kill, restart, and time the way back to serving: health, then a charge
  // accepted through the edge by a driver that has none open.
  std::vector<absl::Duration> to_healthy, to_serving, to_started;
  std::vector<std::thread> probes;
  Joined join_probes{loading, probes};
  for (int k = 0; k < kKills; ++k) {
    absl::SleepFor(absl::Seconds(3));  // load on the fresh central
    const absl::Time killed = absl::Now();
    absl::Status restarted = stack.RestartCentral();
    ASSERT_TRUE(restarted.ok()) << "restart " << k + 1 << ": " << restarted;
    to_healthy.push_back(absl::Now() - killed);
    RestDriver probe(stack, *edge_port, absl::StrCat("fault-", kDrivers + k));
    std::string supply, cp;
    for (int attempt = 0; supply.empty() && absl::Now() < killed + absl::Seconds(30); ++attempt) {
      cp = pool.Take();
      int status = 0;
      // A refusal (CP not linked again yet) frees the CP and tries again.
      supply = probe.Charge(cp, absl::StrCat("probe-", k, "-", attempt), killed + absl::Seconds(30), &status);
      if (supply.empty()) {
        pool.Give(cp);
        absl::SleepFor(absl::Milliseconds(50));
      }
    }
    to_serving.push_back(absl::Now() - killed);
    ASSERT_FALSE(supply.empty()) << "restart " << k + 1 << " accepted no charge within 30 s";
    EXPECT_LE(to_serving.back(), kServeWithin) << "restart " << k + 1;
    figures.Accepted(supply);
    // Serving includes the engines' side: their events reach central over Kafka.
    const bool started = probe.WaitForStart(supply, killed + absl::Seconds(30));
    to_started.push_back(absl::Now() - killed);
    EXPECT_TRUE(started && to_started.back() <= kServeWithin)
        << "restart " << k + 1 << ": the engine's start of " << supply << " reached central only after "
        << to_started.back() << (started ? "" : " (never)") << ": central consumed no engine events";
    // The engine unplugs after a few readings; then its CP is free again.
    probes.emplace_back([&figures, &stack, &pool, port = *edge_port, k, supply, cp] {
      RestDriver late(stack, port, absl::StrCat("fault-", kDrivers + k));
      nlohmann::json ticket = late.WaitForTicket(supply, absl::Now() + absl::Seconds(120));
      if (ticket.is_null()) figures.Problem(absl::StrCat("no ticket for probe supply ", supply));
      else figures.Saw(supply, ticket);
      pool.Give(cp);
    });
  }
  loading = false;
  for (auto& t : drivers) t.join();
  for (auto& t : probes) t.join();

  // Nothing stays open, and what central accepted is all ticketed.
  EXPECT_TRUE(Stack::WaitFor([&] { return stack.Sql("SELECT count(*) FROM supplies WHERE ended_at IS NULL") == "0"; },
                             absl::Seconds(60)))
      << stack.Sql("SELECT supply_id, cp_id, phase FROM supplies WHERE ended_at IS NULL");
  const int64_t supplies = Int(stack.Sql("SELECT count(*) FROM supplies"));
  const auto lost = Rows(stack, "SELECT s.supply_id, s.cp_id, s.phase FROM supplies s "
                                "LEFT JOIN tickets t USING (supply_id) WHERE t.supply_id IS NULL");
  const auto doubled = Rows(stack, "SELECT driver_id, request_id, count(*) FROM supplies WHERE request_id <> '' "
                                   "GROUP BY driver_id, request_id HAVING count(*) > 1");
  std::map<std::string, std::vector<std::string>> tickets;
  for (auto& row : Rows(stack, "SELECT t.supply_id, t.energy_wh, t.price_millieuros_per_kwh, t.amount_millieuros, "
                               "s.energy_wh FROM tickets t JOIN supplies s USING (supply_id)")) {
    ASSERT_EQ(row.size(), 5u);
    tickets[row[0]] = row;
  }
  int64_t wrong_amount = 0, answer_lost = 0, unseen = 0, seen_differs = 0, energy_wh = 0;
  for (const auto& [id, row] : tickets) {
    const int64_t energy = Int(row[1]), price = Int(row[2]), amount = Int(row[3]);
    energy_wh += energy;
    if (price != kPrice || amount != central::AmountMillieuros(energy, price) || Int(row[4]) != energy) {
      ++wrong_amount;
      ADD_FAILURE() << "ticket " << id << ": " << energy << " Wh at " << price << " m€/kWh billed " << amount
                    << " m€ (supply says " << row[4] << " Wh)";
    }
  }
  {
    absl::MutexLock lock(&figures.mu);
    for (const std::string& id : figures.accepted) {
      if (!tickets.count(id)) ADD_FAILURE() << "accepted supply " << id << " has no ticket";
      auto s = figures.seen.find(id);
      if (s == figures.seen.end()) {
        ++unseen;
      } else if (JsonInt(s->second, "amountMillieuros") != Int(tickets[id][3])) {
        ++seen_differs;
        ADD_FAILURE() << "driver saw ticket " << s->second.dump() << ", stored amount " << tickets[id][3];
      }
    }
    answer_lost = static_cast<int64_t>(tickets.size()) - static_cast<int64_t>(figures.accepted.size());
    for (const std::string& p : figures.problems) ADD_FAILURE() << p;
  }
  for (const auto& row : lost) ADD_FAILURE() << "supply without ticket: " << absl::StrJoin(row, " ");
  for (const auto& row : doubled) ADD_FAILURE() << "one request, several supplies: " << absl::StrJoin(row, " ");
  EXPECT_EQ(unseen, 0) << "accepted supplies whose ticket the driver never saw";

  std::vector<absl::Duration> sorted = to_serving;
  std::sort(sorted.begin(), sorted.end());
  std::string refusals;
  {
    absl::MutexLock lock(&figures.mu);
    for (const auto& [status, n] : figures.refusals) absl::StrAppend(&refusals, " ", status, ":", n);
    std::printf("\nfault run: %d x kill -9 of central, %d CPs, %d drivers + %d probes, through the edge\n", kKills,
                kCps, kDrivers, kKills);
    std::printf("  restart to health SERVING    median %.2f s  max %.2f s\n", absl::ToDoubleSeconds(Median(to_healthy)),
                absl::ToDoubleSeconds(*std::max_element(to_healthy.begin(), to_healthy.end())));
    std::printf("  restart to charge accepted   median %.2f s  max %.2f s  (limit %.0f s)\n",
                absl::ToDoubleSeconds(Median(to_serving)), absl::ToDoubleSeconds(sorted.back()),
                absl::ToDoubleSeconds(kServeWithin));
    std::printf("  restart to that supply started median %.2f s  max %.2f s  (engine events over Kafka)\n",
                absl::ToDoubleSeconds(Median(to_started)),
                absl::ToDoubleSeconds(to_started.empty() ? absl::ZeroDuration()
                                                         : *std::max_element(to_started.begin(), to_started.end())));
    std::printf("  supplies accepted by central %lld, answered to drivers %zu (answer lost in a kill: %lld)\n",
                static_cast<long long>(supplies), figures.accepted.size(), static_cast<long long>(answer_lost));
    std::printf("  tickets stored %zu, lost %zu, duplicated requests %zu, wrong amounts %lld\n", tickets.size(),
                lost.size(), doubled.size(), static_cast<long long>(wrong_amount));
    std::printf("  tickets seen by their driver %zu, not seen %lld, differing %lld; energy billed %lld Wh\n",
                figures.seen.size(), static_cast<long long>(unseen), static_cast<long long>(seen_differs),
                static_cast<long long>(energy_wh));
    std::printf("  charge refusals by HTTP status:%s\n", refusals.empty() ? " none" : refusals.c_str());
    std::printf("  total %.0f s\n", absl::ToDoubleSeconds(absl::Now() - began));
  }
  EXPECT_EQ(static_cast<size_t>(supplies), tickets.size());
  EXPECT_GT(tickets.size(), static_cast<size_t>(kKills));
  if (::testing::Test::HasFailure()) stack.KeepDirectory();
  fleet->Stop();
}

}  // namespace
}  // namespace evc::testing
