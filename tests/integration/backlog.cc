#include "tests/integration/backlog.h"

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "evc/events/v1/events.pb.h"
#include "services/common/grpc_util.h"
#include "services/common/kafka.h"
#include "services/common/proto_time.h"
#include "services/common/sealed.h"
#include "services/common/service_credentials.h"

namespace evc::testing {
namespace {

using central::v1::CentralService;

// Each CP's newest key, from auth as central (the one service that may ask).
absl::StatusOr<std::map<std::string, CpKey>> KeysOf(Stack& stack, const std::vector<OpenSupply>& supplies) {
  absl::StatusOr<ServiceCredential> as_central = LoadServiceCredential(stack.ServiceCredentialFile("central"));
  if (!as_central.ok()) return as_central.status();
  auto auth = auth::v1::AuthService::NewStub(
      MakeChannel(stack.auth_address(), nullptr, &stack.client_tls(), &*as_central));
  std::map<std::string, CpKey> keys;
  for (const OpenSupply& s : supplies) {
    auth::v1::GetChargingPointKeysRequest request;
    request.set_cp_id(s.cp_id);
    auto got = CallUnary(&auth::v1::AuthService::Stub::GetChargingPointKeys, *auth, request, absl::Seconds(5));
    if (!got.ok()) return got.status();
    if (got->keys().empty()) return absl::InternalError("auth has no key for " + s.cp_id);
    keys[s.cp_id] = {got->keys().rbegin()->key_id(), got->keys().rbegin()->key()};
  }
  return keys;
}

}  // namespace

void Parallel(int n, int threads, const std::function<void(int)>& fn) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& t : pool) t.join();
}

int PartitionCount(const std::string& topic) {
  for (const TopicSpec& t : ProjectTopics()) {
    if (t.name == topic) return t.partitions;
  }
  return 0;
}

std::string FleetCpId(int i) { return absl::StrFormat("B-%05d", i); }
std::string FleetDriverId(int i) { return absl::StrFormat("bench-%05d", i); }

absl::Status AddFleetDrivers(Stack& stack, int n) {
  std::atomic<int> failures{0};
  absl::Mutex mu;
  absl::Status first_failure;
  Parallel(n, 8, [&](int i) {
    absl::Status s = stack.AddDriver(FleetDriverId(i + 1));
    if (s.ok() || absl::IsAlreadyExists(s)) return;
    ++failures;
    absl::MutexLock lock(&mu);
    if (first_failure.ok()) first_failure = s;
  });
  if (failures == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("could not create ", failures.load(), " of ", n,
                                          " fleet drivers, e.g.: ", first_failure.ToString()));
}

std::unique_ptr<Process> StartFleet(Stack& stack, int count, std::vector<std::string> extra_flags) {
  std::vector<std::string> args = {absl::StrCat("--count=", count), "--prefix=B-",
                                   "--registry=" + stack.registry_address(),
                                   "--auth=" + stack.auth_address(),
                                   "--central=" + stack.central_target(), "--tick_threads=2",
                                   "--user=admin", "--password_file=" + stack.PasswordFile("admin")};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  return stack.Spawn("fleet", "evc-cp-fleet", args);
}

absl::Status WaitConnected(Stack& stack, int n, absl::Duration timeout) {
  int64_t connected = 0;
  const bool ok = Stack::WaitFor([&] {
    auto s = CallUnary(&CentralService::Stub::GetNetworkStats, stack.central(),
                       central::v1::GetNetworkStatsRequest(), absl::Seconds(5));
    if (s.ok()) connected = s->connected();
    return connected >= n;
  }, timeout);
  if (ok) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat("only ", connected, " of ", n, " CPs connected within ",
                                                  absl::FormatDuration(timeout)));
}

absl::StatusOr<std::string> RequestChargeAs(Stack& stack, const std::string& cp, const std::string& driver) {
  central::v1::RequestChargeRequest r;
  r.set_cp_id(cp);
  r.set_driver_id(driver);
  auto resp = CallUnary(&CentralService::Stub::RequestCharge, stack.CentralAsDriver(driver), r, absl::Seconds(30));
  if (!resp.ok()) return resp.status();
  return resp->supply().supply_id();
}

std::vector<OpenSupply> OpenSupplies(Stack& stack) {
  std::vector<OpenSupply> open;
  std::istringstream rows(
      stack.Sql("SELECT supply_id || ' ' || cp_id || ' ' || last_seq FROM supplies WHERE ended_at IS NULL"));
  OpenSupply s;
  while (rows >> s.supply_id >> s.cp_id >> s.last_seq) {
    s.last_seq += 10;
    open.push_back(s);
  }
  return open;
}

absl::Status ProduceTelemetry(Stack& stack, std::vector<OpenSupply>& supplies, int64_t messages) {
  if (supplies.empty()) return absl::FailedPreconditionError("no open supplies to produce readings for");
  absl::StatusOr<std::map<std::string, CpKey>> keys = KeysOf(stack, supplies);
  if (!keys.ok()) return keys.status();
  auto producer = KafkaProducer::Create(stack.kafka(), "backlog");
  if (!producer.ok()) return producer.status();
  SealCounter counter;
  for (int64_t produced = 0; produced < messages; ++produced) {
    OpenSupply& s = supplies[produced % supplies.size()];
    events::v1::EngineEvent e;
    e.set_cp_id(s.cp_id);
    *e.mutable_at() = ToProto(absl::Now());
    auto* t = e.mutable_telemetry();
    t->set_supply_id(s.supply_id);
    t->set_seq(static_cast<uint64_t>(++s.last_seq));
    t->set_energy_wh(s.last_seq * 10);
    t->set_power_w(36000);
    auto sealed = SealEnvelope(events::v1::SealedEnvelope::DIRECTION_ENGINE_TO_CENTRAL, s.cp_id, (*keys)[s.cp_id],
                               counter.Next(absl::Now()), e.SerializeAsString());
    if (!sealed.ok()) return sealed.status();
    if (absl::Status st = (*producer)->Produce(topics::kEngineEvents, s.cp_id, *sealed); !st.ok()) return st;
  }
  return (*producer)->Flush(absl::Minutes(2));
}

absl::StatusOr<std::vector<PartitionBacklog>> BacklogOf(const std::string& brokers, const std::string& topic,
                                                        const std::string& group) {
  std::string error;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", brokers, error);
  // Never subscribes: only asks the group's committed offsets.
  conf->set("group.id", group, error);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!consumer) return absl::InternalError(error);
  std::vector<RdKafka::TopicPartition*> tps;
  for (int p = 0; p < PartitionCount(topic); ++p) tps.push_back(RdKafka::TopicPartition::create(topic, p));
  RdKafka::ErrorCode err = consumer->committed(tps, 5000);
  std::vector<PartitionBacklog> out;
  for (const auto* tp : tps) {
    if (err != RdKafka::ERR_NO_ERROR) break;
    PartitionBacklog b{tp->partition(), 0, 0, tp->offset()};
    err = consumer->query_watermark_offsets(topic, tp->partition(), &b.low, &b.high, 5000);
    out.push_back(b);
  }
  RdKafka::TopicPartition::destroy(tps);
  consumer->close();
  if (err != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("offsets of ", topic, " for ", group, ": ", RdKafka::err2str(err)));
  }
  return out;
}

}  // namespace evc::testing
