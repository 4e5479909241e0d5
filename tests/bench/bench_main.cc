// evc-bench: the network's speed and memory figures on this machine. Each
// scenario starts a private stack (Postgres, dev Kafka, registry, auth,
// central) and the fleet simulator, runs for a fixed time, prints one table and
// writes the same figures as JSON. Run through `./evc bench [scenario]`.
//
//   fleet   N CPs (monitor link + 1 Hz health) and M concurrent supplies with
//           1 Hz telemetry for a fixed time.
//   churn   short supplies (request -> authorise -> 3 telemetry -> unplug ->
//           ticket) from many drivers as fast as the system accepts them.
//   ingest  central's telemetry ingest rate against a bare librdkafka consumer
//           reading the same messages, in the same run.
//   ocpp    N chargers over OCPP 1.6J through one evc-ocpp gateway, M of them
//           charging with MeterValues every 10 s, then churn over OCPP.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/cleanup/cleanup.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "evc/events/v1/events.pb.h"
#include "services/central/central_replica.h"
#include "services/common/backoff.h"
#include "services/common/grpc_server.h"
#include "services/common/grpc_util.h"
#include "services/common/message_auth.h"
#include "services/common/process.h"
#include "services/common/proto_time.h"
#include "services/cp/fleet.h"
#include "services/ocpp/client.h"
#include "services/edge/test_http_client.h"
#include "tests/bench/report.h"
#include "tests/integration/backlog.h"
#include "tests/integration/stack.h"

ABSL_FLAG(std::string, scenario, "fleet", "fleet | churn | ingest | edge | failover | ocpp");
ABSL_FLAG(int, clients, 1000, "edge: WebSocket clients watching the network");
ABSL_FLAG(int, concurrency, 16, "edge: concurrent callers of the unary comparison");
ABSL_FLAG(int, cps, 0,
          "charging points (default per scenario: fleet 5000, churn 400, ingest 500, failover 1000)");
ABSL_FLAG(int, kills, 10, "failover: how many times the leading central is killed (kill -9)");
ABSL_FLAG(int, supplies, 1000, "fleet: concurrent supplies (failover: at most a fifth of the CPs)");
ABSL_FLAG(absl::Duration, duration, absl::ZeroDuration(),
          "measurement window (default: fleet 60s, churn 30s)");
ABSL_FLAG(int, messages, 300000, "ingest: telemetry messages to ingest");
ABSL_FLAG(std::string, out, ".evc/bench", "directory for the JSON results");
ABSL_FLAG(int, repetitions, 3, "runs of the scenario, each on a fresh stack; figures are min/median/max");
ABSL_FLAG(std::string, history, "", "JSON lines file each run appends to (default: <out>/history.jsonl)");
ABSL_FLAG(std::string, compare, "",
          "an earlier run (history file or entry): print each figure's median now / then");
ABSL_FLAG(bool, render_doc, false,
          "run nothing: regenerate the figures table of --doc from the latest --history entries");
ABSL_FLAG(std::string, doc, "docs/benchmarks.md", "render_doc: the document with the figure markers");

namespace evc::bench {
namespace {

using central::v1::CentralService;
using testing::AddFleetDrivers;
using testing::FleetCpId;
using testing::FleetDriverId;
using testing::Parallel;
using testing::Process;
using testing::RequestChargeAs;
using testing::Stack;
using testing::StartFleet;

// ---- measurement helpers ----

class Latencies {
 public:
  void Add(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    ms_.push_back(absl::ToDoubleMilliseconds(d));
  }
  nlohmann::json Summary() const {
    absl::MutexLock lock(&mu_);
    std::vector<double> v = ms_;
    std::sort(v.begin(), v.end());
    auto pct = [&](double p) { return v.empty() ? 0.0 : v[std::min(v.size() - 1, size_t(p * v.size()))]; };
    return {{"count", v.size()}, {"p50_ms", pct(0.50)}, {"p95_ms", pct(0.95)}, {"p99_ms", pct(0.99)},
            {"max_ms", v.empty() ? 0.0 : v.back()}};
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<double> ms_ ABSL_GUARDED_BY(mu_);
};

struct CpuSample {
  double cpu_seconds = 0;
  absl::Time at;
};

CpuSample ReadCpu(pid_t pid) {
  CpuSample s{0, absl::Now()};
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = content.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream fields(content.substr(close + 2));
  std::string field;
  std::vector<std::string> f;
  while (fields >> field) f.push_back(field);
  // utime and stime are fields 14 and 15 of /proc/PID/stat (index 11, 12 after the name).
  if (f.size() > 12) s.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / sysconf(_SC_CLK_TCK);
  return s;
}

int64_t PeakRssKb(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return 0;
}

// CPU use of a set of processes over a window.
class CpuWindow {
 public:
  void Begin(const std::map<std::string, pid_t>& processes) {
    processes_ = processes;
    for (const auto& [name, pid] : processes_) begin_[name] = ReadCpu(pid);
  }
  nlohmann::json End() {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [name, pid] : processes_) {
      CpuSample end = ReadCpu(pid);
      double cores = (end.cpu_seconds - begin_[name].cpu_seconds) /
                     absl::ToDoubleSeconds(end.at - begin_[name].at);
      out[name] = {{"cpu_cores", cores}, {"peak_rss_mib", PeakRssKb(pid) / 1024.0}};
    }
    return out;
  }

 private:
  std::map<std::string, pid_t> processes_;
  std::map<std::string, CpuSample> begin_;
};

absl::StatusOr<central::v1::NetworkStats> Stats(Stack& stack) {
  return CallUnary(&CentralService::Stub::GetNetworkStats, stack.central(),
                   central::v1::GetNetworkStatsRequest(), absl::Seconds(5));
}

// Waits until central sees `n` connected CPs; at the deadline the run goes on
// with those that are, and says so in `missed`.
void WaitConnected(Stack& stack, int n, absl::Duration timeout, nlohmann::json* missed) {
  if (absl::Status s = testing::WaitConnected(stack, n, timeout); !s.ok()) {
    (*missed)["connected_cps"] = std::string(s.message());
  }
}

// Everything the probes learn about supplies, from central's stream and the
// drivers' notifications.
class Probes {
 public:
  explicit Probes(Stack& stack) : stack_(stack) {}
  ~Probes() { Stop(); }

  absl::Status Start() {
    auto tail = TopicTail::Open(stack_.kafka(), topics::kDriverNotifications, absl::Seconds(30));
    if (!tail.ok()) return tail.status();
    tail_ = std::move(*tail);
    watch_thread_ = std::thread([this] { Watch(); });
    ticket_thread_ = std::thread([this] { ReadTickets(); });
    return absl::OkStatus();
  }

  void Stop() {
    if (stopping_.exchange(true)) return;
    {
      absl::MutexLock lock(&mu_);
      if (watch_context_ != nullptr) watch_context_->TryCancel();
    }
    if (watch_thread_.joinable()) watch_thread_.join();
    if (ticket_thread_.joinable()) ticket_thread_.join();
  }

  void Requested(const std::string& supply_id, absl::Time at) {
    absl::MutexLock lock(&mu_);
    requested_at_[supply_id] = at;
  }
  void StopRequested(const std::string& supply_id, absl::Time at) {
    absl::MutexLock lock(&mu_);
    stop_requested_at_[supply_id] = at;
  }
  // Called for every ticket received, once per delivery.
  void OnTicket(std::function<void(const common::v1::Ticket&)> f) {
    absl::MutexLock lock(&mu_);
    on_ticket_ = std::move(f);
  }

  int64_t TicketsReceived(const std::set<std::string>& supplies, int64_t* duplicates) {
    absl::MutexLock lock(&mu_);
    int64_t distinct = 0;
    *duplicates = 0;
    for (const auto& id : supplies) {
      auto it = tickets_.find(id);
      if (it == tickets_.end()) continue;
      ++distinct;
      *duplicates += it->second - 1;
    }
    return distinct;
  }

  nlohmann::json Summary() {
    Latencies authorise;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [id, started] : started_at_) {
        auto r = requested_at_.find(id);
        if (r != requested_at_.end()) authorise.Add(started - r->second);
      }
    }
    return {{"telemetry_to_stream", telemetry_to_stream_.Summary()},
            {"request_to_authorise", authorise.Summary()},
            {"unplug_to_ticket_at_driver", unplug_to_ticket_.Summary()},
            {"stop_to_ticket_at_driver", stop_to_ticket_.Summary()}};
  }

 private:
  void Watch() {
    while (!stopping_) {
      grpc::ClientContext context;
      {
        absl::MutexLock lock(&mu_);
        watch_context_ = &context;
      }
      auto reader = stack_.central().WatchNetwork(&context, central::v1::WatchNetworkRequest());
      central::v1::NetworkUpdate u;
      bool streamed = false;
      while (reader->Read(&u)) {
        streamed = true;
        if (!u.has_charging_point() || !u.charging_point().has_supply()) continue;
        const common::v1::Supply& s = u.charging_point().supply();
        const absl::Time now = absl::Now();
        absl::MutexLock lock(&mu_);
        if (s.has_started_at() && !started_at_.count(s.supply_id())) {
          started_at_[s.supply_id()] = FromProto(s.started_at());
        }
        if (s.has_last_reading_at()) {
          absl::Time reading = FromProto(s.last_reading_at());
          absl::Time& last = last_reading_[s.supply_id()];
          if (reading > last) {
            last = reading;
            telemetry_to_stream_.Add(now - reading);
          }
        }
      }
      reader->Finish();
      {
        absl::MutexLock lock(&mu_);
        watch_context_ = nullptr;
      }
      // Central restarting, or a follower refusing: ask again, not in a spin.
      if (streamed) watch_backoff_.Reset();
      if (!stopping_) absl::SleepFor(watch_backoff_.Next());
    }
  }

  void ReadTickets() {
    while (!stopping_) {
      auto m = tail_->Next(absl::Milliseconds(200));
      // Sealed per driver: opened with the key auth gives that driver.
      events::v1::SealedNotification sealed;
      if (!m || !sealed.ParseFromString(m->payload)) continue;
      const NotificationKey* key = KeyOf(sealed.driver_id());
      if (key == nullptr) continue;
      absl::StatusOr<events::v1::DriverNotification> n = OpenNotification(*key, sealed.driver_id(), sealed);
      if (!n.ok() || !n->has_ticket()) continue;
      const absl::Time now = absl::Now();
      const common::v1::Ticket& t = n->ticket();
      std::function<void(const common::v1::Ticket&)> callback;
      {
        absl::MutexLock lock(&mu_);
        ++tickets_[t.supply_id()];
        auto stop = stop_requested_at_.find(t.supply_id());
        if (stop != stop_requested_at_.end()) {
          stop_to_ticket_.Add(now - stop->second);
        } else if (t.end_reason() == common::v1::END_REASON_UNPLUGGED) {
          unplug_to_ticket_.Add(now - FromProto(t.ended_at()));
        }
        callback = on_ticket_;
      }
      if (callback) callback(t);
    }
  }

  // The driver's notification key, asked of auth as that driver (ticket thread only).
  const NotificationKey* KeyOf(const std::string& driver_id) {
    auto it = notification_keys_.find(driver_id);
    if (it != notification_keys_.end()) return &it->second;
    if (!stack_.has_driver(driver_id)) return nullptr;
    auto auth = auth::v1::AuthService::NewStub(
        MakeChannel(stack_.auth_address(), stack_.driver(driver_id).Bearer(), &stack_.client_tls()));
    auth::v1::GetNotificationKeyRequest r;
    r.set_driver_id(driver_id);
    auto k = CallUnary(&auth::v1::AuthService::Stub::GetNotificationKey, *auth, r, absl::Seconds(5));
    if (!k.ok()) return nullptr;
    return &(notification_keys_[driver_id] = NotificationKey{k->key_id(), k->key()});
  }

  Stack& stack_;
  std::atomic<bool> stopping_{false};
  std::map<std::string, NotificationKey> notification_keys_;
  std::unique_ptr<TopicTail> tail_;
  std::thread watch_thread_;
  Backoff watch_backoff_{absl::Milliseconds(100), absl::Seconds(1)};
  std::thread ticket_thread_;
  absl::Mutex mu_;
  grpc::ClientContext* watch_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::map<std::string, absl::Time> requested_at_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> stop_requested_at_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> started_at_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> last_reading_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> tickets_ ABSL_GUARDED_BY(mu_);
  std::function<void(const common::v1::Ticket&)> on_ticket_ ABSL_GUARDED_BY(mu_);
  Latencies telemetry_to_stream_;
  Latencies unplug_to_ticket_;
  Latencies stop_to_ticket_;
};

std::map<std::string, pid_t> ServicePids(Stack& stack, Process* fleet) {
  std::map<std::string, pid_t> pids = {{"central", stack.central_process().pid()}};
  if (fleet != nullptr) pids["fleet"] = fleet->pid();
  return pids;
}

// The stack is private: every supply in its database is the benchmark's.
// Σ(last_seq - 1) over closed supplies is the telemetry the engines sent (each
// completion takes the last sequence number).
int64_t ExpectedTelemetry(Stack& stack) {
  std::string v = stack.Sql("SELECT coalesce(sum(greatest(last_seq - 1, 0)), 0) FROM supplies WHERE ended_at IS NOT NULL");
  return v.empty() ? 0 : std::stoll(v);
}

int64_t TicketsStored(Stack& stack) {
  std::string v = stack.Sql("SELECT count(*) FROM tickets");
  return v.empty() ? 0 : std::stoll(v);
}

Stack::Options StackOptions(const std::string& scenario) {
  Stack::Options o;
  // Under full load a health report may wait; a short timeout would measure
  // scheduling, not the network.
  o.link_timeout = absl::Seconds(10);
  o.restart_grace = absl::Minutes(30);
  // Enrolling thousands of CPs measures scrypt otherwise; credential hashing
  // is not what these scenarios are about.
  o.registry_flags = {"--secret_hash_cost=10"};
  o.dir = absl::StrCat(absl::GetFlag(FLAGS_out), "/", scenario, "-stack");
  return o;
}

// Each supply of `driver_of` (supply id -> its driver) stopped by its driver, 16
// at a time, the stop's time noted for the stop-to-ticket latency. Each is
// asked again until it is stopped or already ended (its CP faulted or its link
// expired) for up to `retry_for`; zero: asked once.
void StopEverySupply(Stack& stack, Probes& probes, const std::map<std::string, std::string>& driver_of,
                     absl::Duration retry_for) {
  std::vector<std::string> list;
  for (const auto& [supply, driver] : driver_of) list.push_back(supply);
  Parallel(static_cast<int>(list.size()), 16, [&](int i) {
    const std::string& driver = driver_of.at(list[i]);
    central::v1::StopChargeRequest r;
    r.set_supply_id(list[i]);
    r.set_driver_id(driver);
    probes.StopRequested(list[i], absl::Now());
    Stack::WaitFor([&] {
      auto stopped = CallUnary(&CentralService::Stub::StopCharge, stack.CentralAsDriver(driver), r, absl::Seconds(30));
      return stopped.ok() || absl::IsNotFound(stopped.status());
    }, retry_for);
  });
}

// ---- scenarios ----

struct RequestedSupplies {
  std::set<std::string> ids;
  std::map<std::string, std::string> driver_of;  // supply id -> its driver
  int rejected = 0;
};

// A charge on each of CPs 1..n (FleetCpId) by its driver (FleetDriverId), 16
// requests at a time, each noted with the probes; `on_request` (if any) hears
// of each CP as its request goes out.
RequestedSupplies RequestSupplies(Stack& stack, Probes& probes, int n,
                                  const std::function<void(const std::string& cp, absl::Time at)>& on_request = {}) {
  RequestedSupplies out;
  absl::Mutex mu;
  Parallel(n, 16, [&](int i) {
    const absl::Time t0 = absl::Now();
    if (on_request) on_request(FleetCpId(i + 1), t0);
    auto id = RequestChargeAs(stack, FleetCpId(i + 1), FleetDriverId(i + 1));
    absl::MutexLock lock(&mu);
    if (!id.ok()) {
      ++out.rejected;
      return;
    }
    probes.Requested(*id, t0);
    out.ids.insert(*id);
    out.driver_of[*id] = FleetDriverId(i + 1);
  });
  return out;
}

// Central's /metrics now ("" when it does not answer: the stages are then left empty).
std::string ScrapeCentral(Stack& stack) {
  auto reply = edge::testing::HttpCall(stack.metrics_port("central"), boost::beast::http::verb::get, "/metrics");
  return reply.status == 200 ? reply.body : "";
}

// Where the time of the two measured paths went between two scrapes of
// central: each stage is the age at that point since the path's start
// (central's LatencyStages), so they read as running totals; the last stage
// of each path is the bench's own figure in "latency".
nlohmann::json LatencyBreakdown(const std::string& before, const std::string& after) {
  auto age_of = [&](const char* event, const char* stage) {
    return HistogramWindow(before, after, "evc_engine_event_age_seconds",
                           {absl::StrCat("event=\"", event, "\""), absl::StrCat("stage=\"", stage, "\"")});
  };
  auto since_authorised = [&](const char* stage) {
    return HistogramWindow(before, after, "evc_supply_start_seconds", {absl::StrCat("stage=\"", stage, "\"")});
  };
  return {{"telemetry_since_reading",
           {{"1_produced", age_of("telemetry", "produced")},
            {"2_received_by_central", age_of("telemetry", "received")},
            {"3_applied_by_central", age_of("telemetry", "applied")}}},
          {"charge_request",
           {{"request_charge_call", HistogramWindow(before, after, "grpc_server_handling_seconds",
                                                    {"grpc_method=\"RequestCharge\""})},
            // Central asks auth for each driver's key the first time it seals for them.
            {"notification_key_fetch", HistogramWindow(before, after, "grpc_client_handling_seconds",
                                                       {"grpc_method=\"GetNotificationKey\""})}}},
          {"start_since_authorised",
           {{"1_command_sent", since_authorised("command_sent")},
            {"2_engine_started", since_authorised("engine_started")}}},
          {"start_event_since_engine_start",
           {{"1_produced", age_of("started", "produced")},
            {"2_received_by_central", age_of("started", "received")},
            {"3_applied_by_central", age_of("started", "applied")}}}};
}

absl::StatusOr<nlohmann::json> Fleet(Stack& stack) {
  const int cps = absl::GetFlag(FLAGS_cps) > 0 ? absl::GetFlag(FLAGS_cps) : 5000;
  const int supplies = std::min(absl::GetFlag(FLAGS_supplies), cps);
  const absl::Duration window =
      absl::GetFlag(FLAGS_duration) > absl::ZeroDuration() ? absl::GetFlag(FLAGS_duration) : absl::Seconds(60);
  nlohmann::json missed = nlohmann::json::object();
  if (absl::Status s = AddFleetDrivers(stack, supplies); !s.ok()) return s;
  const absl::Time fleet_start = absl::Now();
  auto fleet = StartFleet(stack, cps, {});
  WaitConnected(stack, cps, absl::Minutes(15), &missed);
  const absl::Duration connect_time = absl::Now() - fleet_start;
  Probes probes(stack);
  if (absl::Status s = probes.Start(); !s.ok()) return s;
  auto before = Stats(stack);
  if (!before.ok()) return before.status();
  const std::string scrape_before = ScrapeCentral(stack);

  const RequestedSupplies requested = RequestSupplies(stack, probes, supplies);
  const std::set<std::string>& ids = requested.ids;
  const std::map<std::string, std::string>& driver_of = requested.driver_of;
  CpuWindow cpu;
  cpu.Begin(ServicePids(stack, fleet.get()));
  absl::SleepFor(window);
  nlohmann::json usage = cpu.End();
  auto during = Stats(stack);
  const nlohmann::json stages = LatencyBreakdown(scrape_before, ScrapeCentral(stack));

  StopEverySupply(stack, probes, driver_of, absl::ZeroDuration());
  int64_t duplicates = 0;
  Stack::WaitFor([&] { return probes.TicketsReceived(ids, &duplicates) >= static_cast<int64_t>(ids.size()); },
                 absl::Seconds(90));
  // Let central's journal write the last progress before counting.
  absl::SleepFor(absl::Seconds(1));
  const int64_t received = probes.TicketsReceived(ids, &duplicates);
  probes.Stop();
  auto after = Stats(stack);
  if (!after.ok()) return after.status();
  const int64_t applied = after->telemetry_applied() - before->telemetry_applied();
  const int64_t expected = ExpectedTelemetry(stack);
  return nlohmann::json{
      {"connected_cps", during.ok() ? during->connected() : 0},
      {"cps", cps},
      {"connect_seconds", absl::ToDoubleSeconds(connect_time)},
      {"supplies_started", ids.size()},
      {"supplies_rejected", requested.rejected},
      {"supplies_completed", TicketsStored(stack)},
      {"tickets_received", received},
      {"tickets_duplicated", duplicates},
      {"tickets_lost", static_cast<int64_t>(ids.size()) - received},
      {"telemetry_expected", expected},
      {"telemetry_applied", applied},
      {"telemetry_duplicates_dropped", after->telemetry_duplicates() - before->telemetry_duplicates()},
      {"telemetry_lost", expected - applied},
      {"window_seconds", absl::ToDoubleSeconds(window)},
      {"processes", usage},
      {"latency", probes.Summary()},
      {"latency_stages", stages},
      {"missed", missed}};
}

// Short supplies on CPs 1..cps (FleetCpId), each CP requested again as soon as
// its ticket reached the driver, from 32 callers; after a 5 s warm-up the
// sessions completed in `window`, with the CPU of `pids` meanwhile. Waits for
// every ticket before it counts the lost and duplicated ones.
nlohmann::json ChurnLoop(Stack& stack, Probes& probes, int cps, absl::Duration window,
                         const std::map<std::string, pid_t>& pids) {
  absl::Mutex mu;
  std::set<int> free_cps;
  for (int i = 1; i <= cps; ++i) free_cps.insert(i);
  std::map<std::string, int> supply_cp;
  std::set<std::string> ids;
  std::atomic<bool> requesting{true};
  std::atomic<int64_t> completed_in_window{0};
  std::atomic<int> rejected{0};
  absl::Time window_start = absl::InfiniteFuture(), window_end = absl::InfiniteFuture();
  probes.OnTicket([&](const common::v1::Ticket& t) {
    absl::MutexLock lock(&mu);
    auto it = supply_cp.find(t.supply_id());
    if (it == supply_cp.end()) return;
    const absl::Time now = absl::Now();
    if (now >= window_start && now < window_end) ++completed_in_window;
    free_cps.insert(it->second);
    supply_cp.erase(it);
  });
  std::vector<std::thread> workers;
  for (int w = 0; w < 32; ++w) {
    workers.emplace_back([&] {
      while (requesting) {
        int cp = 0;
        {
          absl::MutexLock lock(&mu);
          mu.AwaitWithTimeout(absl::Condition(+[](std::set<int>* f) { return !f->empty(); }, &free_cps),
                              absl::Milliseconds(100));
          if (free_cps.empty()) continue;
          cp = *free_cps.begin();
          free_cps.erase(free_cps.begin());
        }
        const absl::Time t0 = absl::Now();
        auto id = RequestChargeAs(stack, FleetCpId(cp), FleetDriverId(cp));
        absl::MutexLock lock(&mu);
        if (!id.ok()) {
          ++rejected;
          free_cps.insert(cp);
          continue;
        }
        probes.Requested(*id, t0);
        ids.insert(*id);
        supply_cp[*id] = cp;
      }
    });
  }
  // Warm up, then measure.
  absl::SleepFor(absl::Seconds(5));
  CpuWindow cpu;
  cpu.Begin(pids);
  {
    absl::MutexLock lock(&mu);
    window_start = absl::Now();
    window_end = window_start + window;
  }
  absl::SleepFor(window);
  nlohmann::json usage = cpu.End();
  requesting = false;
  for (auto& t : workers) t.join();
  std::set<std::string> all;
  {
    absl::MutexLock lock(&mu);
    all = ids;
  }
  int64_t duplicates = 0;
  Stack::WaitFor([&] { return probes.TicketsReceived(all, &duplicates) >= static_cast<int64_t>(all.size()); },
                 absl::Seconds(60));
  const int64_t received = probes.TicketsReceived(all, &duplicates);
  probes.OnTicket(nullptr);
  return nlohmann::json{{"sessions_per_second", completed_in_window / absl::ToDoubleSeconds(window)},
                        {"sessions_completed_in_window", completed_in_window.load()},
                        {"supplies_started", all.size()},
                        {"supplies_rejected", rejected.load()},
                        {"tickets_received", received},
                        {"tickets_duplicated", duplicates},
                        {"tickets_lost", static_cast<int64_t>(all.size()) - received},
                        {"window_seconds", absl::ToDoubleSeconds(window)},
                        {"processes", usage}};
}

absl::StatusOr<nlohmann::json> Churn(Stack& stack) {
  const int cps = absl::GetFlag(FLAGS_cps) > 0 ? absl::GetFlag(FLAGS_cps) : 400;
  const absl::Duration window =
      absl::GetFlag(FLAGS_duration) > absl::ZeroDuration() ? absl::GetFlag(FLAGS_duration) : absl::Seconds(30);
  nlohmann::json missed = nlohmann::json::object();
  if (absl::Status s = AddFleetDrivers(stack, cps); !s.ok()) return s;
  auto fleet = StartFleet(stack, cps, {"--telemetry_period=100ms", "--unplug_after_readings=3"});
  WaitConnected(stack, cps, absl::Minutes(10), &missed);
  Probes probes(stack);
  if (absl::Status s = probes.Start(); !s.ok()) return s;
  nlohmann::json figures = ChurnLoop(stack, probes, cps, window, ServicePids(stack, fleet.get()));
  probes.Stop();
  figures["cps"] = cps;
  figures["supplies_completed"] = TicketsStored(stack);
  figures["latency"] = probes.Summary();
  figures["missed"] = missed;
  return figures;
}

// ---- ocpp: chargers over OCPP 1.6J through one evc-ocpp gateway ----

// What the simulated chargers see of the gateway, in two phases: the ramp
// (every supply requested at once, faster than the network starts them: CALLs
// queue) and the steady window (the chargers charge and meter), which the
// round-trip target is about.
class ChargerProbes : public cp::OcppFleetObserver {
 public:
  enum class Phase { kConnecting, kRamp, kSteady, kDone };

  void CallAnswered(const std::string& action, absl::Duration round_trip, bool ok) override {
    if (!ok) {
      ++failed_calls_;
      return;
    }
    const Phase phase = phase_.load();
    if (phase == Phase::kRamp) ramp_call_round_trip_.Add(round_trip);
    if (phase != Phase::kSteady) return;
    call_round_trip_.Add(round_trip);
    if (action == "MeterValues") meter_values_round_trip_.Add(round_trip);
  }
  void RemoteStartReceived(const std::string& cp_id, absl::Time at) override {
    absl::MutexLock lock(&mu_);
    remote_start_at_[cp_id] = at;
    auto r = requested_at_.find(cp_id);
    if (r != requested_at_.end()) request_to_remote_start_.Add(at - r->second);
  }
  void TransactionStarted(const std::string& cp_id, int64_t, absl::Time at) override {
    absl::MutexLock lock(&mu_);
    ++started_;
    auto r = remote_start_at_.find(cp_id);
    if (r != remote_start_at_.end()) remote_start_to_started_.Add(at - r->second);
  }

  void Requested(const std::string& cp_id, absl::Time at) {
    absl::MutexLock lock(&mu_);
    requested_at_[cp_id] = at;
  }
  void Enter(Phase phase) { phase_ = phase; }
  // Until `count` transactions started or `deadline`: the end of the ramp.
  bool WaitStarted(int64_t count, absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    awaited_ = count;
    return mu_.AwaitWithDeadline(absl::Condition(this, &ChargerProbes::StartedAwaited), deadline);
  }

  nlohmann::json Summary() const {
    return {{"call_round_trip", call_round_trip_.Summary()},
            {"meter_values_round_trip", meter_values_round_trip_.Summary()},
            {"ramp_call_round_trip", ramp_call_round_trip_.Summary()},
            {"request_to_remote_start", request_to_remote_start_.Summary()},
            {"remote_start_to_start_transaction", remote_start_to_started_.Summary()},
            {"failed_calls", failed_calls_.load()}};
  }

 private:
  std::atomic<Phase> phase_{Phase::kConnecting};
  std::atomic<int64_t> failed_calls_{0};
  Latencies call_round_trip_;
  Latencies meter_values_round_trip_;
  Latencies ramp_call_round_trip_;
  Latencies request_to_remote_start_;
  Latencies remote_start_to_started_;
  bool StartedAwaited() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return started_ >= awaited_; }

  absl::Mutex mu_;
  int64_t started_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t awaited_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, absl::Time> requested_at_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> remote_start_at_ ABSL_GUARDED_BY(mu_);
};

// evc-ocpp in front of the stack, once it admits chargers; its port.
absl::StatusOr<std::unique_ptr<Process>> StartGateway(Stack& stack, int port) {
  auto gateway = stack.Spawn("ocpp", "evc-ocpp",
                             {absl::StrCat("--listen=127.0.0.1:", port), "--auth=" + stack.auth_address(),
                              "--central=" + stack.central_target(), "--metrics_listen=off",
                              "--group=evc-ocpp-bench"});
  const std::string log = gateway->log_path();
  if (!Stack::WaitFor([&] {
        std::ifstream in(log);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        return text.find("chargers are admitted") != std::string::npos;
      }, absl::Seconds(60))) {
    return absl::DeadlineExceededError(absl::StrCat("evc-ocpp never admitted chargers: see ", log));
  }
  return gateway;
}

constexpr absl::Duration kRampSettle = absl::Seconds(5);

// Phase 1: --cps chargers (5,000) connected over OCPP, --supplies (1,000) of
// them charging with MeterValues every 10 s for --duration (60 s), then
// stopped by their drivers (RemoteStopTransaction). Phase 2: the churn
// scenario over OCPP on 400 of them (3 MeterValues 100 ms apart, then
// unplugged) for 30 s (--duration if given).
absl::StatusOr<nlohmann::json> Ocpp(Stack& stack) {
  const int cps = absl::GetFlag(FLAGS_cps) > 0 ? absl::GetFlag(FLAGS_cps) : 5000;
  const int supplies = std::min(absl::GetFlag(FLAGS_supplies), cps);
  const int churn_cps = std::min(400, cps);
  const absl::Duration window =
      absl::GetFlag(FLAGS_duration) > absl::ZeroDuration() ? absl::GetFlag(FLAGS_duration) : absl::Seconds(60);
  nlohmann::json missed = nlohmann::json::object();
  if (absl::Status s = AddFleetDrivers(stack, std::max(supplies, churn_cps)); !s.ok()) return s;
  const int port = testing::FreePort();
  auto gateway = StartGateway(stack, port);
  if (!gateway.ok()) return gateway.status();
  // The bench process runs the 5,000 chargers (and the probes): its CPU says
  // how much of the two cores the simulation itself takes.
  const std::map<std::string, pid_t> pids = {{"central", stack.central_process().pid()},
                                             {"ocpp", (*gateway)->pid()},
                                             {"kafka", stack.kafka_process().pid()},
                                             {"bench_chargers", getpid()}};

  ChargerProbes chargers;
  cp::OcppFleet fleet({.power_w = 22000, .meter_period = absl::Seconds(10)},
                      *ocpp::ParseCentralSystemUrl(absl::StrCat("ws://127.0.0.1:", port, "/ocpp")), 2, &chargers);
  if (absl::Status s = fleet.Enrol(stack.registry(), cp::PlanFleet({.count = cps, .prefix = "B-", .price_millieuros_per_kwh = 350, .max_power_w = 22000}), absl::Minutes(5),
                                   nullptr);
      !s.ok()) {
    return s;
  }
  absl::Notification stop_fleet;
  const absl::Time connect_start = absl::Now();
  std::thread ticking([&] { fleet.Run(2, stop_fleet); });
  absl::Cleanup stop_ticking = [&] {
    stop_fleet.Notify();
    ticking.join();
  };
  WaitConnected(stack, cps, absl::Minutes(15), &missed);
  const absl::Duration connect_time = absl::Now() - connect_start;
  Probes probes(stack);
  if (absl::Status s = probes.Start(); !s.ok()) return s;
  chargers.Enter(ChargerProbes::Phase::kRamp);

  const absl::Time ramp_start = absl::Now();
  const RequestedSupplies requested = RequestSupplies(
      stack, probes, supplies, [&](const std::string& cp, absl::Time at) { chargers.Requested(cp, at); });
  const std::set<std::string>& ids = requested.ids;
  const std::map<std::string, std::string>& driver_of = requested.driver_of;
  if (!chargers.WaitStarted(static_cast<int64_t>(ids.size()), absl::Now() + absl::Minutes(2))) {
    missed["ramp_seconds"] = "not every accepted supply started its transaction within 2 minutes";
  }
  const absl::Duration ramp_time = absl::Now() - ramp_start;
  // What the ramp left queued (each charger's StatusNotification Charging)
  // drains first: it counts with the ramp, not the steady state.
  absl::SleepFor(kRampSettle);
  chargers.Enter(ChargerProbes::Phase::kSteady);
  CpuWindow cpu;
  cpu.Begin(pids);
  absl::SleepFor(window);
  nlohmann::json usage = cpu.End();
  // The mass stop and the churn that follow are not the steady state.
  chargers.Enter(ChargerProbes::Phase::kDone);
  auto during = Stats(stack);
  const size_t booted = fleet.booted();

  StopEverySupply(stack, probes, driver_of, absl::ZeroDuration());
  int64_t duplicates = 0;
  Stack::WaitFor([&] { return probes.TicketsReceived(ids, &duplicates) >= static_cast<int64_t>(ids.size()); },
                 absl::Seconds(90));
  const int64_t received = probes.TicketsReceived(ids, &duplicates);
  nlohmann::json latency = probes.Summary();
  latency.update(chargers.Summary());

  fleet.SetBehaviour({.power_w = 22000, .unplug_after_readings = 3, .meter_period = absl::Milliseconds(100)});
  const absl::Duration churn_window =
      absl::GetFlag(FLAGS_duration) > absl::ZeroDuration() ? absl::GetFlag(FLAGS_duration) : absl::Seconds(30);
  nlohmann::json churn = ChurnLoop(stack, probes, churn_cps, churn_window, pids);
  churn["cps"] = churn_cps;
  probes.Stop();
  return nlohmann::json{
      {"cps", cps},
      {"connected_cps", during.ok() ? during->connected() : 0},
      {"chargers_booted", booted},
      {"connect_seconds", absl::ToDoubleSeconds(connect_time)},
      {"ramp_seconds", absl::ToDoubleSeconds(ramp_time)},
      {"supplies_started", ids.size()},
      {"supplies_rejected", requested.rejected},
      {"tickets_received", received},
      {"tickets_duplicated", duplicates},
      {"tickets_lost", static_cast<int64_t>(ids.size()) - received},
      {"window_seconds", absl::ToDoubleSeconds(window)},
      {"processes", usage},
      {"latency", latency},
      {"churn", churn},
      {"missed", missed}};
}

// What a reader of the backlog got through before its deadline, and how fast.
struct ReadRate {
  int64_t read = 0;
  double per_second = 0;
};

// Figures of a reader that may have stopped at its deadline: a slow run says
// what it read and marks the rate missed.
void ReportReader(const std::string& name, const ReadRate& r, int64_t total, nlohmann::json* figures,
                  nlohmann::json* missed) {
  (*figures)[name + "_rate_per_second"] = r.per_second;
  (*figures)[name + "_ns_per_message"] = r.per_second > 0 ? 1e9 / r.per_second : 0;
  if (r.read < total) {
    (*missed)[name + "_rate_per_second"] =
        absl::StrCat(name, " read ", r.read, " of ", total, " messages before its deadline");
  }
}

// A bare librdkafka consumer reading every message of the topic: the ceiling.
absl::StatusOr<ReadRate> BareConsumerRate(Stack& stack, int64_t total) {
  std::string error;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", stack.kafka(), error);
  conf->set("group.id", "bench-bare", error);
  conf->set("auto.offset.reset", "earliest", error);
  conf->set("enable.auto.commit", "false", error);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!consumer) return absl::InternalError(error);
  consumer->subscribe({topics::kEngineEvents});
  int64_t read = 0;
  absl::Time first = absl::InfinitePast(), last;
  const absl::Time deadline = absl::Now() + absl::Minutes(5);
  while (read < total && absl::Now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    if (read == 0) first = absl::Now();
    ++read;
    last = absl::Now();
  }
  consumer->close();
  return ReadRate{read, read > 1 ? (read - 1) / absl::ToDoubleSeconds(last - first) : 0};
}

// The project's consumer wrapper (central's configuration) with a handler that
// does nothing: separates the wrapper's cost from central's logic.
absl::StatusOr<ReadRate> WrapperConsumerRate(Stack& stack, int64_t total) {
  auto consumer = KafkaConsumer::Create({.brokers = stack.kafka(),
                                         .group_id = "bench-wrapper",
                                         .client_id = "bench-wrapper",
                                         .topics = {topics::kEngineEvents}});
  if (!consumer.ok()) return consumer.status();
  std::atomic<int64_t> read{0};
  absl::Mutex mu;
  absl::Time first = absl::InfinitePast(), last;
  (*consumer)->Start([&](std::span<const KafkaMessage> batch) {
    absl::MutexLock lock(&mu);
    if (read == 0) first = absl::Now();
    read += static_cast<int64_t>(batch.size());
    last = absl::Now();
  });
  Stack::WaitFor([&] { return read >= total; }, absl::Minutes(5));
  (*consumer)->Stop();
  absl::MutexLock lock(&mu);
  return ReadRate{read, read / std::max(1e-9, absl::ToDoubleSeconds(last - first))};
}

absl::StatusOr<nlohmann::json> Ingest(Stack& stack) {
  const int cps = absl::GetFlag(FLAGS_cps) > 0 ? absl::GetFlag(FLAGS_cps) : 500;
  const int64_t messages = absl::GetFlag(FLAGS_messages);
  nlohmann::json missed = nlohmann::json::object();
  if (absl::Status s = AddFleetDrivers(stack, cps); !s.ok()) return s;
  auto fleet = StartFleet(stack, cps, {});
  WaitConnected(stack, cps, absl::Minutes(10), &missed);
  // The supplies the backlog is for; a CP not connected goes without (the
  // backlog is for those open, whatever their number).
  Parallel(cps, 16, [&](int i) {
    RequestChargeAs(stack, FleetCpId(i + 1), FleetDriverId(i + 1)).status().IgnoreError();
  });
  absl::SleepFor(absl::Seconds(3));
  // Central goes down with the supplies open; the engines stop too, so that
  // only the benchmark's messages arrive.
  stack.central_process().Kill();
  fleet->Stop();
  std::vector<testing::OpenSupply> open = testing::OpenSupplies(stack);
  const absl::Time produce_start = absl::Now();
  if (absl::Status s = testing::ProduceTelemetry(stack, open, messages); !s.ok()) return s;
  const double produce_rate = messages / absl::ToDoubleSeconds(absl::Now() - produce_start);

  // The ceiling: everything in the topic, read by a bare consumer.
  // What the broker still holds, in all and past central's committed offsets:
  // the dev broker keeps 5 MiB per partition, so a large backlog loses its
  // oldest messages before anyone reads them (central counts and logs those,
  // evc_kafka_expired_unread_messages_total). Central is measured on what it
  // can still read, not on what was produced.
  auto held = testing::BacklogOf(stack.kafka(), topics::kEngineEvents, "evc-central");
  if (!held.ok()) return held.status();
  int64_t topic_total = 0, unread = 0;
  for (const testing::PartitionBacklog& p : *held) {
    topic_total += p.high - p.low;
    unread += p.Unread();
  }
  // Held past central's offsets, the engines' last messages before the kill
  // too: central read those before and skips them without counting.
  const int64_t backlog = std::min(messages, unread);
  auto bare = BareConsumerRate(stack, topic_total);
  if (!bare.ok()) return bare.status();
  auto wrapper = WrapperConsumerRate(stack, topic_total);
  if (!wrapper.ok()) return wrapper.status();

  // Central restarts with the backlog waiting: how long until it applied it
  // all, from the restart (central reads while it starts, before it answers
  // health checks, so a clock started later would flatter it).
  const absl::Time restarted = absl::Now();
  if (absl::Status s = stack.RestartCentral(); !s.ok()) return s;
  CpuWindow cpu;
  cpu.Begin(ServicePids(stack, nullptr));
  absl::Time done = restarted;
  int64_t count = 0;
  // The drain, timed like the bare consumer (its first message to its last):
  // from the first poll that finds central applying, counting only what it
  // applied after that poll, so its start-up (Postgres, leadership, group
  // join, fetching keys) is left out of the per-message cost; the catch-up
  // time above keeps it.
  std::optional<std::pair<absl::Time, int64_t>> first_seen;
  const absl::Time deadline = absl::Now() + absl::Minutes(5);
  while (count < backlog && absl::Now() < deadline) {
    auto s = Stats(stack);
    if (s.ok()) {
      count = s->telemetry_applied() + s->telemetry_duplicates() + s->engine_events_ignored();
      done = absl::Now();
      if (!first_seen && count > 0) first_seen.emplace(done, count);
    }
    if (count < backlog) absl::SleepFor(absl::Milliseconds(20));
  }
  nlohmann::json usage = cpu.End();
  const double catch_up = absl::ToDoubleSeconds(done - restarted);
  // A backlog small enough to be applied before the first poll saw it has no
  // drain window: the rate from the restart, start-up included, stands in
  // (lower than the drain's).
  const bool drain_timed = first_seen && done > first_seen->first && count > first_seen->second;
  const ReadRate drain{count, drain_timed ? (count - first_seen->second) /
                                                absl::ToDoubleSeconds(done - first_seen->first)
                                          : count / std::max(1e-9, catch_up)};
  nlohmann::json figures = {
      {"messages", messages},
      {"messages_held_by_broker", backlog},
      {"open_supplies", open.size()},
      {"produce_rate_per_second", produce_rate},
      {"central_applied", count},
      {"central_catch_up_seconds", catch_up},
      {"processes", usage}};
  ReportReader("bare_consumer", *bare, topic_total, &figures, &missed);
  ReportReader("wrapper_consumer", *wrapper, topic_total, &figures, &missed);
  ReportReader("central_ingest", ReadRate{count, count / std::max(1e-9, catch_up)}, backlog, &figures, &missed);
  ReportReader("central_drain", drain, backlog, &figures, &missed);
  figures["central_drain_window_messages"] = drain_timed ? count - first_seen->second : 0;
  figures["ratio"] = bare->per_second > 0 ? drain.per_second / bare->per_second : 0;
  auto stats = Stats(stack);
  figures["telemetry_applied"] = stats.ok() ? stats->telemetry_applied() : 0;
  figures["telemetry_duplicates_dropped"] = stats.ok() ? stats->telemetry_duplicates() : 0;
  figures["missed"] = missed;
  return figures;
}


// ---- edge: REST against direct gRPC, and WebSocket fan-out ----

// Calls `call` from `threads` threads for `window`; QPS and latencies.
nlohmann::json Hammer(int threads, absl::Duration window, const std::function<std::function<bool()>()>& make_caller) {
  Latencies latencies;
  std::atomic<int64_t> ok{0}, failed{0};
  const absl::Time end = absl::Now() + window;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      std::function<bool()> call = make_caller();
      while (absl::Now() < end) {
        const absl::Time t0 = absl::Now();
        if (call()) {
          ++ok;
          latencies.Add(absl::Now() - t0);
        } else {
          ++failed;
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  nlohmann::json out = latencies.Summary();
  out["qps"] = ok.load() / absl::ToDoubleSeconds(window);
  out["failed"] = failed.load();
  return out;
}

// Many WebSocket clients of /v1/network:watch on a few threads: frames per
// client, and the delay from a CP's reading to its arrival here.
class WatchCrowd {
 public:
  WatchCrowd(int port, int clients) : port_(port), frames_(clients) {
    for (auto& f : frames_) f = 0;
  }
  ~WatchCrowd() { Stop(); }

  absl::Status Open() {
    for (size_t i = 0; i < frames_.size(); ++i) {
      try {
        // Lines: under load the edge sends what queued in one message.
        sockets_.push_back(edge::testing::OpenWebSocket(ioc_, port_, "/v1/network:watch",
                                                        {{"Sec-WebSocket-Protocol", "evc.ndjson"}}));
      } catch (const boost::system::system_error& e) {
        return absl::UnavailableError(absl::StrCat("client ", i, ": ", e.what()));
      }
      buffers_.emplace_back();
    }
    for (size_t i = 0; i < sockets_.size(); ++i) Read(i);
    for (int t = 0; t < 2; ++t) threads_.emplace_back([this] { ioc_.run(); });
    return absl::OkStatus();
  }

  // Counting starts now.
  void Reset() {
    for (auto& f : frames_) f = 0;
    measuring_ = true;
  }
  void Freeze() { measuring_ = false; }

  void Stop() {
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  nlohmann::json Summary(int64_t reference_frames) {
    int64_t lo = INT64_MAX, hi = 0, total = 0;
    int complete = 0;
    for (auto& f : frames_) {
      int64_t n = f.load();
      lo = std::min(lo, n);
      hi = std::max(hi, n);
      total += n;
      if (n >= reference_frames) ++complete;
    }
    nlohmann::json delay = delays_.Summary();
    return {{"clients", frames_.size()}, {"clients_closed", closed_.load()},
            {"frames_total", total}, {"frames_per_client_min", lo}, {"frames_per_client_max", hi},
            {"reference_frames", reference_frames}, {"clients_with_every_update", complete},
            {"delivery_delay", delay}};
  }

 private:
  void Read(size_t i) {
    sockets_[i]->async_read(buffers_[i], [this, i](boost::beast::error_code ec, size_t) {
      if (ec) {
        ++closed_;
        return;
      }
      if (measuring_) {
        const std::string message = boost::beast::buffers_to_string(buffers_[i].data());
        frames_[i] += 1 + std::count(message.begin(), message.end(), '\n');
        Observe(message);
      }
      buffers_[i].consume(buffers_[i].size());
      Read(i);
    });
  }

  // One delay sample per message: its first update that carries a reading
  // time, the oldest of what the edge coalesced (so the sample is the
  // message's worst). Parsing every update's time would make the bench's
  // own readers, on the same two cores, the bottleneck at 1,000 x 1,000.
  void Observe(const std::string& message) {
    static constexpr absl::string_view kKey = "\"lastReadingAt\":\"";
    size_t at = message.find(kKey.data());
    if (at == std::string::npos) return;
    at += kKey.size();
    const size_t end = message.find('"', at);
    absl::Time when;
    std::string error;
    if (end == std::string::npos || !absl::ParseTime(absl::RFC3339_full, message.substr(at, end - at), &when, &error)) {
      return;
    }
    delays_.Add(absl::Now() - when);
  }

  const int port_;
  boost::asio::io_context ioc_{2};
  std::vector<std::unique_ptr<edge::testing::WebSocket>> sockets_;
  std::deque<boost::beast::flat_buffer> buffers_;
  std::vector<std::atomic<int64_t>> frames_;
  std::atomic<int> closed_{0};
  std::atomic<bool> measuring_{false};
  std::vector<std::thread> threads_;
  Latencies delays_;
};

// What central itself sends one watcher in the window: the reference count.
class ReferenceWatcher {
 public:
  explicit ReferenceWatcher(Stack& stack) {
    thread_ = std::thread([this, &stack] {
      central::v1::WatchNetworkRequest request;
      auto reader = stack.central().WatchNetwork(&context_, request);
      central::v1::NetworkUpdate update;
      while (reader->Read(&update)) {
        if (measuring_) ++frames_;
      }
    });
  }
  ~ReferenceWatcher() {
    context_.TryCancel();
    thread_.join();
  }
  void Reset() { frames_ = 0; measuring_ = true; }
  void Freeze() { measuring_ = false; }
  int64_t frames() const { return frames_; }

 private:
  grpc::ClientContext context_;
  std::atomic<int64_t> frames_{0};
  std::atomic<bool> measuring_{false};
  std::thread thread_;
};

absl::StatusOr<nlohmann::json> Edge(Stack& stack) {
  const int supplies = absl::GetFlag(FLAGS_supplies);
  const int cps = absl::GetFlag(FLAGS_cps) > 0 ? absl::GetFlag(FLAGS_cps) : supplies;
  const int clients = absl::GetFlag(FLAGS_clients);
  const absl::Duration window =
      absl::GetFlag(FLAGS_duration) > absl::ZeroDuration() ? absl::GetFlag(FLAGS_duration) : absl::Seconds(20);
  nlohmann::json missed = nlohmann::json::object();
  if (absl::Status s = AddFleetDrivers(stack, std::min(supplies, cps)); !s.ok()) return s;
  auto fleet = StartFleet(stack, cps, {});
  WaitConnected(stack, cps, absl::Minutes(15), &missed);
  auto port = stack.StartEdge();
  if (!port.ok()) return port.status();

  // 1. The same unary read, directly and through the edge, same concurrency.
  const int threads = absl::GetFlag(FLAGS_concurrency);
  const absl::Duration unary_window = std::min(window, absl::Seconds(10));
  nlohmann::json direct = Hammer(threads, unary_window, [&] {
    return [&] {
      return CallUnary(&CentralService::Stub::ListChargingPoints, stack.central(),
                       central::v1::ListChargingPointsRequest(), absl::Seconds(10)).ok();
    };
  });
  nlohmann::json rest = Hammer(threads, unary_window, [&] {
    auto connection = std::make_shared<edge::testing::HttpConnection>(*port);
    return [connection] { return connection->Call(boost::beast::http::verb::get, "/v1/charging-points").status == 200; };
  });

  // 2. WebSocket clients watching while supplies send telemetry every second.
  std::atomic<int> rejected{0};
  Parallel(std::min(supplies, cps), 16, [&](int i) {
    if (!RequestChargeAs(stack, FleetCpId(i + 1), FleetDriverId(i + 1)).ok()) ++rejected;
  });
  ReferenceWatcher reference(stack);
  WatchCrowd crowd(*port, clients);
  if (absl::Status s = crowd.Open(); !s.ok()) return s;
  absl::SleepFor(absl::Seconds(3));  // snapshots delivered, supplies charging
  CpuWindow cpu;
  std::map<std::string, pid_t> pids = ServicePids(stack, fleet.get());
  pids["edge"] = stack.edge_process().pid();
  reference.Reset();
  crowd.Reset();
  cpu.Begin(pids);
  absl::SleepFor(window);
  reference.Freeze();
  nlohmann::json usage = cpu.End();
  absl::SleepFor(absl::Seconds(1));  // what was in flight at the end arrives
  crowd.Freeze();
  nlohmann::json fanout = crowd.Summary(reference.frames());
  crowd.Stop();
  return nlohmann::json{
      {"unary_direct_qps", direct["qps"]},
      {"unary_edge_qps", rest["qps"]},
      {"unary_ratio", rest["qps"].get<double>() / std::max(1.0, direct["qps"].get<double>())},
      {"unary_concurrency", threads},
      {"supplies", std::min(supplies, cps) - rejected.load()},
      {"ws", fanout},
      {"window_seconds", absl::ToDoubleSeconds(window)},
      {"processes", usage},
      {"latency", {{"unary_direct", direct}, {"unary_edge", rest}, {"ws_delivery_delay", fanout["delivery_delay"]}}},
      {"missed", missed}};
}

// ---- failover: the leading central killed (kill -9) under load, again and again ----

// Two central replicas; the fleet, the drivers and the probes follow the
// leader. Each round kills whichever replica leads and measures how long until
// the other serves, until every CP is linked to it again, and until a driver's
// charge request is accepted; then the killed one comes back as a follower.
class CentralPair {
 public:
  explicit CentralPair(Stack& stack) : stack_(stack) {}

  absl::Status Start() {
    ports_ = {std::stoi(stack_.central_address().substr(10)), testing::FreePort()};
    replicas_[ports_[1]] = stack_.StartCentralReplica("central-b", ports_[1], {"--replica_id=central-b"});
    if (!Stack::WaitFor([&] { return Alive(ports_[1]); }, absl::Seconds(60))) {
      return absl::UnavailableError("the second central replica never answered");
    }
    stack_.FollowCentralLeader({ports_[1]});
    return absl::OkStatus();
  }
  // The port of the replica that leads, 0 while none does.
  int Leader() {
    for (int port : ports_) {
      if (stack_.Health(port, kCentralServiceName) == grpc::health::v1::HealthCheckResponse::SERVING) return port;
    }
    return 0;
  }
  int Other(int port) const { return port == ports_[0] ? ports_[1] : ports_[0]; }
  void Kill(int port) {
    auto it = replicas_.find(port);
    if (it != replicas_.end()) return it->second->Kill();
    stack_.central_process().Kill();  // the stack's own first replica
  }
  // The killed replica again, as a follower, once it answers.
  absl::Status Restart(int port, int round) {
    const std::string name = absl::StrCat("central-", port == ports_[0] ? "a" : "b", "-", round);
    replicas_[port] = stack_.StartCentralReplica(
        name, port, {absl::StrCat("--replica_id=central-", port == ports_[0] ? "a" : "b")});
    if (Stack::WaitFor([&] { return Alive(port); }, absl::Seconds(60))) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat(name, " never answered"));
  }
  // The process serving on `port`.
  Process& At(int port) {
    auto it = replicas_.find(port);
    return it != replicas_.end() ? *it->second : stack_.central_process();
  }
  pid_t LeaderPid() {
    const int port = Leader();
    auto it = replicas_.find(port);
    return it != replicas_.end() ? it->second->pid() : stack_.central_process().pid();
  }

 private:
  bool Alive(int port) {
    return stack_.Health(port, "") == grpc::health::v1::HealthCheckResponse::SERVING;
  }

  Stack& stack_;
  std::vector<int> ports_;
  std::map<int, std::unique_ptr<Process>> replicas_;
};

// A leader paused past its lease (SIGSTOP) and resumed (SIGCONT) after the
// other replica took over: how long the take-over took, whether the old
// leader stepped down (exit code 75) and how many of its writes were fenced
// (audited SYSTEM, central_fenced_write / central_superseded).
nlohmann::json PauseLeader(Stack& stack, CentralPair& centrals) {
  auto fenced = [&stack] {
    const std::string n = stack.Sql(
        "SELECT count(*) FROM audit_events WHERE category = 'SYSTEM'"
        " AND action IN ('central_fenced_write', 'central_superseded')");
    return n.empty() ? int64_t{0} : std::stoll(n);
  };
  const int paused = centrals.Leader();
  if (paused == 0) return {{"stepped_down", 0}, {"error", "no replica led"}};
  Process& leader = centrals.At(paused);
  const int64_t fenced_before = fenced();
  leader.Signal(SIGSTOP);
  const absl::Time stopped = absl::Now();
  const bool taken_over =
      Stack::WaitFor([&] { return centrals.Leader() == centrals.Other(paused); }, absl::Seconds(60));
  const absl::Duration takeover = absl::Now() - stopped;
  leader.Signal(SIGCONT);
  const bool exited = Stack::WaitFor([&] { return !leader.Running(); }, absl::Seconds(30));
  const bool stepped_down = taken_over && exited && leader.exit_code() == central::kExitSuperseded;
  return {{"takeover_ms", absl::ToDoubleMilliseconds(takeover)},
          {"stepped_down", stepped_down ? 1 : 0},
          {"exit_code", leader.exit_code().value_or(-1)},
          {"fenced_attempts", fenced() - fenced_before}};
}

int64_t ConnectedCps(Stack& stack) {
  auto s = Stats(stack);
  return s.ok() ? s->connected() : -1;
}

// The CPs the replica at `port` counts connected, asked on a channel of its
// own: what central sees of the monitors, whatever a client's channel does
// meanwhile (the first-charge figure is the client's side).
int64_t ConnectedCpsAt(Stack& stack, int port) {
  auto central = CentralService::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", port), nullptr, &stack.client_tls()));
  auto s = CallUnary(&CentralService::Stub::GetNetworkStats, *central,
                     central::v1::GetNetworkStatsRequest(), absl::Seconds(5));
  return s.ok() ? s->connected() : -1;
}

// Retries a driver's charge request at `cp` until the new leader accepts it;
// the supply id.
absl::StatusOr<std::string> ChargeWhenServed(Stack& stack, const std::string& cp, const std::string& driver,
                                             absl::Duration patience) {
  absl::StatusOr<std::string> id = absl::UnavailableError("not tried");
  Stack::WaitFor([&] {
    id = RequestChargeAs(stack, cp, driver);
    return id.ok();
  }, patience);
  return id;
}

absl::StatusOr<nlohmann::json> Failover(Stack& stack) {
  const int cps = absl::GetFlag(FLAGS_cps) > 0 ? absl::GetFlag(FLAGS_cps) : 1000;
  const int kills = absl::GetFlag(FLAGS_kills);
  // The last `kills` CPs are kept free: one charge request after each kill.
  const int supplies = std::max(0, std::min({absl::GetFlag(FLAGS_supplies), cps / 5, cps - kills}));
  nlohmann::json missed = nlohmann::json::object();
  CentralPair centrals(stack);
  if (absl::Status s = centrals.Start(); !s.ok()) return s;
  if (absl::Status s = AddFleetDrivers(stack, cps); !s.ok()) return s;
  auto fleet = StartFleet(stack, cps, {});
  WaitConnected(stack, cps, absl::Minutes(10), &missed);
  Probes probes(stack);
  if (absl::Status s = probes.Start(); !s.ok()) return s;

  std::set<std::string> ids;
  std::map<std::string, std::string> driver_of;
  absl::Mutex ids_mu;
  Parallel(supplies, 16, [&](int i) {
    auto id = RequestChargeAs(stack, FleetCpId(i + 1), FleetDriverId(i + 1));
    if (!id.ok()) return;
    absl::MutexLock lock(&ids_mu);
    ids.insert(*id);
    driver_of[*id] = FleetDriverId(i + 1);
  });

  Latencies serving, relinked, charging;
  int completed_kills = 0;
  for (int round = 1; round <= kills; ++round) {
    const int leader = centrals.Leader();
    if (leader == 0) {
      missed["kills"] = absl::StrCat("no replica led before kill ", round);
      break;
    }
    centrals.Kill(leader);
    const absl::Time killed = absl::Now();
    // Every CP linked again, polled from the kill on beside the rest: the
    // monitors' relink, not the time a driver's first charge took.
    std::optional<absl::Duration> relink_took;
    std::thread relink_watch([&, next = centrals.Other(leader)] {
      if (Stack::WaitFor([&] { return ConnectedCpsAt(stack, next) >= cps; }, absl::Seconds(120))) {
        relink_took = absl::Now() - killed;
      }
    });
    if (!Stack::WaitFor([&] { return centrals.Leader() == centrals.Other(leader); }, absl::Seconds(60))) {
      missed["takeover_serving"] = absl::StrCat("no take-over within 60s at kill ", round);
      relink_watch.join();
      break;
    }
    const absl::Duration serving_took = absl::Now() - killed;
    serving.Add(serving_took);
    const int spare = cps - round + 1;
    auto charged = ChargeWhenServed(stack, FleetCpId(spare), FleetDriverId(spare), absl::Seconds(60));
    const absl::Duration charge_took = absl::Now() - killed;
    if (charged.ok()) {
      charging.Add(charge_took);
      absl::MutexLock lock(&ids_mu);
      ids.insert(*charged);
      driver_of[*charged] = FleetDriverId(spare);
    } else {
      missed["first_charge"] = absl::StrCat("kill ", round, ": ", charged.status().ToString());
    }
    relink_watch.join();
    if (relink_took) {
      relinked.Add(*relink_took);
    } else {
      missed["relinked"] = absl::StrCat("kill ", round, ": only ", ConnectedCps(stack), " of ", cps, " relinked");
    }
    std::fprintf(stderr, "kill %d: serving after %s, every CP linked after %s, first charge after %s\n",
                 round, absl::FormatDuration(serving_took).c_str(),
                 relink_took ? absl::FormatDuration(*relink_took).c_str() : "(never)",
                 absl::FormatDuration(charge_took).c_str());
    if (absl::Status s = centrals.Restart(leader, round); !s.ok()) return s;
    ++completed_kills;
  }

  const nlohmann::json paused_leader = PauseLeader(stack, centrals);
  std::fprintf(stderr, "paused leader: %s\n", paused_leader.dump().c_str());
  StopEverySupply(stack, probes, driver_of, absl::Seconds(60));
  int64_t duplicates = 0;
  Stack::WaitFor([&] { return probes.TicketsReceived(ids, &duplicates) >= static_cast<int64_t>(ids.size()); },
                 absl::Seconds(120));
  // A late duplicate would arrive now.
  absl::SleepFor(absl::Seconds(2));
  const int64_t received = probes.TicketsReceived(ids, &duplicates);
  probes.Stop();
  return nlohmann::json{{"cps", cps},
                        {"kills", completed_kills},
                        {"supplies_started", ids.size()},
                        {"tickets_received", received},
                        {"tickets_lost", static_cast<int64_t>(ids.size()) - received},
                        {"tickets_duplicated", duplicates},
                        {"takeover",
                         {{"serving", serving.Summary()},
                          {"first_charge_accepted", charging.Summary()},
                          {"all_cps_relinked", relinked.Summary()}}},
                        {"paused_leader", paused_leader},
                        {"missed", missed}};
}

using RunScenario = absl::StatusOr<nlohmann::json> (*)(Stack&);

RunScenario ScenarioNamed(const std::string& name) {
  if (name == "fleet") return Fleet;
  if (name == "churn") return Churn;
  if (name == "edge") return Edge;
  if (name == "ingest") return Ingest;
  if (name == "failover") return Failover;
  if (name == "ocpp") return Ocpp;
  return nullptr;
}

// The sizes a run was made with, for the history and the docs table.
nlohmann::json Settings() {
  return {{"cps", absl::GetFlag(FLAGS_cps)},
          {"supplies", absl::GetFlag(FLAGS_supplies)},
          {"clients", absl::GetFlag(FLAGS_clients)},
          {"concurrency", absl::GetFlag(FLAGS_concurrency)},
          {"messages", absl::GetFlag(FLAGS_messages)},
          {"duration", absl::FormatDuration(absl::GetFlag(FLAGS_duration))}};
}

std::string Today() { return absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone()); }

std::string HistoryPath() {
  const std::string flag = absl::GetFlag(FLAGS_history);
  return flag.empty() ? absl::StrCat(absl::GetFlag(FLAGS_out), "/history.jsonl") : flag;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// One repetition on a fresh stack; its figures, or why it could not run.
absl::StatusOr<nlohmann::json> RunOnce(const std::string& scenario) {
  auto stack = Stack::Start(StackOptions(scenario));
  if (!stack.ok()) return stack.status();
  absl::StatusOr<nlohmann::json> result = ScenarioNamed(scenario)(**stack);
  // EVC_BENCH_KEEP=1 keeps every run's logs, to see where a slow figure went.
  if (result.ok() && std::getenv("EVC_BENCH_KEEP") != nullptr) {
    (*stack)->KeepDirectory();
    std::fprintf(stderr, "logs kept in %s\n", (*stack)->dir().c_str());
  }
  if (!result.ok()) {
    (*stack)->KeepDirectory();
    return absl::Status(result.status().code(),
                        absl::StrCat(result.status().message(), " (logs in ", (*stack)->dir(), ")"));
  }
  return result;
}

// --render_doc: the figures table of the docs from the latest run of each scenario.
int RenderDoc() {
  absl::StatusOr<std::string> history = ReadFile(HistoryPath());
  absl::StatusOr<std::string> doc = ReadFile(absl::GetFlag(FLAGS_doc));
  if (!history.ok() || !doc.ok()) {
    std::fprintf(stderr, "render_doc: %s\n", (history.ok() ? doc : history).status().ToString().c_str());
    return 1;
  }
  std::vector<nlohmann::json> entries;
  for (const char* scenario : {"fleet", "churn", "ingest", "edge", "failover", "ocpp"}) {
    if (auto e = LatestEntry(*history, scenario); e.ok()) entries.push_back(*e);
  }
  absl::StatusOr<std::string> updated = ReplaceDocTable(*doc, RenderDocTable(entries));
  if (!updated.ok()) {
    std::fprintf(stderr, "render_doc: %s\n", updated.status().ToString().c_str());
    return 1;
  }
  std::ofstream(absl::GetFlag(FLAGS_doc)) << *updated;
  std::printf("%s: figures of %zu scenarios from %s\n", absl::GetFlag(FLAGS_doc).c_str(), entries.size(),
              HistoryPath().c_str());
  return 0;
}

// After the runs: the table, the JSON files, the history line and the comparison.
void Publish(const ScenarioReport& report, const std::vector<nlohmann::json>& runs) {
  const nlohmann::json entry = ToHistoryEntry(report, Settings(), Today(),
                                              static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
  std::printf("\nevc-bench %s  (%s, %d cores, %d repetitions)\n%s", report.scenario.c_str(),
              entry["date"].get<std::string>().c_str(), entry["cores"].get<int>(), report.repetitions,
              RenderTable(report).c_str());
  // Read before this run is appended: comparing with the history file itself
  // means "against the previous run".
  const std::string compare = absl::GetFlag(FLAGS_compare);
  absl::StatusOr<std::string> earlier = compare.empty() ? absl::NotFoundError("") : ReadFile(compare);
  std::ofstream(HistoryPath(), std::ios::app) << entry.dump() << "\n";
  const std::string path = absl::StrCat(absl::GetFlag(FLAGS_out), "/", report.scenario, "-",
                                        absl::FormatTime("%Y%m%dT%H%M%S", absl::Now(), absl::UTCTimeZone()),
                                        ".json");
  std::ofstream(path) << nlohmann::json{{"report", entry}, {"runs", runs}}.dump(2) << "\n";
  std::printf("\nwritten to %s (and a line in %s)\n", path.c_str(), HistoryPath().c_str());
  if (compare.empty()) return;
  absl::StatusOr<nlohmann::json> then =
      earlier.ok() ? LatestEntry(*earlier, report.scenario) : absl::StatusOr<nlohmann::json>(earlier.status());
  if (!then.ok()) {
    std::printf("\nno comparison with %s: %s\n", compare.c_str(), then.status().ToString().c_str());
    return;
  }
  std::printf("\n%s", RenderComparison(entry, *then).c_str());
}

}  // namespace
}  // namespace evc::bench

// What --help says before the flags.
constexpr char kAbout[] =
    "evc-bench: speed and memory figures of the network on this machine.\n"
    "Each scenario runs --repetitions times, each on a fresh private stack, and prints one table of\n"
    "min/median/max per figure, judged against its target on the median (met, missed, failed);\n"
    "fleet (CPs with health and supplies), churn (short supplies as fast as accepted),\n"
    "ingest (central's telemetry rate), edge (REST clients through the edge), failover (the leader\n"
    "killed under load), ocpp (chargers over OCPP 1.6J through the gateway, then churn over OCPP).\n"
    "Exit status: 0 all met, 1 a run or a correctness figure failed, 3 a figure was missed.\n"
    "\n"
    "usage: evc-bench --scenario=NAME [--flag=value ...]   (usually through ./evc bench)\n"
    "example:\n"
    "  evc-bench --scenario=churn --duration=30s --repetitions=3\n";

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "bench", kAbout);
  if (absl::GetFlag(FLAGS_render_doc)) return evc::bench::RenderDoc();
  const std::string scenario = absl::GetFlag(FLAGS_scenario);
  if (evc::bench::ScenarioNamed(scenario) == nullptr || absl::GetFlag(FLAGS_repetitions) < 1) {
    std::fprintf(stderr, "unknown scenario '%s' (fleet, churn, ingest, edge, failover, ocpp) or --repetitions < 1\n",
                 scenario.c_str());
    return 2;
  }
  // One run per scenario at a time: they share the stack directory.
  std::filesystem::create_directories(absl::GetFlag(FLAGS_out));
  const std::string lock_path = absl::StrCat(absl::GetFlag(FLAGS_out), "/", scenario, ".lock");
  // Close-on-exec: the stack's processes (Postgres outlives a crash) must not hold it.
  int lock_fd = open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    std::fprintf(stderr, "another '%s' benchmark is running (%s)\n", scenario.c_str(), lock_path.c_str());
    return 1;
  }
  // Ctrl-C / SIGTERM: stop the stack's Postgres and leave; the other processes
  // die with this one (PR_SET_PDEATHSIG).
  std::thread([scenario] {
    evc::ShutdownRequested().WaitForNotification();
    const std::string dir = evc::bench::StackOptions(scenario).dir;
    std::system(absl::StrCat(std::getenv("EVC_SOURCE_DIR"), "/evc _pg stop '", dir, "/pg' >/dev/null 2>&1").c_str());
    std::fprintf(stderr, "bench interrupted\n");
    std::_Exit(130);
  }).detach();
  std::vector<nlohmann::json> runs;
  std::vector<std::string> failed_runs;
  const int repetitions = absl::GetFlag(FLAGS_repetitions);
  for (int i = 1; i <= repetitions; ++i) {
    std::fprintf(stderr, "bench %s: run %d of %d\n", scenario.c_str(), i, repetitions);
    absl::StatusOr<nlohmann::json> run = evc::bench::RunOnce(scenario);
    if (run.ok()) {
      runs.push_back(*run);
    } else {
      failed_runs.push_back(absl::StrCat("run ", i, ": ", run.status().ToString()));
      std::fprintf(stderr, "bench %s: %s\n", scenario.c_str(), failed_runs.back().c_str());
    }
  }
  const evc::bench::ScenarioReport report = evc::bench::Aggregate(scenario, runs, failed_runs);
  evc::bench::Publish(report, runs);
  const std::vector<std::string> unmet = evc::bench::Unmet(report);
  for (const std::string& u : unmet) std::printf("unmet: %s\n", u.c_str());
  if (evc::bench::AnyFailed(report)) return 1;
  return unmet.empty() ? 0 : 3;
}
