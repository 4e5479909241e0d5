#include "services/evcctl/watch.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "evc/central/v1/central.grpc.pb.h"
#include "services/common/process.h"
#include "services/evcctl/panel.h"

namespace evc::evcctl {
namespace {

using central::v1::NetworkUpdate;

// Shutdown cancels the stream that is blocking in Read(). Shared with the
// canceller thread, which may outlive FollowNetwork.
struct CurrentStream {
  absl::Mutex mu;
  grpc::ClientContext* context ABSL_GUARDED_BY(mu) = nullptr;
};

std::shared_ptr<CurrentStream> CancelOnShutdown() {
  auto current = std::make_shared<CurrentStream>();
  std::thread([current] {
    ShutdownRequested().WaitForNotification();
    absl::MutexLock lock(&current->mu);
    if (current->context != nullptr) current->context->TryCancel();
  }).detach();
  return current;
}

// Follows WatchNetwork until shutdown, reconnecting whenever the stream ends;
// every update goes to `on_update`, and why a stream ended to `on_broken`
// (both on this thread).
void FollowNetwork(central::v1::CentralService::Stub& central,
                   const std::function<void(const NetworkUpdate&)>& on_update,
                   const std::function<void(const std::string& why)>& on_broken) {
  auto current = CancelOnShutdown();
  while (!ShutdownRequested().HasBeenNotified()) {
    grpc::ClientContext context;
    {
      absl::MutexLock lock(&current->mu);
      current->context = &context;
      if (ShutdownRequested().HasBeenNotified()) break;
    }
    auto reader = central.WatchNetwork(&context, central::v1::WatchNetworkRequest());
    NetworkUpdate u;
    while (reader->Read(&u)) on_update(u);
    grpc::Status s = reader->Finish();
    {
      absl::MutexLock lock(&current->mu);
      current->context = nullptr;
    }
    if (ShutdownRequested().HasBeenNotified()) break;
    on_broken(absl::StrCat("stream ended (", s.error_message(), "); reconnecting"));
    if (ShutdownRequested().WaitForNotificationWithTimeout(absl::Seconds(1))) break;
  }
}

// The terminal while the panel runs: keys arrive one by one without echo (Ctrl-C
// still signals), the cursor is hidden, and everything is put back afterwards.
class PanelTerminal {
 public:
  PanelTerminal() {
    keys_ = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_) == 0;
    if (keys_) {
      termios raw = saved_;
      raw.c_lflag &= ~(ICANON | ECHO);
      raw.c_cc[VMIN] = 0;
      raw.c_cc[VTIME] = 0;
      tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
    std::fputs("\033[?25l", stdout);
    signal(SIGWINCH, [](int) { resized_ = true; });
  }
  ~PanelTerminal() {
    if (keys_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    std::fputs("\033[?25h\n", stdout);
    std::fflush(stdout);
  }

  // A key pressed within `timeout_ms`, else 0.
  char NextKey(int timeout_ms) {
    pollfd in{.fd = STDIN_FILENO, .events = POLLIN, .revents = 0};
    char key = 0;
    if (!keys_ || poll(&in, 1, timeout_ms) != 1 || read(STDIN_FILENO, &key, 1) != 1) {
      if (!keys_) absl::SleepFor(absl::Milliseconds(timeout_ms));
      return 0;
    }
    return key;
  }

  // True once after each SIGWINCH.
  bool Resized() { return resized_.exchange(false); }

  // The view sized to the terminal as it is now (80x24 when it cannot tell).
  static void FitToTerminal(PanelView& view) {
    winsize size{};
    const bool known =
        ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_row > 0 && size.ws_col > 0;
    view.rows = known ? size.ws_row : 24;
    view.cols = known ? size.ws_col : 80;
  }

  // Overwrites the screen in place (no clear: no flicker).
  static void Draw(const std::vector<std::string>& lines) {
    std::string screen = "\033[H";
    for (size_t i = 0; i < lines.size(); ++i) {
      absl::StrAppend(&screen, i ? "\n" : "", lines[i], "\033[K");
    }
    absl::StrAppend(&screen, "\033[J");
    std::fwrite(screen.data(), 1, screen.size(), stdout);
    std::fflush(stdout);
  }

 private:
  static inline std::atomic<bool> resized_{true};
  bool keys_ = false;
  termios saved_{};
};

struct SharedPanel {
  absl::Mutex mu;
  WatchPanel panel ABSL_GUARDED_BY(mu);
  bool changed ABSL_GUARDED_BY(mu) = true;
};

// Redraws on a change (at most 4 times a second), a key or a resize, until q
// or shutdown.
void RunPanel(SharedPanel& shared, PanelView view) {
  PanelTerminal terminal;
  absl::Time last_draw = absl::InfinitePast();
  while (!ShutdownRequested().HasBeenNotified()) {
    const char key = terminal.NextKey(100);
    if (key == 'q') return;
    std::vector<std::string> lines;
    {
      absl::MutexLock lock(&shared.mu);
      const bool resized = terminal.Resized();
      const bool asked = PanelKey(key, shared.panel, view) || resized;
      const bool due = shared.changed && absl::Now() - last_draw >= absl::Milliseconds(250);
      if (!asked && !due) continue;
      shared.changed = false;
      PanelTerminal::FitToTerminal(view);
      lines = shared.panel.Lines(view);
    }
    PanelTerminal::Draw(lines);
    last_draw = absl::Now();
  }
}

void WatchPlain(Context& c, central::v1::CentralService::Stub& central, const PanelView& view) {
  FollowNetwork(
      central,
      [&](const NetworkUpdate& u) {
        if (!u.has_charging_point() || Matches(view, u.charging_point())) PrintPlain(c.out, u);
      },
      [&](const std::string& why) { std::fprintf(c.err, "%s\n", why.c_str()); });
}

void WatchOnPanel(central::v1::CentralService::Stub& central, const PanelView& view) {
  auto shared = std::make_shared<SharedPanel>();
  std::thread follower([shared, &central] {
    // On the panel, not on stderr: a line printed under it would scroll its header away.
    FollowNetwork(
        central,
        [&](const NetworkUpdate& u) {
          absl::MutexLock lock(&shared->mu);
          shared->panel.Apply(u);
          shared->changed = true;
        },
        [&](const std::string& why) {
          absl::MutexLock lock(&shared->mu);
          shared->panel.SetProblem(why);
          shared->changed = true;
        });
  });
  RunPanel(*shared, view);
  RequestShutdown();  // ends the follower's stream
  follower.join();
}

}  // namespace

void PrintPlain(std::FILE* out, const NetworkUpdate& u) {
  if (u.has_snapshot()) {
    std::fprintf(out, u.snapshot().continued() ? "snapshot, continued: %d more charging points\n"
                                               : "snapshot: %d charging points\n",
                 u.snapshot().charging_points_size());
  }
  if (u.has_charging_point())
    std::fprintf(out, "%s\n", StatusLine(u.charging_point(), false).c_str());
  if (u.has_removed_cp_id()) std::fprintf(out, "removed: %s\n", u.removed_cp_id().c_str());
  if (u.has_message()) std::fprintf(out, "%s\n", MessageLine(u.message()).c_str());
  std::fflush(out);
}

// The seeds' "PANEL DE MONITORIZACIÓN": every CP, its state, and live supplies.
int Watch(Context& c) {
  PanelView view{.city = c.options.city, .colour = true};
  if (!ParseStateFilter(c.options.state, &view.state)) {
    return Fail(c, absl::InvalidArgumentError(absl::StrCat(
                       "--state=", c.options.state,
                       " is not a state: give ACTIVE, SUPPLYING, OUT_OF_SERVICE, FAULTED or "
                       "DISCONNECTED")));
  }
  auto central = StubFor<central::v1::CentralService>(c, c.options.central, false);
  if (!central.ok()) return Fail(c, central.status());
  if (c.options.plain || !c.terminal) {
    WatchPlain(c, **central, view);
  } else {
    WatchOnPanel(**central, view);
  }
  return 0;
}

}  // namespace evc::evcctl
