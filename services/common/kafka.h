#pragma once
// Kafka through librdkafka, the same way against a real broker and against the
// dev broker: an idempotent producer keyed by CP id (so each CP's events stay
// in order), and a consumer-group consumer that stores an offset only after
// the batch holding it has been processed (at-least-once; consumers dedupe).

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/message.h>
#include <librdkafka/rdkafkacpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace evc {

// The project's topics, in one place.
namespace topics {
inline constexpr char kChargeRequests[] = "evc.charge-requests";
inline constexpr char kEngineCommands[] = "evc.engine-commands";
inline constexpr char kEngineEvents[] = "evc.engine-events";
inline constexpr char kDriverNotifications[] = "evc.driver-notifications";
inline constexpr char kRegistryEvents[] = "evc.registry-events";
inline constexpr char kAuthEvents[] = "evc.auth-events";
// Every audit record of every service, for SIEMs (services/common/audit_stream.h).
inline constexpr char kAuditEvents[] = "evc.audit-events";
// Messages nobody could parse, kept for inspection instead of being dropped.
inline constexpr char kDeadLetters[] = "evc.dead-letters";
}  // namespace topics

struct TopicSpec {
  const char* name;
  int partitions;
};
// Every topic with its partition count (used by evc-devkafka and deployment).
const std::vector<TopicSpec>& ProjectTopics();

class KafkaProducer {
 public:
  using DeliveryCallback = std::function<void(const absl::Status&)>;

  // A message the broker has not acknowledged within `delivery_timeout` is
  // reported undelivered to its callback.
  static absl::StatusOr<std::unique_ptr<KafkaProducer>> Create(const std::string& brokers,
                                                               const std::string& client_id,
                                                               absl::Duration delivery_timeout =
                                                                   absl::Seconds(30));
  ~KafkaProducer();

  // Queues a message; never blocks for long. `on_delivery`, if given, runs on
  // the producer's poll thread once the broker acknowledged (or finally
  // refused) the message.
  absl::Status Produce(const std::string& topic, const std::string& key, const std::string& payload,
                       DeliveryCallback on_delivery = nullptr);
  absl::Status Produce(const std::string& topic, const std::string& key,
                       const google::protobuf::Message& message,
                       DeliveryCallback on_delivery = nullptr);
  // Waits until every queued message is delivered or `timeout` passes.
  absl::Status Flush(absl::Duration timeout);
  // Retries with backoff until the broker lists each topic with at least its
  // partition count. A real broker's topics come from a deployment step (the
  // Helm chart's topic Job) that may finish after the services start, and a
  // message produced to a missing topic is lost after a timeout.
  absl::Status WaitForTopics(const std::vector<TopicSpec>& wanted, absl::Time deadline,
                             const absl::Notification* stop);

 private:
  class DeliveryReports;
  KafkaProducer() = default;

  std::unique_ptr<DeliveryReports> reports_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

struct KafkaMessage {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string payload;
  // When the producer handed it to Kafka (its CreateTime); InfinitePast when
  // the record carries none.
  absl::Time produced_at = absl::InfinitePast();
};

class KafkaConsumer {
 public:
  // Processes a batch; when it returns, the batch's offsets are stored and
  // committed. Bad messages are the handler's to report (see DeadLetter).
  using BatchHandler = std::function<void(std::span<const KafkaMessage>)>;

  struct Options {
    std::string brokers;
    std::string group_id;
    std::string client_id;
    std::vector<std::string> topics;
    // Where a new group starts: "earliest" or "latest".
    std::string auto_offset_reset = "earliest";
    int max_batch = 5000;
    // The one reader of its topics (central): it takes every partition of them itself
    // instead of joining the group's rebalance, so after a crash a restart resumes from
    // the committed offsets at once rather than after the dead member's session timeout.
    // Partitions and topics that appear later are taken within a few seconds.
    bool sole_reader = false;
  };

  static absl::StatusOr<std::unique_ptr<KafkaConsumer>> Create(const Options& options);
  ~KafkaConsumer();

  // Starts the consuming thread.
  void Start(BatchHandler handler);
  // Stops consuming, commits what was processed and leaves the group.
  void Stop();
  // True once partitions have been assigned at least once.
  bool assigned() const { return assigned_.load(); }

 private:
  class Rebalancer;
  KafkaConsumer() = default;
  void Loop(BatchHandler handler);
  // sole_reader: assigns the partitions of options_.topics not assigned yet.
  void TakeNewPartitions();

  Options options_;
  std::unique_ptr<Rebalancer> rebalancer_;
  std::unique_ptr<RdKafka::EventCb> statistics_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> assigned_{false};
  std::thread thread_;
  // sole_reader only, used by the consuming thread alone.
  std::set<std::pair<std::string, int32_t>> taken_;
  absl::Time next_partition_check_ = absl::InfinitePast();
};

// Reads every partition of one topic from its end as it was when opened, with
// no consumer group: for clients that want what is sent from now on (a
// driver's notifications, a benchmark's probes).
class TopicTail {
 public:
  static absl::StatusOr<std::unique_ptr<TopicTail>> Open(const std::string& brokers,
                                                         const std::string& topic,
                                                         absl::Duration timeout);
  ~TopicTail();
  // The next message, or nullopt after `wait`.
  std::optional<KafkaMessage> Next(absl::Duration wait);

 private:
  TopicTail() = default;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
};

// Keeps an unparseable message on the dead-letter topic with the reason, and
// logs it, so that nothing is silently lost.
void DeadLetter(KafkaProducer& producer, const KafkaMessage& message, const std::string& reason);

}  // namespace evc
