// evc-cp-monitor: one charging point's identity towards central. Authenticates
// at auth, activates and health-checks its engine every second, and keeps the
// link to central with a health report every second.

#include <memory>

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "services/common/grpc_server.h"
#include "services/common/log.h"
#include "services/common/process.h"
#include "services/common/secret_file.h"
#include "services/common/service_main.h"
#include "services/cp/cp_runtime.h"

ABSL_FLAG(std::string, cp_id, "", "the charging point's id (required)");
ABSL_FLAG(std::string, secret_file, "", "file holding the CP secret issued by the registry");
ABSL_FLAG(std::string, engine, "127.0.0.1:50100", "the engine's gRPC address");
ABSL_FLAG(std::string, auth, "127.0.0.1:50052", "auth gRPC address");
ABSL_FLAG(std::string, central, "127.0.0.1:50053", "central gRPC address (several replicas: ipv4:HOST:PORT,HOST:PORT or a name with several records, the leader is called)");

// What --help says before the flags.
constexpr char kAbout[] =
    "evc-cp-monitor: a charging point's monitor (its identity towards central).\n"
    "Authenticates at auth with the CP's secret, activates and checks its engine every second,\n"
    "and keeps the CP's link to central with a health report every second.\n"
    "\n"
    "usage: evc-cp-monitor --cp_id=ID --secret_file=FILE [--flag=value ...]\n"
    "example:\n"
    "  evc-cp-monitor --cp_id=ALC-001 --secret_file=ALC-001.secret --engine=127.0.0.1:50100\n";

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "cp-monitor", kAbout);
  const std::string cp_id = absl::GetFlag(FLAGS_cp_id);
  if (cp_id.empty()) evc::ExitIfError("--cp_id", absl::InvalidArgumentError("--cp_id is required"));
  std::string secret;
  if (const char* env = std::getenv("EVC_CP_SECRET"); env != nullptr && *env != '\0') {
    secret = env;
  } else {
    auto from_file = evc::ReadSecretFile(absl::GetFlag(FLAGS_secret_file), "CP secret");
    evc::ExitIfError("--secret_file (or EVC_CP_SECRET)", from_file.status());
    secret = *from_file;
  }
  evc::cp::GrpcEngineProbe engine(absl::GetFlag(FLAGS_engine));
  evc::cp::GrpcAuthenticator auth(absl::GetFlag(FLAGS_auth));
  auto central = evc::central::v1::CentralService::NewStub(evc::MakeCentralChannel(absl::GetFlag(FLAGS_central)));
  evc::cp::Monitor monitor(cp_id, secret, engine, auth, *central);
  evc::log::Info("monitor started", {{"cp_id", cp_id}});
  do {
    monitor.Tick(absl::Now());
  } while (!evc::ShutdownRequested().WaitForNotificationWithTimeout(monitor.health_interval()));
  monitor.Shutdown();
  return 0;
}
