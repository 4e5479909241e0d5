// evcctl: the operator's command line. Its commands (what they do, their
// flags, an example) are the table in Commands() below: `evcctl --help` lists
// them, `evcctl help COMMAND` explains one.
//
// Operator commands log in first: --user and --password_file (or EVC_USER and
// EVC_PASSWORD_FILE; without a file the password is asked for).

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "evc/auth/v1/auth.grpc.pb.h"
#include "evc/central/v1/central.grpc.pb.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "evc/weather/v1/weather.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/common/client_session.h"
#include "services/common/grpc_server.h"
#include "services/common/grpc_util.h"
#include "services/common/help.h"
#include "services/common/names.h"
#include "services/common/process.h"
#include "services/common/proto_time.h"
#include "services/evcctl/commands.h"
#include "services/evcctl/panel.h"

ABSL_FLAG(std::string, registry, "127.0.0.1:50051", "registry gRPC address");
ABSL_FLAG(std::string, auth, "127.0.0.1:50052", "auth gRPC address");
ABSL_FLAG(std::string, user, "", "operator username for commands that need one");
ABSL_FLAG(std::string, password_file, "", "file holding --user's password (else asked)");
ABSL_FLAG(std::string, central, "127.0.0.1:50053", "central gRPC address");
ABSL_FLAG(std::string, weather, "127.0.0.1:50054", "weather gRPC address");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "deadline of each call (and of wait-active)");
ABSL_FLAG(std::string, address, "", "register: street address");
ABSL_FLAG(std::string, city, "", "register: city; watch: show only this city's CPs (any case)");
ABSL_FLAG(std::string, country, "ES", "register: ISO country code");
ABSL_FLAG(int64_t, price, 0, "register: price in millieuros per kWh (350 = 0.35 EUR/kWh)");
ABSL_FLAG(int64_t, max_power, 22000, "register: maximum power in watts");
ABSL_FLAG(std::string, secret_file, "", "register: write the CP secret to this file (mode 600)");
ABSL_FLAG(bool, reset_if_exists, false, "register: if the CP exists, issue it new credentials");
ABSL_FLAG(bool, all, false, "stop/resume: every charging point");
ABSL_FLAG(std::string, name, "", "signup: the person's name");
ABSL_FLAG(std::string, email, "", "signup: the person's email");
ABSL_FLAG(std::string, role, "driver", "signup: driver or operator (operator needs --user)");
ABSL_FLAG(std::string, new_password_file, "", "signup: the new account's password (else asked twice)");
ABSL_FLAG(bool, if_missing, false, "signup: succeed if the account already exists");
ABSL_FLAG(std::string, category, "", "audit: AUTH, CHARGE, INCIDENT, STATUS, ERROR, SECURITY or SYSTEM");
ABSL_FLAG(std::string, actor, "", "audit: only this actor's events");
ABSL_FLAG(absl::Duration, since, absl::ZeroDuration(), "audit: only events younger than this (e.g. 1h)");
ABSL_FLAG(absl::Duration, grace, absl::Seconds(60), "rotate-key: how long the old key keeps working");
ABSL_FLAG(std::string, driver, "", "tickets: only this driver's");
ABSL_FLAG(std::string, cp, "", "tickets, audit: only this CP's");
ABSL_FLAG(int, limit, 20, "tickets, audit, weather alerts and readings: how many");
ABSL_FLAG(int, count, 1, "wait-active: how many ACTIVE CPs to wait for");
ABSL_FLAG(bool, plain, false, "watch: one line per event instead of a redrawn panel");
ABSL_FLAG(std::string, state, "",
          "watch: show only CPs in this state (ACTIVE, SUPPLYING, OUT_OF_SERVICE, FAULTED or "
          "DISCONNECTED)");

namespace {

using evc::central::v1::CentralService;
using evc::evcctl::Euros;
using evc::evcctl::Kwh;
using evc::evcctl::StatusLine;
using evc::registry::v1::RegistryService;

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "evcctl: %s\n", s.ToString().c_str());
  return 1;
}

int Usage() {
  std::fprintf(stderr,
               "usage: evcctl [--flag=value ...] COMMAND [ARGS]: evcctl --help lists the commands, "
               "evcctl help COMMAND explains one\n");
  return 2;
}

// The operator's session, opened on the first call that needs one.
evc::ClientSession* Session() {
  static evc::ClientSession* session = [] {
    const std::string user = absl::GetFlag(FLAGS_user);
    if (user.empty()) {
      std::exit(Fail(absl::UnauthenticatedError("this command needs an operator: give --user (or EVC_USER)")));
    }
    auto password = evc::ReadPassword(absl::GetFlag(FLAGS_password_file), "password for " + user + ": ");
    if (!password.ok()) std::exit(Fail(password.status()));
    auto opened = evc::ClientSession::Login(absl::GetFlag(FLAGS_auth), user, *password);
    if (!opened.ok()) std::exit(Fail(opened.status()));
    return opened->release();
  }();
  return session;
}

evc::BearerSource Bearer(bool login) { return login ? Session()->Bearer() : nullptr; }

std::unique_ptr<RegistryService::Stub> Registry(bool login = true) {
  return RegistryService::NewStub(evc::MakeChannel(absl::GetFlag(FLAGS_registry), Bearer(login)));
}
std::unique_ptr<CentralService::Stub> Central(bool login = true) {
  return CentralService::NewStub(evc::MakeChannel(absl::GetFlag(FLAGS_central), Bearer(login)));
}
std::unique_ptr<evc::weather::v1::WeatherService::Stub> Weather(bool login) {
  return evc::weather::v1::WeatherService::NewStub(evc::MakeChannel(absl::GetFlag(FLAGS_weather), Bearer(login)));
}
std::unique_ptr<evc::auth::v1::AuthService::Stub> Auth() {
  return evc::auth::v1::AuthService::NewStub(evc::MakeChannel(absl::GetFlag(FLAGS_auth), Bearer(true)));
}

int Register(const std::string& id) {
  auto registry = Registry();
  evc::registry::v1::RegisterChargingPointRequest r;
  r.set_cp_id(id);
  r.mutable_location()->set_address(absl::GetFlag(FLAGS_address));
  r.mutable_location()->set_city(absl::GetFlag(FLAGS_city));
  r.mutable_location()->set_country(absl::GetFlag(FLAGS_country));
  r.set_price_millieuros_per_kwh(absl::GetFlag(FLAGS_price));
  r.set_max_power_w(absl::GetFlag(FLAGS_max_power));
  const absl::Duration t = absl::GetFlag(FLAGS_timeout);
  std::string secret;
  auto registered = evc::CallUnary(&RegistryService::Stub::RegisterChargingPoint, *registry, r, t);
  if (registered.ok()) {
    secret = registered->credentials().secret();
  } else if (absl::IsAlreadyExists(registered.status()) && absl::GetFlag(FLAGS_reset_if_exists)) {
    evc::registry::v1::ResetCredentialsRequest reset;
    reset.set_cp_id(id);
    auto c = evc::CallUnary(&RegistryService::Stub::ResetCredentials, *registry, reset, t);
    if (!c.ok()) return Fail(c.status());
    secret = c->secret();
  } else {
    return Fail(registered.status());
  }
  const std::string file = absl::GetFlag(FLAGS_secret_file);
  if (file.empty()) {
    std::printf("registered %s\nsecret (shown once, keep it): %s\n", id.c_str(), secret.c_str());
  } else {
    umask(077);
    std::ofstream(file) << secret << "\n";
    std::printf("registered %s; secret written to %s\n", id.c_str(), file.c_str());
  }
  return 0;
}

int Unregister(const std::string& id) {
  evc::registry::v1::UnregisterChargingPointRequest r;
  r.set_cp_id(id);
  auto registry = Registry();
  auto s = evc::CallUnary(&RegistryService::Stub::UnregisterChargingPoint, *registry, r,
                          absl::GetFlag(FLAGS_timeout));
  if (!s.ok()) return Fail(s.status());
  std::printf("unregistered %s: its credentials and keys no longer work\n", id.c_str());
  return 0;
}

int List() {
  auto registry = Registry(false);
  auto list = evc::CallUnary(&RegistryService::Stub::ListChargingPoints, *registry,
                             evc::registry::v1::ListChargingPointsRequest(), absl::GetFlag(FLAGS_timeout));
  if (!list.ok()) return Fail(list.status());
  std::printf("%-12s %-14s %-3s %-30s %10s %10s\n", "CP", "CITY", "CC", "ADDRESS", "EUR/kWh", "MAX kW");
  for (const auto& cp : list->charging_points()) {
    std::printf("%-12s %-14s %-3s %-30s %10s %10.1f\n", cp.cp_id().c_str(),
                cp.location().city().c_str(), cp.location().country().c_str(),
                cp.location().address().c_str(), Euros(cp.price_millieuros_per_kwh()).c_str(),
                cp.max_power_w() / 1000.0);
  }
  return 0;
}

int Status() {
  auto central = Central(false);
  auto list = evc::CallUnary(&CentralService::Stub::ListChargingPoints, *central,
                             evc::central::v1::ListChargingPointsRequest(), absl::GetFlag(FLAGS_timeout));
  if (!list.ok()) return Fail(list.status());
  const bool colour = isatty(STDOUT_FILENO);
  std::printf("%s\n", evc::evcctl::StatusHeader().c_str());
  for (const auto& s : list->charging_points()) std::printf("%s\n", StatusLine(s, colour).c_str());
  return 0;
}

int Operator(const std::string& verb, const std::vector<std::string>& args) {
  evc::central::v1::OperatorRequest r;
  r.set_all(absl::GetFlag(FLAGS_all));
  if (!r.all()) {
    if (args.size() < 2) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat(verb, " needs a CP id or --all (evcctl help ", verb, ")")));
    }
    r.set_cp_id(args[1]);
  }
  auto central = Central();
  auto method = verb == "stop" ? &CentralService::Stub::StopChargingPoints
                               : &CentralService::Stub::ResumeChargingPoints;
  auto resp = evc::CallUnary(method, *central, r, absl::GetFlag(FLAGS_timeout));
  if (!resp.ok()) return Fail(resp.status());
  std::printf("%s: %s\n", verb.c_str(),
              resp->affected_cp_ids().empty() ? "nothing to change"
                                              : absl::StrJoin(resp->affected_cp_ids(), ", ").c_str());
  return 0;
}

int SignUp(const std::string& username) {
  evc::registry::v1::SignUpRequest r;
  r.set_username(username);
  r.set_name(absl::GetFlag(FLAGS_name));
  r.set_email(absl::GetFlag(FLAGS_email));
  r.set_role(absl::GetFlag(FLAGS_role));
  const std::string file = absl::GetFlag(FLAGS_new_password_file);
  auto password = evc::ReadPassword(file, "new password for " + username + ": ");
  if (!password.ok()) return Fail(password.status());
  auto confirmation = file.empty() ? evc::ReadPassword("", "again: ") : password;
  if (!confirmation.ok()) return Fail(confirmation.status());
  r.set_password(*password);
  r.set_password_confirmation(*confirmation);
  auto registry = Registry(r.role() == "operator");
  auto a = evc::CallUnary(&RegistryService::Stub::SignUp, *registry, r, absl::GetFlag(FLAGS_timeout));
  if (absl::IsAlreadyExists(a.status()) && absl::GetFlag(FLAGS_if_missing)) return 0;
  if (!a.ok()) return Fail(a.status());
  std::printf("%s account %s created\n", a->role().c_str(), a->username().c_str());
  return 0;
}

int Audit() {
  evc::central::v1::ListAuditEventsRequest r;
  r.set_category(absl::GetFlag(FLAGS_category));
  r.set_actor(absl::GetFlag(FLAGS_actor));
  r.set_cp_id(absl::GetFlag(FLAGS_cp));
  r.set_limit(absl::GetFlag(FLAGS_limit));
  if (absl::GetFlag(FLAGS_since) > absl::ZeroDuration()) {
    *r.mutable_since() = evc::ToProto(absl::Now() - absl::GetFlag(FLAGS_since));
  }
  auto central = Central();
  auto list = evc::CallUnary(&CentralService::Stub::ListAuditEvents, *central, r, absl::GetFlag(FLAGS_timeout));
  if (!list.ok()) return Fail(list.status());
  std::printf("%-23s %-8s %-26s %-18s %-10s %-8s %s\n", "AT", "CATEGORY", "ACTION", "ACTOR", "CP", "OUTCOME",
              "DETAILS");
  // Oldest first reads like a story.
  for (auto it = list->events().rbegin(); it != list->events().rend(); ++it) {
    std::printf("%-23s %-8s %-26s %-18s %-10s %-8s %s\n",
                absl::FormatTime("%Y-%m-%d %H:%M:%E3S", evc::FromProto(it->at()), absl::LocalTimeZone()).c_str(),
                it->category().c_str(), it->action().c_str(), it->actor().c_str(), it->cp_id().c_str(),
                it->outcome().c_str(), it->details_json().c_str());
  }
  return 0;
}

int RevokeCp(const std::string& id) {
  evc::auth::v1::RevokeChargingPointRequest r;
  r.set_cp_id(id);
  auto auth = Auth();
  auto done = evc::CallUnary(&evc::auth::v1::AuthService::Stub::RevokeChargingPoint, *auth, r,
                             absl::GetFlag(FLAGS_timeout));
  if (!done.ok()) return Fail(done.status());
  std::printf("revoked %s: %d tokens and %d keys dead; its link is cut\n", id.c_str(),
              done->revoked_tokens(), done->revoked_keys());
  return 0;
}

int RotateKey(const std::string& id) {
  evc::auth::v1::RotateChargingPointKeyRequest r;
  r.set_cp_id(id);
  *r.mutable_grace() = evc::ToProto(absl::GetFlag(FLAGS_grace));
  auto auth = Auth();
  auto done = evc::CallUnary(&evc::auth::v1::AuthService::Stub::RotateChargingPointKey, *auth, r,
                             absl::GetFlag(FLAGS_timeout));
  if (!done.ok()) return Fail(done.status());
  std::printf("%s: new key %s; the old one works until %s\n", id.c_str(), done->new_key_id().c_str(),
              absl::FormatTime("%H:%M:%S", evc::FromProto(done->old_keys_valid_until()),
                               absl::LocalTimeZone()).c_str());
  return 0;
}

int RotateSigningKey() {
  auto auth = Auth();
  auto done = evc::CallUnary(&evc::auth::v1::AuthService::Stub::RotateSigningKey, *auth,
                             evc::auth::v1::RotateSigningKeyRequest(), absl::GetFlag(FLAGS_timeout));
  if (!done.ok()) return Fail(done.status());
  std::printf("new token-signing key %s\n", done->key_id().c_str());
  return 0;
}

int Tickets() {
  evc::central::v1::ListTicketsRequest r;
  r.set_driver_id(absl::GetFlag(FLAGS_driver));
  r.set_cp_id(absl::GetFlag(FLAGS_cp));
  r.set_limit(absl::GetFlag(FLAGS_limit));
  auto central = Central();
  auto list = evc::CallUnary(&CentralService::Stub::ListTickets, *central, r, absl::GetFlag(FLAGS_timeout));
  if (!list.ok()) return Fail(list.status());
  std::printf("%-32s %-10s %-14s %-20s %10s %9s  %s\n", "SUPPLY", "CP", "DRIVER", "ENDED", "kWh", "EUR", "REASON");
  for (const auto& t : list->tickets()) {
    std::printf("%-32s %-10s %-14s %-20s %10s %9s  %s\n", t.supply_id().c_str(), t.cp_id().c_str(),
                t.driver_id().empty() ? "(walk-in)" : t.driver_id().c_str(),
                absl::FormatTime("%Y-%m-%d %H:%M:%S", evc::FromProto(t.ended_at()), absl::LocalTimeZone()).c_str(),
                Kwh(t.energy_wh()).c_str(), Euros(t.amount_millieuros()).c_str(),
                evc::EndReasonText(t.end_reason()).c_str());
  }
  return 0;
}

// Follows WatchNetwork until shutdown, reconnecting whenever the stream ends;
// every update goes to `on_update`, and why a stream ended to `on_broken`
// (both on this thread).
void FollowNetwork(const std::function<void(const evc::central::v1::NetworkUpdate&)>& on_update,
                   const std::function<void(const std::string& why)>& on_broken) {
  auto central = Central(false);
  // Shutdown cancels the stream that is blocking in Read(). Shared with the
  // canceller thread, which may outlive this function.
  struct Current {
    absl::Mutex mu;
    grpc::ClientContext* context ABSL_GUARDED_BY(mu) = nullptr;
  };
  auto shared = std::make_shared<Current>();
  std::thread([shared] {
    evc::ShutdownRequested().WaitForNotification();
    absl::MutexLock lock(&shared->mu);
    if (shared->context != nullptr) shared->context->TryCancel();
  }).detach();
  while (!evc::ShutdownRequested().HasBeenNotified()) {
    grpc::ClientContext context;
    {
      absl::MutexLock lock(&shared->mu);
      shared->context = &context;
      if (evc::ShutdownRequested().HasBeenNotified()) break;
    }
    auto reader = central->WatchNetwork(&context, evc::central::v1::WatchNetworkRequest());
    evc::central::v1::NetworkUpdate u;
    while (reader->Read(&u)) on_update(u);
    grpc::Status s = reader->Finish();
    {
      absl::MutexLock lock(&shared->mu);
      shared->context = nullptr;
    }
    if (evc::ShutdownRequested().HasBeenNotified()) break;
    on_broken(absl::StrCat("stream ended (", s.error_message(), "); reconnecting"));
    if (evc::ShutdownRequested().WaitForNotificationWithTimeout(absl::Seconds(1))) break;
  }
}

void PrintPlain(const evc::central::v1::NetworkUpdate& u) {
  if (u.has_snapshot()) {
    std::printf("snapshot: %d charging points\n", u.snapshot().charging_points_size());
  }
  if (u.has_charging_point()) std::printf("%s\n", StatusLine(u.charging_point(), false).c_str());
  if (u.has_removed_cp_id()) std::printf("removed: %s\n", u.removed_cp_id().c_str());
  if (u.has_message()) std::printf("%s\n", evc::evcctl::MessageLine(u.message()).c_str());
  std::fflush(stdout);
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
  static void FitToTerminal(evc::evcctl::PanelView& view) {
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
  evc::evcctl::WatchPanel panel ABSL_GUARDED_BY(mu);
  bool changed ABSL_GUARDED_BY(mu) = true;
};

// Redraws on a change (at most 4 times a second), a key or a resize, until q
// or shutdown.
void RunPanel(SharedPanel& shared, evc::evcctl::PanelView view) {
  PanelTerminal terminal;
  absl::Time last_draw = absl::InfinitePast();
  while (!evc::ShutdownRequested().HasBeenNotified()) {
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

// The seeds' "PANEL DE MONITORIZACIÓN": every CP, its state, and live supplies.
int Watch() {
  evc::evcctl::PanelView view{.city = absl::GetFlag(FLAGS_city), .colour = true};
  if (!evc::evcctl::ParseStateFilter(absl::GetFlag(FLAGS_state), &view.state)) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "--state=", absl::GetFlag(FLAGS_state),
        " is not a state: give ACTIVE, SUPPLYING, OUT_OF_SERVICE, FAULTED or DISCONNECTED")));
  }
  if (absl::GetFlag(FLAGS_plain) || !isatty(STDOUT_FILENO)) {
    FollowNetwork(
        [&view](const evc::central::v1::NetworkUpdate& u) {
          if (!u.has_charging_point() || evc::evcctl::Matches(view, u.charging_point())) {
            PrintPlain(u);
          }
        },
        [](const std::string& why) { std::fprintf(stderr, "%s\n", why.c_str()); });
    return 0;
  }
  auto shared = std::make_shared<SharedPanel>();
  std::thread follower([shared] {
    // On the panel, not on stderr: a line printed under it would scroll its header away.
    FollowNetwork(
        [&](const evc::central::v1::NetworkUpdate& u) {
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
  evc::RequestShutdown();  // ends the follower's stream
  follower.join();
  return 0;
}

int WaitActive() {
  auto central = Central(false);
  const absl::Time deadline = absl::Now() + absl::GetFlag(FLAGS_timeout);
  int active = 0;
  while (absl::Now() < deadline) {
    auto list = evc::CallUnary(&CentralService::Stub::ListChargingPoints, *central,
                               evc::central::v1::ListChargingPointsRequest(), absl::Seconds(2));
    active = 0;
    if (list.ok()) {
      for (const auto& s : list->charging_points()) {
        if (s.state() == evc::common::v1::CP_STATE_ACTIVE || s.state() == evc::common::v1::CP_STATE_SUPPLYING) ++active;
      }
      if (active >= absl::GetFlag(FLAGS_count)) return 0;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  std::fprintf(stderr, "evcctl: only %d of %d CPs ACTIVE\n", active, absl::GetFlag(FLAGS_count));
  return 1;
}

int Health(const std::string& address) {
  auto stub = grpc::health::v1::Health::NewStub(evc::MakeChannel(address));
  auto r = evc::CallUnary(&grpc::health::v1::Health::Stub::Check, *stub,
                          grpc::health::v1::HealthCheckRequest(), absl::GetFlag(FLAGS_timeout));
  if (!r.ok()) return Fail(r.status());
  std::printf("%s\n", grpc::health::v1::HealthCheckResponse::ServingStatus_Name(r->status()).c_str());
  return r->status() == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}

// "Alicante" or "Alicante,ES".
std::pair<std::string, std::string> CityArg(const std::string& arg) {
  const size_t comma = arg.rfind(',');
  if (comma == std::string::npos) return {arg, ""};
  return {arg.substr(0, comma), arg.substr(comma + 1)};
}

void PrintCity(const evc::weather::v1::City& c) {
  std::string temp = c.has_latest() ? absl::StrFormat("%6.1f °C", c.latest().temperature_c()) : "     - °C";
  std::string note = c.has_override_c() ? " (set by operator)" : "";
  if (!c.last_error().empty()) absl::StrAppend(&note, "  last read failed: ", c.last_error());
  std::printf("%-16s %-3s %s  %-6s %-24s%s\n", c.city().c_str(), c.country().c_str(), temp.c_str(),
              c.in_alert() ? "ALERT" : "ok", absl::StrJoin(c.cp_ids(), ",").c_str(), note.c_str());
}

int WeatherCities() {
  auto weather = Weather(false);
  auto list = evc::CallUnary(&evc::weather::v1::WeatherService::Stub::ListCities, *weather,
                             evc::weather::v1::ListCitiesRequest(), absl::GetFlag(FLAGS_timeout));
  if (!list.ok()) return Fail(list.status());
  std::printf("provider: %s\n%-16s %-3s %9s  %-6s %s\n", list->provider().c_str(), "CITY", "CC",
              "TEMP", "STATE", "CPS");
  for (const auto& c : list->cities()) PrintCity(c);
  return 0;
}

int WeatherSet(const std::vector<std::string>& args) {
  auto weather = Weather(true);
  const auto [city, country] = CityArg(args[2]);
  absl::StatusOr<evc::weather::v1::City> result;
  if (args[1] == "set") {
    double celsius = 0;
    if (args.size() < 4 || !absl::SimpleAtod(args[3], &celsius)) {
      return Fail(absl::InvalidArgumentError("usage: evcctl weather set CITY[,CC] TEMP (°C, e.g. 45 or -7.5)"));
    }
    evc::weather::v1::SetTemperatureRequest r;
    r.set_city(city);
    r.set_country(country);
    r.set_temperature_c(celsius);
    result = evc::CallUnary(&evc::weather::v1::WeatherService::Stub::SetTemperature, *weather, r,
                            absl::GetFlag(FLAGS_timeout));
  } else {
    evc::weather::v1::ClearTemperatureRequest r;
    r.set_city(city);
    r.set_country(country);
    result = evc::CallUnary(&evc::weather::v1::WeatherService::Stub::ClearTemperature, *weather, r,
                            absl::GetFlag(FLAGS_timeout));
  }
  if (!result.ok()) return Fail(result.status());
  PrintCity(*result);
  return 0;
}

int WeatherAlerts(const std::vector<std::string>& args) {
  auto weather = Weather(false);
  evc::weather::v1::ListAlertsRequest r;
  if (args.size() > 2) r.set_city(CityArg(args[2]).first);
  r.set_limit(absl::GetFlag(FLAGS_limit));
  auto list = evc::CallUnary(&evc::weather::v1::WeatherService::Stub::ListAlerts, *weather, r,
                             absl::GetFlag(FLAGS_timeout));
  if (!list.ok()) return Fail(list.status());
  for (const auto& a : list->alerts()) {
    std::printf("%s  %-5s %-16s %-3s %6.1f °C (range %.1f..%.1f)  %s\n",
                absl::FormatTime("%Y-%m-%d %H:%M:%S", evc::FromProto(a.at()), absl::LocalTimeZone()).c_str(),
                a.kind() == evc::weather::v1::Alert::KIND_ALERT ? "ALERT" : "CLEAR", a.city().c_str(),
                a.country().c_str(), a.temperature_c(), a.min_c(), a.max_c(),
                absl::StrJoin(a.cp_ids(), ",").c_str());
  }
  return 0;
}

int WeatherReadings(const std::vector<std::string>& args) {
  auto weather = Weather(false);
  evc::weather::v1::ListReadingsRequest r;
  std::tie(*r.mutable_city(), *r.mutable_country()) = CityArg(args[2]);
  r.set_limit(absl::GetFlag(FLAGS_limit));
  auto list = evc::CallUnary(&evc::weather::v1::WeatherService::Stub::ListReadings, *weather, r,
                             absl::GetFlag(FLAGS_timeout));
  if (!list.ok()) return Fail(list.status());
  for (const auto& x : list->readings()) {
    std::printf("%s  %6.1f °C  feels %6.1f °C  %3.0f%%  %4.1f m/s  %-18s %s\n",
                absl::FormatTime("%Y-%m-%d %H:%M:%S", evc::FromProto(x.at()), absl::LocalTimeZone()).c_str(),
                x.temperature_c(), x.feels_like_c(), x.humidity_pct(), x.wind_mps(), x.conditions().c_str(),
                x.provider().c_str());
  }
  return 0;
}

// Shows the configuration, or changes the fields given as NAME=VALUE.
int WeatherConfig(const std::vector<std::string>& args) {
  evc::weather::v1::UpdateConfigRequest r;
  for (size_t i = 2; i < args.size(); ++i) {
    const size_t eq = args[i].find('=');
    if (eq == std::string::npos) return Fail(absl::InvalidArgumentError("config changes are NAME=VALUE"));
    const std::string name = args[i].substr(0, eq), value = args[i].substr(eq + 1);
    double number = 0;
    absl::Duration period;
    auto* c = r.mutable_config();
    if ((name == "min_c" || name == "max_c" || name == "hysteresis_c") && absl::SimpleAtod(value, &number)) {
      if (name == "min_c") c->set_min_c(number);
      if (name == "max_c") c->set_max_c(number);
      if (name == "hysteresis_c") c->set_hysteresis_c(number);
    } else if ((name == "poll_interval" || name == "sync_interval") && absl::ParseDuration(value, &period)) {
      *(name == "poll_interval" ? c->mutable_poll_interval() : c->mutable_sync_interval()) = evc::ToProto(period);
    } else {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          "cannot set '", args[i], "': known are min_c, max_c, hysteresis_c (°C) and poll_interval, sync_interval (e.g. 5s)")));
    }
    r.mutable_update_mask()->add_paths(name);
  }
  absl::StatusOr<evc::weather::v1::WeatherConfig> config;
  if (r.update_mask().paths().empty()) {
    auto weather = Weather(false);
    config = evc::CallUnary(&evc::weather::v1::WeatherService::Stub::GetConfig, *weather,
                            evc::weather::v1::GetConfigRequest(), absl::GetFlag(FLAGS_timeout));
  } else {
    auto weather = Weather(true);
    config = evc::CallUnary(&evc::weather::v1::WeatherService::Stub::UpdateConfig, *weather, r,
                            absl::GetFlag(FLAGS_timeout));
  }
  if (!config.ok()) return Fail(config.status());
  std::printf("safe range %.1f..%.1f °C, hysteresis %.1f °C, poll every %s, CP sync every %s\n",
              config->min_c(), config->max_c(), config->hysteresis_c(),
              absl::FormatDuration(evc::FromProto(config->poll_interval())).c_str(),
              absl::FormatDuration(evc::FromProto(config->sync_interval())).c_str());
  return 0;
}

int WeatherCommand(const std::vector<std::string>& args) {
  const std::string sub = args.size() > 1 ? args[1] : "cities";
  if (sub == "cities") return WeatherCities();
  if ((sub == "set" || sub == "clear") && args.size() >= 3) return WeatherSet(args);
  if (sub == "alerts") return WeatherAlerts(args);
  if (sub == "readings" && args.size() >= 3) return WeatherReadings(args);
  if (sub == "config") return WeatherConfig(args);
  std::fprintf(stderr, "usage: evcctl weather [cities] | set CITY[,CC] TEMP | clear CITY[,CC] | "
                       "alerts [CITY] | readings CITY[,CC] | config [NAME=VALUE ...]\n");
  return 2;
}

// "weather set Oslo -8": a negative number is a value, not a flag. Such
// arguments move behind a "--" (positional arguments keep their order).
std::vector<char*> NegativeNumbersAsArguments(int argc, char** argv) {
  std::vector<char*> flags_and_words, numbers;
  for (int i = 0; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") return std::vector<char*>(argv, argv + argc);
    double ignored;
    const bool negative_number = i > 0 && argv[i][0] == '-' && absl::SimpleAtod(argv[i], &ignored);
    (negative_number ? numbers : flags_and_words).push_back(argv[i]);
  }
  if (numbers.empty()) return flags_and_words;
  static char separator[] = "--";
  flags_and_words.push_back(separator);
  flags_and_words.insert(flags_and_words.end(), numbers.begin(), numbers.end());
  return flags_and_words;
}

// The flags of every command that logs in as an operator, after its own.
std::vector<std::string> AsOperator(std::vector<std::string> flags) {
  flags.insert(flags.end(), {"user", "password_file", "auth", "timeout"});
  return flags;
}

constexpr char kAdmin[] = "evcctl --user=admin --password_file=.evc/accounts/admin.password";

const std::vector<evc::evcctl::Command>& Commands() {
  using evc::evcctl::Command;
  auto id = [](int (*run)(const std::string&)) {
    return [run](const std::vector<std::string>& args) { return run(args[1]); };
  };
  auto none = [](int (*run)()) { return [run](const std::vector<std::string>&) { return run(); }; };
  static const auto* commands = new std::vector<Command>{
      {.name = "register",
       .synopsis =
           "register ID --address=.. --city=.. [--country=ES] --price=350 [--max_power=22000]",
       .summary = "enrol a charging point; its secret is shown once (or written to --secret_file)",
       .example = absl::StrCat(
           kAdmin, " register MAD-002 --address=\"Gran Via 1\" --city=Madrid --price=350"),
       .flags = AsOperator({"registry", "address", "city", "country", "price", "max_power",
                            "secret_file", "reset_if_exists"}),
       .arguments = 1,
       .run = id(Register)},
      {.name = "unregister",
       .synopsis = "unregister ID",
       .summary = "remove a charging point: its credentials and keys stop working at once",
       .example = absl::StrCat(kAdmin, " unregister MAD-002"),
       .flags = AsOperator({"registry"}),
       .arguments = 1,
       .run = id(Unregister)},
      {.name = "list",
       .synopsis = "list",
       .summary = "enrolled charging points: city, address, price, max power (registry; no login)",
       .example = "evcctl list",
       .flags = {"registry", "timeout"},
       .run = none(List)},
      {.name = "status",
       .synopsis = "status",
       .summary = "live state of every charging point, with its supply, fault or holds (no login)",
       .example = "evcctl status",
       .flags = {"central", "timeout"},
       .run = none(Status)},
      {.name = "stop",
       .synopsis = "stop ID | --all",
       .summary = "operator stop: a running supply ends with a ticket, the CP goes OUT_OF_SERVICE",
       .example = absl::StrCat(kAdmin, " stop --all"),
       .flags = AsOperator({"central", "all"}),
       .run = [](const std::vector<std::string>& args) { return Operator("stop", args); }},
      {.name = "resume",
       .synopsis = "resume ID | --all",
       .summary = "lift the operator stop (a weather hold, if any, still holds)",
       .example = absl::StrCat(kAdmin, " resume BCN-001"),
       .flags = AsOperator({"central", "all"}),
       .run = [](const std::vector<std::string>& args) { return Operator("resume", args); }},
      {.name = "signup",
       .synopsis = "signup USER --name=.. --email=.. [--role=operator] [--new_password_file=F] "
                   "[--if_missing]",
       .summary =
           "create a driver account (an operator account with --role=operator, as an operator)",
       .example = "evcctl signup maria --name=\"Maria\" --email=maria@example.com",
       .flags =
           AsOperator({"registry", "name", "email", "role", "new_password_file", "if_missing"}),
       .arguments = 1,
       .run = id(SignUp)},
      {.name = "tickets",
       .synopsis = "tickets [--driver=ID] [--cp=ID] [--limit=N]",
       .summary = "tickets of closed supplies, newest first",
       .example = absl::StrCat(kAdmin, " tickets --cp=BCN-001 --limit=5"),
       .flags = AsOperator({"central", "driver", "cp", "limit"}),
       .run = none(Tickets)},
      {.name = "audit",
       .synopsis = "audit [--category=C] [--actor=NAME] [--cp=ID] [--since=1h] [--limit=N]",
       .summary = "the audit trail, oldest first: logins, charges, alerts, operator commands",
       .example = absl::StrCat(kAdmin, " audit --category=SECURITY --since=1h"),
       .flags = AsOperator({"central", "category", "actor", "cp", "since", "limit"}),
       .run = none(Audit)},
      {.name = "revoke-cp",
       .synopsis = "revoke-cp ID",
       .summary = "kill a compromised charging point's keys and tokens at once; its link is cut",
       .example = absl::StrCat(kAdmin, " revoke-cp ALC-002"),
       .flags = AsOperator({}),
       .arguments = 1,
       .run = id(RevokeCp)},
      {.name = "rotate-key",
       .synopsis = "rotate-key ID [--grace=60s]",
       .summary =
           "a new AES key for a charging point; the old one still opens messages for --grace",
       .example = absl::StrCat(kAdmin, " rotate-key ALC-001 --grace=30s"),
       .flags = AsOperator({"grace"}),
       .arguments = 1,
       .run = id(RotateKey)},
      {.name = "rotate-signing-key",
       .synopsis = "rotate-signing-key",
       .summary = "a new key for signing access tokens (tokens signed before stay valid until they "
                  "expire)",
       .example = absl::StrCat(kAdmin, " rotate-signing-key"),
       .flags = AsOperator({}),
       .run = none(RotateSigningKey)},
      {.name = "watch",
       .synopsis = "watch [--state=S] [--city=C] [--plain]",
       .summary =
           "live panel: counts by state on top, CPs paged to fit the terminal (keys: n/p page, "
           "s state, c city, q quit); redraws on resize",
       .example = "evcctl watch --state=FAULTED --city=Madrid",
       .flags = {"central", "state", "city", "plain"},
       .run = none(Watch)},
      {.name = "wait-active",
       .synopsis = "wait-active --count=N [--timeout=D]",
       .summary =
           "wait until N charging points are ACTIVE or SUPPLYING; exit 1 after --timeout (scripts)",
       .example = "evcctl wait-active --count=5 --timeout=60s",
       .flags = {"central", "count", "timeout"},
       .run = none(WaitActive)},
      {.name = "health",
       .synopsis = "health ADDR",
       .summary = "gRPC health check of any service: prints its status; exit 0 only when SERVING",
       .example = "evcctl health 127.0.0.1:50053",
       .flags = {"timeout"},
       .arguments = 1,
       .run = id(Health)},
      {.name = "weather",
       .synopsis = "weather [cities | set CITY[,CC] TEMP | clear CITY[,CC] | alerts [CITY] | "
                   "readings CITY[,CC] | config [NAME=VALUE ...]]",
       .summary = "every city's temperature, alert and CPs; set/clear an operator temperature "
                  "(simulated provider), alert history, readings, thresholds (changes log in)",
       .example = absl::StrCat(kAdmin, " weather set Alicante 45"),
       .flags = AsOperator({"weather", "limit"}),
       .run = WeatherCommand},
  };
  return *commands;
}

std::string About() {
  return absl::StrCat(
      "evcctl: operate the EVCharging network from the command line.\n"
      "Reads need no login; changes log in as an operator with --user and --password_file (else "
      "the\n"
      "password is asked for).\n\n"
      "usage: evcctl [--flag=value ...] COMMAND [ARGS]\n\n",
      evc::evcctl::CommandsOverview(Commands()));
}

// `evcctl help [COMMAND]`.
int Help(const std::vector<std::string>& args, const std::string& about) {
  if (args.size() < 2) {
    std::fputs(evc::HelpText(about).c_str(), stdout);
    return 0;
  }
  const evc::evcctl::Command* command = evc::evcctl::FindCommand(Commands(), args[1]);
  if (command == nullptr)
    return Fail(absl::NotFoundError("no command '" + args[1] + "': evcctl --help lists them"));
  std::fputs(evc::evcctl::CommandDetails(*command).c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (evc::AsksForHelp(argc, argv)) {
    if (const auto* command = evc::evcctl::CommandAskedAbout(Commands(), argc, argv)) {
      std::fputs(evc::evcctl::CommandDetails(*command).c_str(), stdout);
      return 0;
    }
  }
  const std::string about = About();
  std::vector<char*> argv_fixed = NegativeNumbersAsArguments(argc, argv);
  std::vector<std::string> args =
      evc::InitProcess(static_cast<int>(argv_fixed.size()), argv_fixed.data(), "evcctl", about);
  if (args.empty()) return Usage();
  if (args[0] == "help") return Help(args, about);
  const evc::evcctl::Command* command = evc::evcctl::FindCommand(Commands(), args[0]);
  if (command == nullptr) return Usage();
  if (args.size() - 1 < command->arguments) {
    std::fprintf(stderr, "usage: evcctl %s (evcctl help %s explains it)\n",
                 command->synopsis.c_str(), command->name.c_str());
    return 2;
  }
  return command->run(args);
}
