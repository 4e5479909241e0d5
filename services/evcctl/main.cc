// evcctl: the operator's command line. Its commands (what they do, their
// flags, an example) are the table in services/evcctl/command_table.cc:
// `evcctl --help` lists them, `evcctl help COMMAND` explains one. This file only
// declares the flags and hands the parsed command line to that table.
//
// Operator commands log in first: --user and --password_file (or EVC_USER and
// EVC_PASSWORD_FILE; without a file the password is asked for).

#include <unistd.h>

#include <cstdio>
#include <optional>

#include "absl/flags/flag.h"
#include "services/common/help.h"
#include "services/common/process.h"
#include "services/evcctl/args.h"
#include "services/evcctl/command_table.h"

ABSL_FLAG(std::string, registry, "127.0.0.1:50051", "registry gRPC address");
ABSL_FLAG(std::string, auth, "127.0.0.1:50052", "auth gRPC address");
ABSL_FLAG(std::string, user, "", "operator username for commands that need one");
ABSL_FLAG(std::string, password_file, "", "file holding --user's password (else asked)");
ABSL_FLAG(std::string, central, "127.0.0.1:50053", "central gRPC address (several replicas: ipv4:HOST:PORT,HOST:PORT or a name with several records, the leader is called)");
ABSL_FLAG(std::string, weather, "127.0.0.1:50054", "weather gRPC address");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "deadline of each call (and of wait-active)");
ABSL_FLAG(std::string, address, "", "register, update, site-cap: street address");
ABSL_FLAG(std::string, city, "",
          "register, update, site-cap: city; watch: show only this city's CPs (any case)");
ABSL_FLAG(std::optional<std::string>, country, std::nullopt,
          "register (ES when not given), update: ISO country code");
ABSL_FLAG(std::optional<int64_t>, price, std::nullopt,
          "register, update: price in millieuros per kWh (350 = 0.35 EUR/kWh)");
ABSL_FLAG(std::optional<int64_t>, max_power, std::nullopt,
          "register (22000 when not given), update: maximum power in watts");
ABSL_FLAG(std::optional<double>, latitude, std::nullopt,
          "register, update: where the CP stands, WGS 84 degrees (-90..90), with --longitude");
ABSL_FLAG(std::optional<double>, longitude, std::nullopt,
          "register, update: where the CP stands, WGS 84 degrees (-180..180), with --latitude");
ABSL_FLAG(std::string, secret_file, "", "register: write the CP secret to this file (mode 600)");
ABSL_FLAG(bool, reset_if_exists, false, "register: if the CP exists, issue it new credentials");
ABSL_FLAG(bool, all, false, "stop/resume: every charging point");
ABSL_FLAG(int64_t, cap_w, 0, "site-cap: the site's power cap in watts (0 lifts it)");
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

evc::evcctl::Options OptionsFromFlags() {
  return {.registry = absl::GetFlag(FLAGS_registry),
          .auth = absl::GetFlag(FLAGS_auth),
          .central = absl::GetFlag(FLAGS_central),
          .weather = absl::GetFlag(FLAGS_weather),
          .user = absl::GetFlag(FLAGS_user),
          .password_file = absl::GetFlag(FLAGS_password_file),
          .timeout = absl::GetFlag(FLAGS_timeout),
          .address = absl::GetFlag(FLAGS_address),
          .city = absl::GetFlag(FLAGS_city),
          .secret_file = absl::GetFlag(FLAGS_secret_file),
          .country = absl::GetFlag(FLAGS_country),
          .price = absl::GetFlag(FLAGS_price),
          .max_power = absl::GetFlag(FLAGS_max_power),
          .latitude = absl::GetFlag(FLAGS_latitude),
          .longitude = absl::GetFlag(FLAGS_longitude),
          .reset_if_exists = absl::GetFlag(FLAGS_reset_if_exists),
          .all = absl::GetFlag(FLAGS_all),
          .cap_w = absl::GetFlag(FLAGS_cap_w),
          .name = absl::GetFlag(FLAGS_name),
          .email = absl::GetFlag(FLAGS_email),
          .role = absl::GetFlag(FLAGS_role),
          .new_password_file = absl::GetFlag(FLAGS_new_password_file),
          .if_missing = absl::GetFlag(FLAGS_if_missing),
          .category = absl::GetFlag(FLAGS_category),
          .actor = absl::GetFlag(FLAGS_actor),
          .driver = absl::GetFlag(FLAGS_driver),
          .cp = absl::GetFlag(FLAGS_cp),
          .state = absl::GetFlag(FLAGS_state),
          .since = absl::GetFlag(FLAGS_since),
          .grace = absl::GetFlag(FLAGS_grace),
          .limit = absl::GetFlag(FLAGS_limit),
          .count = absl::GetFlag(FLAGS_count),
          .plain = absl::GetFlag(FLAGS_plain)};
}

}  // namespace

int main(int argc, char** argv) {
  evc::evcctl::Options options;  // filled once the flags are parsed
  evc::evcctl::OperatorConnections connections(options);
  evc::evcctl::Context context{.options = options,
                               .connections = connections,
                               .terminal = isatty(STDOUT_FILENO) != 0};
  const std::vector<evc::evcctl::Command> commands = evc::evcctl::Commands(context);
  if (evc::AsksForHelp(argc, argv)) {
    if (const auto* command = evc::evcctl::CommandAskedAbout(commands, argc, argv)) {
      std::fputs(evc::evcctl::CommandDetails(*command).c_str(), stdout);
      return 0;
    }
  }
  const std::string about = evc::evcctl::About(commands);
  std::vector<char*> argv_fixed = evc::evcctl::NegativeNumbersAsArguments(argc, argv);
  const std::vector<std::string> args =
      evc::InitProcess(static_cast<int>(argv_fixed.size()), argv_fixed.data(), "evcctl", about);
  options = OptionsFromFlags();
  return evc::evcctl::RunCommandLine(commands, args, about, context);
}
