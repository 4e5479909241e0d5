// evc-devkafka: a Kafka-protocol broker for one machine, for development and
// tests only (dev_broker.h), with the project's topics created up front at
// their partition counts. Services talk to it exactly as to a real broker.

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "services/common/kafka.h"
#include "services/common/log.h"
#include "services/common/process.h"
#include "services/devkafka/dev_broker.h"

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
  auto broker = evc::devkafka::DevBroker::Start(absl::GetFlag(FLAGS_brokers), evc::ProjectTopics());
  if (!broker.ok()) {
    std::fprintf(stderr, "%s\n", std::string(broker.status().message()).c_str());
    return 1;
  }
  const std::string bootstrap = (*broker)->bootstrap();
  const std::string file = absl::GetFlag(FLAGS_bootstrap_file);
  if (!file.empty()) evc::devkafka::WriteBootstrapFile(file, bootstrap);
  evc::log::Info("kafka ready", {{"bootstrap", bootstrap}, {"topics", evc::ProjectTopics().size()}});
  std::printf("%s\n", bootstrap.c_str());
  std::fflush(stdout);
  evc::ShutdownRequested().WaitForNotification();
  broker->reset();
  if (!file.empty()) std::remove(file.c_str());
  return 0;
}
