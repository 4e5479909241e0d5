// evc-devkafka: a Kafka-protocol broker for one machine, for development and
// tests only. It is librdkafka's own mock cluster (real wire protocol on
// loopback ports, consumer groups and offsets work), with the project's topics
// created up front at their partition counts. Services talk to it exactly as
// to a real broker.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdio>
#include <fstream>

#include "absl/flags/flag.h"
#include "services/common/kafka.h"
#include "services/common/log.h"
#include "services/common/process.h"

ABSL_FLAG(std::string, bootstrap_file, "",
          "write the bootstrap address (host:port,...) to this file once ready");
ABSL_FLAG(int, brokers, 1, "number of mock brokers");
ABSL_FLAG(bool, list_topics, false,
          "print the project's topics (name and partition count, one per line) and exit: "
          "the Helm chart's topic list is checked against it");

// What --help says before the flags.
constexpr char kAbout[] =
    "evc-devkafka: a single-machine Kafka broker (librdkafka's mock cluster) with the project's\n"
    "topics created at their partition counts; for development and tests only. Once ready it\n"
    "prints its bootstrap address (and writes it to --bootstrap_file).\n"
    "\n"
    "usage: evc-devkafka [--bootstrap_file=FILE] [--brokers=N] | --list_topics\n"
    "example:\n"
    "  evc-devkafka --bootstrap_file=.evc/kafka.bootstrap\n";

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "devkafka", kAbout);
  if (absl::GetFlag(FLAGS_list_topics)) {
    for (const evc::TopicSpec& topic : evc::ProjectTopics()) std::printf("%s %d\n", topic.name, topic.partitions);
    return 0;
  }
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_t* host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (host == nullptr) {
    std::fprintf(stderr, "cannot create kafka handle: %s\n", error);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(host, absl::GetFlag(FLAGS_brokers));
  if (cluster == nullptr) {
    std::fprintf(stderr, "cannot start the mock kafka cluster\n");
    return 1;
  }
  for (const evc::TopicSpec& topic : evc::ProjectTopics()) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, topic.name, topic.partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "cannot create topic %s: %s\n", topic.name, rd_kafka_err2str(err));
      return 1;
    }
  }
  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
  const std::string file = absl::GetFlag(FLAGS_bootstrap_file);
  if (!file.empty()) {
    // Write then rename, so a reader never sees a half-written address.
    std::ofstream(file + ".tmp") << bootstrap << "\n";
    std::rename((file + ".tmp").c_str(), file.c_str());
  }
  evc::log::Info("kafka ready", {{"bootstrap", bootstrap}, {"topics", evc::ProjectTopics().size()}});
  std::printf("%s\n", bootstrap.c_str());
  std::fflush(stdout);
  evc::ShutdownRequested().WaitForNotification();
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(host);
  if (!file.empty()) std::remove(file.c_str());
  return 0;
}
