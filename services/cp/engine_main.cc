// evc-cp-engine: one charging point's hardware, simulated. Serves its monitor
// over gRPC, receives commands and sends telemetry over Kafka. Console keys
// (when stdin is a terminal, or --console): p plug, u unplug, f fault (KO),
// r repair (OK), w walk-in charge, s status, q quit.

#include <unistd.h>

#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "services/common/service_main.h"
#include "services/cp/console.h"
#include "services/cp/cp_runtime.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50100", "gRPC address the monitor checks (host:port)");
ABSL_FLAG(int64_t, power_w, 22000, "power delivered while supplying, in watts");
ABSL_FLAG(bool, auto_plug, false, "plug in automatically when a supply is authorised");
ABSL_FLAG(absl::Duration, auto_unplug_after, absl::ZeroDuration(),
          "unplug automatically this long after plugging in (0: only by hand or stop)");
ABSL_FLAG(bool, console, false, "read console keys from stdin even when it is not a terminal");

// What --help says before the flags.
constexpr char kAbout[] =
    "evc-cp-engine: a simulated charging-point engine (the CP's hardware).\n"
    "Serves its monitor over gRPC once activated, takes commands from central and sends\n"
    "telemetry over Kafka. Console keys (when stdin is a terminal, or --console): p plug,\n"
    "u unplug, f fault, r repair, w walk-in charge, s status, q quit.\n"
    "\n"
    "usage: evc-cp-engine [--flag=value ...]\n"
    "example:\n"
    "  evc-cp-engine --listen=127.0.0.1:50100 --kafka=127.0.0.1:9092 --auto_plug\n";

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "cp-engine", kAbout);
  const std::string listen = absl::GetFlag(FLAGS_listen);
  evc::ServiceDeps deps = evc::ConnectDeps("cp-engine", {.kafka_producer = true});
  const bool console = absl::GetFlag(FLAGS_console) || isatty(STDIN_FILENO);
  evc::cp::KafkaEngineOutput output(*deps.producer, console);
  evc::cp::Engine engine({.power_w = absl::GetFlag(FLAGS_power_w),
                          .auto_plug = absl::GetFlag(FLAGS_auto_plug),
                          .auto_unplug_after = absl::GetFlag(FLAGS_auto_unplug_after)},
                         output);

  const std::string group = evc::cp::EngineGroupId(listen);
  auto consumer = evc::cp::ConsumeEngineCommands(
      evc::KafkaBrokers(), group, group,
      [&engine](const std::string& cp) { return cp == engine.cp_id() ? &engine : nullptr; },
      *deps.producer);
  // The monitor activates the engine meanwhile: gRPC is served at once.
  std::thread([&] {
    if (evc::WaitUntil([&] { return consumer->assigned(); }, evc::ShutdownRequested())) {
      engine.SetCommandChannelReady();
    }
  }).detach();
  std::thread ticker([&] {
    while (!evc::ShutdownRequested().WaitForNotificationWithTimeout(absl::Seconds(1))) {
      engine.Tick(absl::Now());
    }
  });
  if (console) {
    std::thread([&engine] {
      evc::cp::RunConsole(engine, std::cin, std::cout);
      evc::RequestShutdown();
    }).detach();
  }

  evc::cp::EngineGrpc service(engine);
  int code = evc::Serve("cp-engine", listen, {&service});
  ticker.join();
  consumer->Stop();
  return code;
}
