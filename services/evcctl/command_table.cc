#include "services/evcctl/command_table.h"

#include "absl/strings/str_cat.h"
#include "services/common/help.h"
#include "services/evcctl/account_commands.h"
#include "services/evcctl/config_commands.h"
#include "services/evcctl/cp_commands.h"
#include "services/evcctl/site_commands.h"
#include "services/evcctl/watch.h"
#include "services/evcctl/weather_commands.h"

namespace evc::evcctl {
namespace {

// The flags of every command that logs in as an operator, after its own.
std::vector<std::string> AsOperator(std::vector<std::string> flags) {
  flags.insert(flags.end(), {"user", "password_file", "auth", "timeout"});
  return flags;
}

// The flags that describe a CP: register sets them all, update those given.
std::vector<std::string> WithCpFlags(std::vector<std::string> flags) {
  flags.insert(flags.begin(), {"registry", "address", "city", "country", "price", "max_power",
                               "latitude", "longitude"});
  return AsOperator(std::move(flags));
}

constexpr char kAdmin[] = "evcctl --user=admin --password_file=.evc/accounts/admin.password";

using Run = std::function<int(const std::vector<std::string>& args)>;

// A command that takes one positional argument (a CP id, a user, an address).
Run WithArgument(Context& c, int (*run)(Context&, const std::string&)) {
  return [&c, run](const std::vector<std::string>& args) { return run(c, args[1]); };
}
Run WithoutArguments(Context& c, int (*run)(Context&)) {
  return [&c, run](const std::vector<std::string>&) { return run(c); };
}
Run StopOrResumeRun(Context& c, const std::string& verb) {
  return [&c, verb](const std::vector<std::string>& args) { return StopOrResume(c, verb, args); };
}

// `evcctl help [COMMAND]`.
int Help(const std::vector<Command>& commands, const std::vector<std::string>& args,
         const std::string& about, Context& c) {
  if (args.size() < 2) {
    std::fputs(HelpText(about).c_str(), c.out);
    return 0;
  }
  const Command* command = FindCommand(commands, args[1]);
  if (command == nullptr) {
    return Fail(c, absl::NotFoundError("no command '" + args[1] + "': evcctl --help lists them"));
  }
  std::fputs(CommandDetails(*command).c_str(), c.out);
  return 0;
}

int Usage(Context& c) {
  std::fprintf(c.err,
               "usage: evcctl [--flag=value ...] COMMAND [ARGS]: evcctl --help lists the commands, "
               "evcctl help COMMAND explains one\n");
  return 2;
}

}  // namespace

std::vector<Command> Commands(Context& c) {
  return {
      {.name = "register",
       .synopsis = "register ID --address=.. --city=.. [--country=ES] --price=350 "
                   "[--max_power=22000] [--latitude=.. --longitude=..]",
       .summary = "enrol a charging point; its secret is shown once (or written to --secret_file)",
       .example = absl::StrCat(kAdmin,
                               " register MAD-002 --address=\"Gran Via 1\" --city=Madrid "
                               "--price=350 --latitude=40.4203 --longitude=-3.7058"),
       .flags = WithCpFlags({"secret_file", "reset_if_exists"}),
       .arguments = 1,
       .run = WithArgument(c, Register)},
      {.name = "update",
       .synopsis = "update ID [--address=..] [--city=..] [--country=..] [--price=..] "
                   "[--max_power=..] [--latitude=.. --longitude=..]",
       .summary = "change an enrolled charging point: only the flags given (negative degrees "
                  "with =, e.g. --longitude=-3.7)",
       .example = absl::StrCat(kAdmin, " update MAD-002 --latitude=40.4203 --longitude=-3.7058"),
       .flags = WithCpFlags({}),
       .arguments = 1,
       .run = WithArgument(c, Update)},
      {.name = "unregister",
       .synopsis = "unregister ID",
       .summary = "remove a charging point: its credentials and keys stop working at once",
       .example = absl::StrCat(kAdmin, " unregister MAD-002"),
       .flags = AsOperator({"registry"}),
       .arguments = 1,
       .run = WithArgument(c, Unregister)},
      {.name = "list",
       .synopsis = "list",
       .summary = "enrolled charging points: city, address, price, max power (registry; no login)",
       .example = "evcctl list",
       .flags = {"registry", "timeout"},
       .run = WithoutArguments(c, List)},
      {.name = "status",
       .synopsis = "status",
       .summary = "live state of every charging point, with its supply, fault or holds (no login)",
       .example = "evcctl status",
       .flags = {"central", "timeout"},
       .run = WithoutArguments(c, Status)},
      {.name = "stop",
       .synopsis = "stop ID | --all",
       .summary = "operator stop: a running supply ends with a ticket, the CP goes OUT_OF_SERVICE",
       .example = absl::StrCat(kAdmin, " stop --all"),
       .flags = AsOperator({"central", "all"}),
       .run = StopOrResumeRun(c, "stop")},
      {.name = "site-cap",
       .synopsis = "site-cap --address=.. --city=.. --cap_w=W",
       .summary = "power cap of a site (the CPs sharing an address and city), shared by its "
                  "supplies; --cap_w=0 lifts it",
       .example = absl::StrCat(kAdmin,
                               " site-cap --address=\"Gran Via 1\" --city=Madrid --cap_w=30000"),
       .flags = AsOperator({"central", "address", "city", "cap_w"}),
       .run = WithoutArguments(c, SiteCap)},
      {.name = "site-caps",
       .synopsis = "site-caps",
       .summary = "capped sites: cap, power given to their running supplies now, CPs",
       .example = absl::StrCat(kAdmin, " site-caps"),
       .flags = AsOperator({"central"}),
       .run = WithoutArguments(c, SiteCaps)},
      {.name = "resume",
       .synopsis = "resume ID | --all",
       .summary = "lift the operator stop (a weather hold, if any, still holds)",
       .example = absl::StrCat(kAdmin, " resume BCN-001"),
       .flags = AsOperator({"central", "all"}),
       .run = StopOrResumeRun(c, "resume")},
      {.name = "signup",
       .synopsis = "signup USER --name=.. --email=.. [--role=operator] [--new_password_file=F] "
                   "[--if_missing]",
       .summary =
           "create a driver account (an operator account with --role=operator, as an operator)",
       .example = "evcctl signup maria --name=\"Maria\" --email=maria@example.com",
       .flags =
           AsOperator({"registry", "name", "email", "role", "new_password_file", "if_missing"}),
       .arguments = 1,
       .run = WithArgument(c, SignUp)},
      {.name = "tickets",
       .synopsis = "tickets [--driver=ID] [--cp=ID] [--limit=N]",
       .summary = "tickets of closed supplies, newest first",
       .example = absl::StrCat(kAdmin, " tickets --cp=BCN-001 --limit=5"),
       .flags = AsOperator({"central", "driver", "cp", "limit"}),
       .run = WithoutArguments(c, Tickets)},
      {.name = "queues",
       .synopsis = "queues",
       .summary = "drivers queued at busy places: position, estimated wait, CP offered",
       .example = absl::StrCat(kAdmin, " queues"),
       .flags = AsOperator({"central"}),
       .run = WithoutArguments(c, Queues)},
      {.name = "audit",
       .synopsis = "audit [--category=C] [--actor=NAME] [--cp=ID] [--since=1h] [--limit=N]",
       .summary = "the audit trail, oldest first: logins, charges, alerts, operator commands",
       .example = absl::StrCat(kAdmin, " audit --category=SECURITY --since=1h"),
       .flags = AsOperator({"central", "category", "actor", "cp", "since", "limit"}),
       .run = WithoutArguments(c, Audit)},
      {.name = "revoke-cp",
       .synopsis = "revoke-cp ID",
       .summary = "kill a compromised charging point's keys and tokens at once; its link is cut",
       .example = absl::StrCat(kAdmin, " revoke-cp ALC-002"),
       .flags = AsOperator({}),
       .arguments = 1,
       .run = WithArgument(c, RevokeCp)},
      {.name = "rotate-key",
       .synopsis = "rotate-key ID [--grace=60s]",
       .summary =
           "a new AES key for a charging point; the old one still opens messages for --grace",
       .example = absl::StrCat(kAdmin, " rotate-key ALC-001 --grace=30s"),
       .flags = AsOperator({"grace"}),
       .arguments = 1,
       .run = WithArgument(c, RotateKey)},
      {.name = "rotate-signing-key",
       .synopsis = "rotate-signing-key",
       .summary = "a new key for signing access tokens (tokens signed before stay valid until they "
                  "expire)",
       .example = absl::StrCat(kAdmin, " rotate-signing-key"),
       .flags = AsOperator({}),
       .run = WithoutArguments(c, RotateSigningKey)},
      {.name = "watch",
       .synopsis = "watch [--state=S] [--city=C] [--plain]",
       .summary =
           "live panel: counts by state on top, CPs paged to fit the terminal (keys: n/p page, "
           "s state, c city, q quit); redraws on resize",
       .example = "evcctl watch --state=FAULTED --city=Madrid",
       .flags = {"central", "state", "city", "plain"},
       .run = WithoutArguments(c, Watch)},
      {.name = "wait-active",
       .synopsis = "wait-active --count=N [--timeout=D]",
       .summary =
           "wait until N charging points are ACTIVE or SUPPLYING; exit 1 after --timeout (scripts)",
       .example = "evcctl wait-active --count=5 --timeout=60s",
       .flags = {"central", "count", "timeout"},
       .run = WithoutArguments(c, WaitActive)},
      {.name = "health",
       .synopsis = "health ADDR",
       .summary = "gRPC health check of any service: prints its status; exit 0 only when SERVING",
       .example = "evcctl health 127.0.0.1:50053",
       .flags = {"timeout"},
       .arguments = 1,
       .run = WithArgument(c, Health)},
      {.name = "config",
       .synopsis = "config [NAME=VALUE ...]",
       .summary = "central's live settings (timeouts, health interval, queue): show them, or "
                  "change them without a restart (e.g. link_timeout=3s); logs in",
       .example = absl::StrCat(kAdmin, " config link_timeout=3s health_interval=500ms"),
       .flags = AsOperator({"central"}),
       .run = [&c](const std::vector<std::string>& args) { return CentralConfigCommand(c, args); }},
      {.name = "weather",
       .synopsis = "weather [cities | set CITY[,CC] TEMP | clear CITY[,CC] | alerts [CITY] | "
                   "readings CITY[,CC] | config [NAME=VALUE ...]]",
       .summary = "every city's temperature, alert and CPs; set/clear an operator temperature "
                  "(simulated provider), alert history, readings, thresholds (changes log in)",
       .example = absl::StrCat(kAdmin, " weather set Alicante 45"),
       .flags = AsOperator({"weather", "limit"}),
       .run = [&c](const std::vector<std::string>& args) { return WeatherCommand(c, args); }},
  };
}

std::string About(const std::vector<Command>& commands) {
  return absl::StrCat(
      "evcctl: operate the EVCharging network from the command line.\n"
      "Reads need no login; changes log in as an operator with --user and --password_file (else "
      "the\n"
      "password is asked for).\n\n"
      "usage: evcctl [--flag=value ...] COMMAND [ARGS]\n\n",
      CommandsOverview(commands));
}

int RunCommandLine(const std::vector<Command>& commands, const std::vector<std::string>& args,
                   const std::string& about, Context& c) {
  if (args.empty()) return Usage(c);
  if (args[0] == "help") return Help(commands, args, about, c);
  const Command* command = FindCommand(commands, args[0]);
  if (command == nullptr) return Usage(c);
  if (args.size() - 1 < command->arguments) {
    std::fprintf(c.err, "usage: evcctl %s (evcctl help %s explains it)\n",
                 command->synopsis.c_str(), command->name.c_str());
    return 2;
  }
  return command->run(args);
}

}  // namespace evc::evcctl
