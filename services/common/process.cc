#include "services/common/process.h"

#include <pthread.h>
#include <signal.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <thread>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/synchronization/mutex.h"
#include "services/common/help.h"
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

// A process that dies of a fault or an uncaught exception says so in its log
// before it goes: a service that exits during start-up leaves a line behind.
// The signal line is written with write(2) alone (async-signal-safe); then the
// handler that was there before (the default, or a sanitizer's) takes over.
constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
struct sigaction previous_actions[32];

void OnFatalSignal(int signo, siginfo_t* info, void*) {
  char line[96] = "{\"level\":\"error\",\"msg\":\"fatal signal\",\"signal\":\"";
  const char* name = signo == SIGSEGV ? "SIGSEGV" : signo == SIGBUS ? "SIGBUS" : signo == SIGFPE ? "SIGFPE"
                     : signo == SIGILL ? "SIGILL" : "SIGABRT";
  std::strncat(line, name, sizeof(line) - std::strlen(line) - 4);
  std::strncat(line, "\"}\n", sizeof(line) - std::strlen(line) - 1);
  (void)!write(STDERR_FILENO, line, std::strlen(line));
  sigaction(signo, &previous_actions[signo], nullptr);
  // A fault re-executes and meets the previous handler; a raised signal is raised again.
  if (signo == SIGABRT || info == nullptr || info->si_code <= 0) raise(signo);
}

void LogFatalEnds() {
  struct sigaction action = {};
  action.sa_sigaction = OnFatalSignal;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  for (int signo : kFatalSignals) sigaction(signo, &action, &previous_actions[signo]);
  std::set_terminate([] {
    std::string what = "no active exception";
    if (std::exception_ptr e = std::current_exception()) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        what = x.what();
      } catch (...) {
        what = "not a std::exception";
      }
    }
    log::Error("terminating: uncaught exception", {{"what", what}});
    std::abort();
  });
}

void ApplyEnvironmentToFlags() {
  for (auto& [name, flag] : absl::GetAllFlags()) {
    if (!IsProjectFlagFile(flag->Filename())) continue;
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
  // Before anything else: help must work whatever the environment holds.
  if (AsksForHelp(argc, argv)) {
    std::fputs(HelpText(usage).c_str(), stdout);
    std::exit(0);
  }
  StartSignalThread();
  LogFatalEnds();
  // Debian's Abseil is built with mutex deadlock detection on: a debugging aid
  // that does graph bookkeeping on every lock. Tests and TSan cover deadlocks.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  log::SetComponent(component);
  absl::SetProgramUsageMessage(usage);
  ApplyEnvironmentToFlags();
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  return std::vector<std::string>(rest.begin() + 1, rest.end());
}

void ExitIfError(const std::string& what, const absl::Status& status) {
  if (status.ok()) return;
  log::Error(what, {{"error", status.ToString()}});
  std::fprintf(stderr, "%s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

const absl::Notification& ShutdownRequested() { return shutdown_notification(); }

void RequestShutdown() {
  if (!shutdown_notification().HasBeenNotified()) shutdown_notification().Notify();
}

}  // namespace evc
