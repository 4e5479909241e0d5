#include "services/common/kafka.h"

#include "nlohmann/json.hpp"
#include "services/common/metrics.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "services/common/backoff.h"
#include "services/common/log.h"

namespace evc {
namespace {

absl::Status SetAll(RdKafka::Conf& conf, const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string error;
  for (const auto& [k, v] : kv) {
    if (conf.set(k, v, error) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat("kafka config ", k, "=", v, ": ", error));
    }
  }
  return absl::OkStatus();
}

KafkaMessage CopyMessage(const RdKafka::Message& m) {
  KafkaMessage km;
  km.topic = m.topic_name();
  km.partition = m.partition();
  km.offset = m.offset();
  if (m.key() != nullptr) km.key = *m.key();
  km.payload.assign(static_cast<const char*>(m.payload()), m.len());
  const RdKafka::MessageTimestamp produced = m.timestamp();
  if (produced.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_CREATE_TIME) {
    km.produced_at = absl::FromUnixMillis(produced.timestamp);
  }
  return km;
}

// Declared once for every producer and consumer of the process.
struct KafkaMetrics {
  prometheus::Family<prometheus::Counter>& produced = Counters(
      "evc_kafka_produced_messages_total", "Messages delivered to Kafka, by topic");
  prometheus::Family<prometheus::Counter>& produced_bytes = Counters(
      "evc_kafka_produced_bytes_total", "Payload bytes delivered to Kafka, by topic");
  prometheus::Family<prometheus::Counter>& produce_errors = Counters(
      "evc_kafka_produce_errors_total", "Messages Kafka refused or that timed out, by topic");
  prometheus::Family<prometheus::Histogram>& delivery = prometheus::BuildHistogram()
      .Name("evc_kafka_delivery_seconds")
      .Help("Time from produce to the broker's acknowledgement, by topic")
      .Register(metrics::Registry());
  prometheus::Family<prometheus::Counter>& consumed = Counters(
      "evc_kafka_consumed_messages_total", "Messages consumed, by topic");
  prometheus::Family<prometheus::Counter>& consumed_bytes = Counters(
      "evc_kafka_consumed_bytes_total", "Payload bytes consumed, by topic");
  prometheus::Family<prometheus::Counter>& rebalances = Counters(
      "evc_kafka_rebalances_total", "Consumer group rebalances seen, by kind (assign, revoke)");
  prometheus::Family<prometheus::Counter>& expired_unread = Counters(
      "evc_kafka_expired_unread_messages_total",
      "Messages the broker deleted (retention) before the group read them, by topic");
  prometheus::Family<prometheus::Gauge>& lag = prometheus::BuildGauge()
      .Name("evc_kafka_consumer_lag")
      .Help("Messages behind the end of each partition (librdkafka statistics), by group")
      .Register(metrics::Registry());

  // One topic's series, resolved once: a message costs a map lookup, not a
  // label set built and hashed per series.
  struct Topic {
    prometheus::Counter& produced;
    prometheus::Counter& produced_bytes;
    prometheus::Counter& produce_errors;
    prometheus::Counter& consumed;
    prometheus::Counter& consumed_bytes;
    prometheus::Histogram& delivery;
    prometheus::Counter& expired_unread;
  };

  KafkaMetrics() {
    // Every project topic from the start: dashboards and rate() see zeros, not gaps.
    for (const TopicSpec& t : ProjectTopics()) For(t.name);
  }

  Topic& For(const std::string& topic) {
    absl::MutexLock lock(&mu);
    std::unique_ptr<Topic>& t = topics[topic];
    if (!t) {
      const prometheus::Labels l = {{"topic", topic}};
      t.reset(new Topic{produced.Add(l), produced_bytes.Add(l), produce_errors.Add(l), consumed.Add(l),
                        consumed_bytes.Add(l), delivery.Add(l, metrics::LatencyBuckets()),
                        expired_unread.Add(l)});
    }
    return *t;
  }

  absl::Mutex mu;
  absl::flat_hash_map<std::string, std::unique_ptr<Topic>> topics ABSL_GUARDED_BY(mu);

  static prometheus::Family<prometheus::Counter>& Counters(const std::string& name, const std::string& help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(metrics::Registry());
  }
};

KafkaMetrics& Metrics() {
  static KafkaMetrics* m = new KafkaMetrics();
  return *m;
}

// Per run of one topic in the batch (batches are mostly one topic).
void CountConsumed(const std::vector<KafkaMessage>& batch) {
  for (size_t i = 0; i < batch.size();) {
    KafkaMetrics::Topic& topic = Metrics().For(batch[i].topic);
    double messages = 0, bytes = 0;
    const std::string& name = batch[i].topic;
    for (; i < batch.size() && batch[i].topic == name; ++i) {
      ++messages;
      bytes += static_cast<double>(batch[i].payload.size());
    }
    topic.consumed.Increment(messages);
    topic.consumed_bytes.Increment(bytes);
  }
}

// librdkafka's statistics (every statistics.interval.ms) carry each
// assigned partition's consumer_lag.
class LagStatistics : public RdKafka::EventCb {
 public:
  explicit LagStatistics(std::string group) : group_(std::move(group)) {}
  void event_cb(RdKafka::Event& event) override {
    if (event.type() != RdKafka::Event::EVENT_STATS) return;
    nlohmann::json stats = nlohmann::json::parse(event.str(), nullptr, false);
    if (!stats.is_object() || !stats.contains("topics") || !stats["topics"].is_object()) return;
    for (const auto& [topic, t] : stats["topics"].items()) {
      if (!t.contains("partitions") || !t["partitions"].is_object()) continue;
      for (const auto& [partition, p] : t["partitions"].items()) {
        if (partition == "-1" || !p.contains("consumer_lag") || !p["consumer_lag"].is_number()) continue;
        const int64_t lag = p["consumer_lag"].get<int64_t>();
        if (lag < 0) continue;  // not known yet
        Metrics().lag.Add({{"group", group_}, {"topic", topic}, {"partition", partition}}).Set(static_cast<double>(lag));
      }
    }
  }

 private:
  const std::string group_;
};

// The partition ids of `topic` as the broker knows them now.
// Partitions whose committed offset the broker's retention has passed: the
// messages in between were deleted unread, and the consumer goes on from the
// oldest one kept (auto.offset.reset) without librdkafka saying so. Reported
// loudly: after a long outage it is data central never saw.
void ReportExpiredOffsets(RdKafka::KafkaConsumer& consumer,
                          const std::vector<RdKafka::TopicPartition*>& taken) {
  std::vector<RdKafka::TopicPartition*> committed;
  for (const auto* tp : taken) committed.push_back(RdKafka::TopicPartition::create(tp->topic(), tp->partition()));
  if (consumer.committed(committed, 2000) == RdKafka::ERR_NO_ERROR) {
    for (const auto* tp : committed) {
      int64_t low = 0, high = 0;
      if (tp->offset() < 0 ||
          consumer.query_watermark_offsets(tp->topic(), tp->partition(), &low, &high, 2000) !=
              RdKafka::ERR_NO_ERROR ||
          tp->offset() >= low) {
        continue;
      }
      Metrics().For(tp->topic()).expired_unread.Increment(static_cast<double>(low - tp->offset()));
      log::Error("kafka messages expired before they were read (broker retention)",
                 {{"topic", tp->topic()}, {"partition", tp->partition()}, {"committed", tp->offset()},
                  {"oldest_kept", low}, {"lost", low - tp->offset()}});
    }
  }
  RdKafka::TopicPartition::destroy(committed);
}

absl::StatusOr<std::vector<int32_t>> PartitionsOf(RdKafka::KafkaConsumer& consumer, const std::string& topic,
                                                  absl::Duration timeout) {
  std::string error;
  std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(&consumer, topic, nullptr, error));
  if (!handle) return absl::InvalidArgumentError(absl::StrCat("kafka topic ", topic, ": ", error));
  RdKafka::Metadata* metadata = nullptr;
  RdKafka::ErrorCode err =
      consumer.metadata(false, handle.get(), &metadata, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (err != RdKafka::ERR_NO_ERROR) return absl::UnavailableError(RdKafka::err2str(err));
  std::unique_ptr<RdKafka::Metadata> owned(metadata);
  std::vector<int32_t> ids;
  for (const auto* t : *metadata->topics()) {
    if (t->topic() != topic) continue;
    for (const auto* p : *t->partitions()) ids.push_back(p->id());
  }
  return ids;
}

}  // namespace

const std::vector<TopicSpec>& ProjectTopics() {
  static const std::vector<TopicSpec>* specs = new std::vector<TopicSpec>{
      {topics::kChargeRequests, 4},       {topics::kEngineCommands, 8},
      {topics::kEngineEvents, 8},         {topics::kDriverNotifications, 4},
      {topics::kRegistryEvents, 2},       {topics::kAuthEvents, 2},
      {topics::kDeadLetters, 1},          {topics::kAuditEvents, 2},
  };
  return *specs;
}

class KafkaProducer::DeliveryReports : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    auto* callback = static_cast<DeliveryCallback*>(message.msg_opaque());
    absl::Status status = message.err() == RdKafka::ERR_NO_ERROR
                              ? absl::OkStatus()
                              : absl::UnavailableError(absl::StrCat(
                                    "kafka delivery to ", message.topic_name(), " failed: ",
                                    message.errstr()));
    KafkaMetrics::Topic& topic = Metrics().For(message.topic_name());
    if (status.ok()) {
      topic.produced.Increment();
      topic.produced_bytes.Increment(static_cast<double>(message.len()));
      topic.delivery.Observe(static_cast<double>(message.latency()) / 1e6);
    } else {
      topic.produce_errors.Increment();
      log::Error("kafka delivery failed", {{"error", std::string(status.message())}});
    }
    if (callback != nullptr) {
      (*callback)(status);
      delete callback;
    }
  }
};

absl::StatusOr<std::unique_ptr<KafkaProducer>> KafkaProducer::Create(const std::string& brokers,
                                                                     const std::string& client_id,
                                                                     absl::Duration delivery_timeout) {
  std::unique_ptr<KafkaProducer> p(new KafkaProducer());
  p->reports_ = std::make_unique<DeliveryReports>();
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  absl::Status s = SetAll(*conf, {{"bootstrap.servers", brokers},
                                  {"client.id", client_id},
                                  // No duplicates or reordering from producer retries.
                                  {"enable.idempotence", "true"},
                                  {"linger.ms", "2"},
                                  {"socket.nagle.disable", "true"},
                                  {"message.timeout.ms",
                                   absl::StrCat(absl::ToInt64Milliseconds(delivery_timeout))},
                                  {"queue.buffering.max.messages", "200000"}});
  if (!s.ok()) return s;
  std::string error;
  if (conf->set("dr_cb", p->reports_.get(), error) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(error);
  }
  p->producer_.reset(RdKafka::Producer::create(conf.get(), error));
  if (!p->producer_) return absl::InvalidArgumentError(absl::StrCat("kafka producer: ", error));
  p->poller_ = std::thread([raw = p.get()] {
    while (!raw->stop_.load()) raw->producer_->poll(100);
  });
  // Learn every topic's partitions now: otherwise the first message to each
  // topic waits for a metadata round trip (0.5-1 s), and that first message is
  // typically a charge authorisation. Best effort: the broker may be late.
  RdKafka::Metadata* metadata = nullptr;
  if (p->producer_->metadata(true, nullptr, &metadata, 5000) == RdKafka::ERR_NO_ERROR) delete metadata;
  return p;
}

absl::Status KafkaProducer::WaitForTopics(const std::vector<TopicSpec>& wanted, absl::Time deadline,
                                          const absl::Notification* stop) {
  return RetryWithBackoff(
      "wait for kafka topics",
      [&]() -> absl::Status {
        RdKafka::Metadata* raw = nullptr;
        RdKafka::ErrorCode err = producer_->metadata(true, nullptr, &raw, 5000);
        if (err != RdKafka::ERR_NO_ERROR) return absl::UnavailableError(RdKafka::err2str(err));
        std::unique_ptr<RdKafka::Metadata> metadata(raw);
        std::map<std::string, int> partitions;
        for (const auto* t : *metadata->topics()) {
          if (t->err() == RdKafka::ERR_NO_ERROR) partitions[t->topic()] = static_cast<int>(t->partitions()->size());
        }
        std::vector<std::string> missing;
        for (const TopicSpec& topic : wanted) {
          auto found = partitions.find(topic.name);
          if (found == partitions.end()) {
            missing.push_back(absl::StrCat(topic.name, " (absent)"));
          } else if (found->second < topic.partitions) {
            missing.push_back(absl::StrCat(topic.name, " (", found->second, " of ", topic.partitions, " partitions)"));
          }
        }
        if (missing.empty()) return absl::OkStatus();
        return absl::FailedPreconditionError(absl::StrCat(
            "kafka topics not ready: ", absl::StrJoin(missing, ", "),
            "; create them with their partition counts (the Helm chart's topic Job does; evc-devkafka --list_topics lists them)"));
      },
      deadline, stop);
}

KafkaProducer::~KafkaProducer() {
  if (producer_) producer_->flush(5000);
  stop_ = true;
  if (poller_.joinable()) poller_.join();
}

absl::Status KafkaProducer::Produce(const std::string& topic, const std::string& key,
                                    const std::string& payload, DeliveryCallback on_delivery) {
  auto* opaque = on_delivery ? new DeliveryCallback(std::move(on_delivery)) : nullptr;
  absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (true) {
    RdKafka::ErrorCode err = producer_->produce(
        topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(payload.data()), payload.size(), key.data(), key.size(), 0, opaque);
    if (err == RdKafka::ERR_NO_ERROR) return absl::OkStatus();
    // A full local queue is back-pressure: wait for deliveries, briefly.
    if (err == RdKafka::ERR__QUEUE_FULL && absl::Now() < give_up) {
      producer_->poll(50);
      continue;
    }
    delete opaque;
    Metrics().For(topic).produce_errors.Increment();
    return absl::UnavailableError(
        absl::StrCat("kafka produce to ", topic, ": ", RdKafka::err2str(err)));
  }
}

absl::Status KafkaProducer::Produce(const std::string& topic, const std::string& key,
                                    const google::protobuf::Message& message,
                                    DeliveryCallback on_delivery) {
  return Produce(topic, key, message.SerializeAsString(), std::move(on_delivery));
}

absl::Status KafkaProducer::Flush(absl::Duration timeout) {
  RdKafka::ErrorCode err = producer_->flush(static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (err != RdKafka::ERR_NO_ERROR) {
    return absl::DeadlineExceededError(absl::StrCat("kafka flush: ", RdKafka::err2str(err)));
  }
  return absl::OkStatus();
}

class KafkaConsumer::Rebalancer : public RdKafka::RebalanceCb {
 public:
  explicit Rebalancer(std::atomic<bool>* assigned) : assigned_(assigned) {}
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    Metrics().rebalances.Add({{"kind", err == RdKafka::ERR__ASSIGN_PARTITIONS ? "assign" : "revoke"}}).Increment();
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      consumer->assign(partitions);
      assigned_->store(true);
      log::Info("kafka partitions assigned", {{"count", partitions.size()}});
    } else {
      consumer->unassign();
      log::Info("kafka partitions revoked", {{"count", partitions.size()}});
    }
  }

 private:
  std::atomic<bool>* assigned_;
};

absl::StatusOr<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Create(const Options& options) {
  std::unique_ptr<KafkaConsumer> c(new KafkaConsumer());
  c->options_ = options;
  c->rebalancer_ = std::make_unique<Rebalancer>(&c->assigned_);
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  absl::Status s = SetAll(*conf, {{"bootstrap.servers", options.brokers},
                                  {"group.id", options.group_id},
                                  {"client.id", options.client_id},
                                  {"auto.offset.reset", options.auto_offset_reset},
                                  // Offsets are stored by us after processing,
                                  // and committed in the background.
                                  {"enable.auto.offset.store", "false"},
                                  {"enable.auto.commit", "true"},
                                  {"auto.commit.interval.ms", "500"},
                                  {"session.timeout.ms", "10000"},
                                  {"heartbeat.interval.ms", "1000"},
                                  {"topic.metadata.refresh.interval.ms", "5000"},
                                  // Commands and telemetry are latency-bound: do
                                  // not let an idle fetch sit for librdkafka's
                                  // default 500 ms (not every broker answers a
                                  // waiting fetch as soon as data arrives).
                                  {"fetch.wait.max.ms", "10"},
                                  // librdkafka 2.0 stops fetching a partition
                                  // whose local queue reached this count and
                                  // looks again only a second later: central
                                  // draining a backlog sat idle 0.6 s of every
                                  // 1.2 s (ingest ratio 0.07 -> 0.29). Memory
                                  // stays bounded by queued.max.messages.kbytes.
                                  {"queued.min.messages", "1000000"},
                                  {"socket.nagle.disable", "true"}});
  if (!s.ok()) return s;
  // Operators tune consumers for their broker without a rebuild:
  // EVC_KAFKA_CONSUMER_CONFIG="fetch.wait.max.ms=100,queued.min.messages=10000".
  if (const char* extra = std::getenv("EVC_KAFKA_CONSUMER_CONFIG"); extra != nullptr) {
    std::vector<std::pair<std::string, std::string>> kv;
    for (absl::string_view item : absl::StrSplit(extra, ',', absl::SkipEmpty())) {
      std::pair<std::string, std::string> p = absl::StrSplit(item, absl::MaxSplits('=', 1));
      kv.push_back(p);
    }
    if (absl::Status e = SetAll(*conf, kv); !e.ok()) return e;
  }
  std::string error;
  if (conf->set("rebalance_cb", c->rebalancer_.get(), error) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(error);
  }
  c->statistics_ = std::make_unique<LagStatistics>(options.group_id);
  if (conf->set("event_cb", c->statistics_.get(), error) != RdKafka::Conf::CONF_OK ||
      conf->set("statistics.interval.ms", "5000", error) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(error);
  }
  c->consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!c->consumer_) return absl::InvalidArgumentError(absl::StrCat("kafka consumer: ", error));
  if (options.sole_reader) return c;  // partitions are taken in Loop
  RdKafka::ErrorCode err = c->consumer_->subscribe(options.topics);
  if (err != RdKafka::ERR_NO_ERROR) {
    return absl::InvalidArgumentError(absl::StrCat("kafka subscribe: ", RdKafka::err2str(err)));
  }
  return c;
}

KafkaConsumer::~KafkaConsumer() { Stop(); }

void KafkaConsumer::Start(BatchHandler handler) {
  thread_ = std::thread([this, handler = std::move(handler)] { Loop(handler); });
}

void KafkaConsumer::Stop() {
  if (stop_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  if (!consumer_) return;
  // close() commits and leaves the group; with the broker gone it can block
  // for a long time. Give it a few seconds, then let the process go on.
  auto closed = std::make_shared<absl::Notification>();
  std::thread([consumer = consumer_.get(), closed] {
    consumer->close();
    closed->Notify();
  }).detach();
  if (!closed->WaitForNotificationWithTimeout(absl::Seconds(5))) {
    log::Warn("kafka consumer did not close in 5 s (broker unreachable?); leaving without it");
    consumer_.release();  // still in use by the closing thread
  }
}

void KafkaConsumer::TakeNewPartitions() {
  const absl::Time now = absl::Now();
  if (now < next_partition_check_) return;
  next_partition_check_ = now + absl::Seconds(3);
  std::vector<RdKafka::TopicPartition*> fresh;
  for (const std::string& topic : options_.topics) {
    // The broker away: asked again at the next check.
    absl::StatusOr<std::vector<int32_t>> partitions = PartitionsOf(*consumer_, topic, absl::Seconds(2));
    if (!partitions.ok()) continue;
    for (int32_t p : *partitions) {
      // No offset: the group's committed one, else auto.offset.reset.
      if (taken_.emplace(topic, p).second) fresh.push_back(RdKafka::TopicPartition::create(topic, p));
    }
  }
  if (fresh.empty()) return;
  std::unique_ptr<RdKafka::Error> failed(consumer_->incremental_assign(fresh));
  if (failed) {
    log::Warn("kafka partitions not taken; trying again", {{"error", failed->str()}});
    for (const auto* tp : fresh) taken_.erase({tp->topic(), tp->partition()});
  } else {
    Metrics().rebalances.Add({{"kind", "assign"}}).Increment();
    assigned_.store(true);
    log::Info("kafka partitions taken", {{"count", fresh.size()}, {"total", taken_.size()}});
    ReportExpiredOffsets(*consumer_, fresh);
  }
  RdKafka::TopicPartition::destroy(fresh);
}

void KafkaConsumer::Loop(BatchHandler handler) {
  std::vector<KafkaMessage> batch;
  while (!stop_.load()) {
    if (options_.sole_reader) TakeNewPartitions();
    batch.clear();
    // Wait up to 100 ms for the first message; then take whatever is already
    // fetched, up to max_batch, without waiting: batching adds no latency. An
    // idle wait goes back round the outer loop, so a sole reader keeps looking
    // for partitions it could not take yet (a broker away at start) even when
    // nothing arrives on those it has.
    while (static_cast<int>(batch.size()) < options_.max_batch && !stop_.load()) {
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(batch.empty() ? 100 : 0));
      if (m->err() == RdKafka::ERR__TIMED_OUT) break;
      if (m->err() != RdKafka::ERR_NO_ERROR) {
        if (m->err() != RdKafka::ERR__PARTITION_EOF) {
          log::Warn("kafka consume error", {{"error", m->errstr()}});
        }
        break;
      }
      batch.push_back(CopyMessage(*m));
    }
    if (batch.empty()) continue;
    CountConsumed(batch);
    handler(batch);
    // One entry per partition: librdkafka's C++ offsets_store is quadratic in
    // the number of entries (it matches every result against every input).
    std::map<std::pair<std::string, int32_t>, int64_t> next_offsets;
    for (const KafkaMessage& km : batch) {
      int64_t& next = next_offsets[{km.topic, km.partition}];
      next = std::max(next, km.offset + 1);
    }
    std::vector<RdKafka::TopicPartition*> offsets;
    for (const auto& [tp, next] : next_offsets) {
      offsets.push_back(RdKafka::TopicPartition::create(tp.first, tp.second, next));
    }
    consumer_->offsets_store(offsets);
    RdKafka::TopicPartition::destroy(offsets);
  }
}

absl::StatusOr<std::unique_ptr<TopicTail>> TopicTail::Open(const std::string& brokers,
                                                            const std::string& topic,
                                                            absl::Duration timeout) {
  std::unique_ptr<TopicTail> tail(new TopicTail());
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  // A group id is required by the API; nothing is ever committed under it.
  absl::Status s = SetAll(*conf, {{"bootstrap.servers", brokers},
                                  {"group.id", "evc-tail-" + std::to_string(getpid()) + "-" +
                                                   std::to_string(absl::ToUnixNanos(absl::Now()))},
                                  {"enable.auto.commit", "false"},
                                  {"fetch.wait.max.ms", "10"},
                                  {"socket.nagle.disable", "true"}});
  if (!s.ok()) return s;
  tail->consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!tail->consumer_) return absl::InvalidArgumentError(absl::StrCat("kafka consumer: ", error));
  std::vector<RdKafka::TopicPartition*> partitions;
  absl::Status found = RetryWithBackoff(
      "read kafka metadata of " + topic,
      [&]() -> absl::Status {
        absl::StatusOr<std::vector<int32_t>> ids = PartitionsOf(*tail->consumer_, topic, absl::Seconds(5));
        if (!ids.ok()) return ids.status();
        for (int32_t p : *ids) {
          int64_t low = 0, high = 0;
          RdKafka::ErrorCode err = tail->consumer_->query_watermark_offsets(topic, p, &low, &high, 5000);
          if (err != RdKafka::ERR_NO_ERROR) {
            RdKafka::TopicPartition::destroy(partitions);
            return absl::UnavailableError(RdKafka::err2str(err));
          }
          partitions.push_back(RdKafka::TopicPartition::create(topic, p, high));
        }
        if (partitions.empty()) return absl::UnavailableError("topic " + topic + " not found");
        return absl::OkStatus();
      },
      absl::Now() + timeout);
  if (!found.ok()) return found;
  tail->consumer_->assign(partitions);
  RdKafka::TopicPartition::destroy(partitions);
  return tail;
}

TopicTail::~TopicTail() {
  if (consumer_) consumer_->close();
}

std::optional<KafkaMessage> TopicTail::Next(absl::Duration wait) {
  const absl::Time deadline = absl::Now() + wait;
  do {
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(
        static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(deadline - absl::Now()), 0, 100))));
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    return CopyMessage(*m);
  } while (absl::Now() < deadline);
  return std::nullopt;
}

void DeadLetter(KafkaProducer& producer, const KafkaMessage& message, const std::string& reason) {
  log::Error("unprocessable kafka message",
             {{"topic", message.topic}, {"partition", message.partition},
              {"offset", message.offset}, {"key", message.key}, {"reason", reason}});
  std::string key = absl::StrCat(message.topic, "/", message.partition, "/", message.offset);
  absl::Status s = producer.Produce(topics::kDeadLetters, key, message.payload);
  if (!s.ok()) log::Error("dead-letter produce failed", {{"error", std::string(s.message())}});
}

}  // namespace evc
