// evc-driver: the driver's command line (the seeds' EV_Driver); usage in kAbout.
// Requests travel over Kafka (evc.charge-requests) carrying a single-use charge
// assertion from auth for that CP and request (never the access token: every
// broker client could read it); answers come back on evc.driver-notifications
// sealed with this driver's notification key, which only auth, central and this
// driver know. The logic is in requests_file.h (which CPs), charger.h (requests
// to tickets, resent unanswered with the same id) and inbox.h (sealed answers).

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "evc/auth/v1/auth.grpc.pb.h"
#include "evc/central/v1/central.grpc.pb.h"
#include "services/common/client_session.h"
#include "services/common/publisher.h"
#include "services/common/service_main.h"
#include "services/common/validation.h"
#include "services/driver/charger.h"
#include "services/driver/grpc_ports.h"
#include "services/driver/inbox.h"
#include "services/driver/requests_file.h"

ABSL_FLAG(std::string, user, "", "the driver's username (required)");
ABSL_FLAG(std::string, password_file, "", "file holding the password (else asked at the terminal)");
ABSL_FLAG(std::string, auth, "127.0.0.1:50052", "auth gRPC address (login, charge assertions)");
ABSL_FLAG(std::string, requests, "", "file with one CP id per line (# comments allowed)");
ABSL_FLAG(std::string, cp, "", "request a single charge at this CP");
ABSL_FLAG(bool, loop, false, "replay the requests file forever");
ABSL_FLAG(absl::Duration, wait_between, absl::Seconds(4), "pause between two requests");
ABSL_FLAG(absl::Duration, answer_timeout, absl::Seconds(10),
          "resend a request (same id) if central has not answered by then");
ABSL_FLAG(absl::Duration, stop_after, absl::ZeroDuration(),
          "ask central to stop the supply this long after it was accepted (0: wait for unplug)");
ABSL_FLAG(std::string, central, "127.0.0.1:50053", "central gRPC address (used to stop a supply; several replicas: ipv4:HOST:PORT,HOST:PORT or a name with several records, the leader is called)");

ABSL_FLAG(std::string, queue_city, "",
          "join the queue of this city's busy charging points (with --queue_address: of one "
          "site), wait for an offer and charge there");
ABSL_FLAG(std::string, queue_address, "", "with --queue_city: queue for the CPs at this address only");
ABSL_FLAG(int64_t, queue_energy_wh, 0,
          "with --queue_city: the energy you mean to charge (0: a typical session), for the "
          "estimates of those behind you");
ABSL_FLAG(absl::Duration, queue_refresh, absl::Seconds(30),
          "while queued, print a fresh estimate this often");
ABSL_FLAG(bool, queue_status, false, "print your place in a queue and its estimated wait, and exit");
ABSL_FLAG(bool, leave_queue, false, "leave the queue you are in, and exit");

// What --help says before the flags.
constexpr char kAbout[] =
    "evc-driver: request charges as a driver, from the command line.\n"
    "Logs in with the driver's account, then asks for a charge at each CP in turn: prints the\n"
    "live readings and the ticket (or why it was rejected), waits --wait_between, then asks\n"
    "for the next. Without --password_file the password is asked for at the terminal.\n"
    "\n"
    "usage:\n"
    "  evc-driver --user=NAME [--password_file=F] --cp=CP_ID [--stop_after=30s]\n"
    "  evc-driver --user=NAME [--password_file=F] --requests=FILE [--loop]\n"
    "  evc-driver --user=NAME [--password_file=F] --queue_city=CITY [--queue_address=A]\n"
    "  evc-driver --user=NAME [--password_file=F] --queue_status | --leave_queue\n"
    "When every CP of a city (or a site: --queue_address) is busy, --queue_city joins its\n"
    "queue, prints the position and estimated wait, and charges at the CP offered (held for\n"
    "--queue_offer_timeout at central); Ctrl-C while waiting leaves the queue.\n"
    "examples:\n"
    "  evc-driver --kafka=\"$(cat .evc/kafka.bootstrap)\" --user=maria --cp=BCN-001\n"
    "  evc-driver --user=driver-ana --password_file=.evc/accounts/driver-ana.password \\\n"
    "    --requests=requests.txt --loop   # one CP id per line\n";

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "driver", kAbout);
  const std::string user = absl::GetFlag(FLAGS_user);
  evc::ExitIfError("--user", evc::ValidateDriverId(user));
  const bool queue_only = absl::GetFlag(FLAGS_queue_status) || absl::GetFlag(FLAGS_leave_queue);
  const bool queue_mode = !absl::GetFlag(FLAGS_queue_city).empty();
  evc::driver::CpChoice cps;
  if (!queue_only && !queue_mode) {
    cps = evc::driver::ChooseCps(absl::GetFlag(FLAGS_cp), absl::GetFlag(FLAGS_requests));
    evc::ExitIfError(cps.bad_flag, cps.error);
  }

  auto password = evc::ReadPassword(absl::GetFlag(FLAGS_password_file), "password for " + user + ": ");
  evc::ExitIfError("--password_file", password.status());
  auto session = evc::ClientSession::Login(absl::GetFlag(FLAGS_auth), user, *password);
  evc::ExitIfError("login failed", session.status());
  const std::string driver_id = (*session)->username();
  std::printf("%s  logged in as %s\n",
              absl::FormatTime("%H:%M:%S", absl::Now(), absl::LocalTimeZone()).c_str(), driver_id.c_str());

  evc::ServiceDeps deps = evc::ConnectDeps("driver-" + driver_id, {.kafka_producer = true});
  auto auth_stub = evc::auth::v1::AuthService::NewStub(
      evc::MakeChannel(absl::GetFlag(FLAGS_auth), (*session)->Bearer()));
  auto central_stub = evc::central::v1::CentralService::NewStub(
      evc::MakeCentralChannel(absl::GetFlag(FLAGS_central), (*session)->Bearer()));
  evc::driver::GrpcQueueDesk desk(*central_stub);
  if (queue_only) {
    auto answer = absl::GetFlag(FLAGS_leave_queue) ? desk.Leave() : desk.Position();
    evc::ExitIfError("queue", answer.status());
    std::printf("%s\n", evc::driver::DescribeQueueStatus(*answer).c_str());
    return 0;
  }
  auto tail = evc::TopicTail::Open(evc::KafkaBrokers(), evc::topics::kDriverNotifications,
                                   evc::StartupTimeout());
  evc::ExitIfError("cannot read driver notifications (--kafka)", tail.status());
  evc::driver::TopicTailFeed feed(*std::move(tail));
  evc::driver::GrpcDriverAuth auth(*auth_stub);
  evc::driver::GrpcSupplyStopper central(*central_stub);
  evc::driver::Inbox inbox(driver_id, auth, feed, evc::ShutdownRequested());
  evc::KafkaPublisher requests(*deps.producer);
  evc::driver::Charger charger(driver_id, requests, inbox, auth, central, evc::ShutdownRequested(),
                               {.answer_timeout = absl::GetFlag(FLAGS_answer_timeout),
                                .stop_after = absl::GetFlag(FLAGS_stop_after)});
  if (queue_mode) {
    evc::driver::Queuer queuer(
        desk, [&inbox](absl::Duration wait) { return inbox.Next(wait); }, evc::ShutdownRequested(),
        {.refresh = absl::GetFlag(FLAGS_queue_refresh)});
    evc::central::v1::JoinQueueRequest join;
    join.set_city(absl::GetFlag(FLAGS_queue_city));
    join.set_address(absl::GetFlag(FLAGS_queue_address));
    join.set_requested_energy_wh(absl::GetFlag(FLAGS_queue_energy_wh));
    absl::StatusOr<std::string> offered = queuer.WaitForOffer(join);
    evc::ExitIfError("queue", offered.status());
    cps.cp_ids = {*offered};
  }
  if (!charger.ChargeAtEach(cps.cp_ids, absl::GetFlag(FLAGS_loop), absl::GetFlag(FLAGS_wait_between))) return 1;
  (void)(*session)->Logout();
  return 0;
}
