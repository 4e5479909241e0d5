#include "services/common/process.h"

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "services/common/log.h"

namespace evc {
namespace {

absl::Notification& shutdown_notification() {
  static absl::Notification* n = new absl::Notification();
  return *n;
}

void StartSignalThread() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  std::thread([signals] {
    int received = 0;
    sigwait(&signals, &received);
    log::Info("shutdown requested", {{"signal", received == SIGTERM ? "SIGTERM" : "SIGINT"}});
    RequestShutdown();
    // A second signal means "now".
    sigwait(&signals, &received);
    std::_Exit(130);
  }).detach();
}

// Flags defined under services/ are the project's; absl's own stay CLI-only.
void ApplyEnvironmentToFlags() {
  for (auto& [name, flag] : absl::GetAllFlags()) {
    if (!absl::StrContains(flag->Filename(), "services/")) continue;
    const char* value = std::getenv(EnvNameForFlag(name).c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      std::fprintf(stderr, "bad value in %s for --%s: %s\n", EnvNameForFlag(name).c_str(),
                   std::string(name).c_str(), error.c_str());
      std::exit(2);
    }
  }
}

}  // namespace

std::string EnvNameForFlag(absl::string_view flag_name) {
  return "EVC_" + absl::AsciiStrToUpper(flag_name);
}

std::vector<std::string> InitProcess(int argc, char** argv, absl::string_view component,
                                     absl::string_view usage) {
  StartSignalThread();
  // Debian's Abseil is built with mutex deadlock detection on: a debugging aid
  // that does graph bookkeeping on every lock. Tests and TSan cover deadlocks.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  log::SetComponent(component);
  absl::SetProgramUsageMessage(usage);
  ApplyEnvironmentToFlags();
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  return std::vector<std::string>(rest.begin() + 1, rest.end());
}

const absl::Notification& ShutdownRequested() { return shutdown_notification(); }

void RequestShutdown() {
  if (!shutdown_notification().HasBeenNotified()) shutdown_notification().Notify();
}

}  // namespace evc
