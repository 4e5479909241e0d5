// evc-driver: the driver's command line (the seeds' EV_Driver). Logs in with
// the driver's account, then requests a charge at each CP listed in a file, one after the other: prints the live
// readings and the ticket (or the rejection reason), waits 4 s, then asks for
// the next. Requests travel over Kafka (evc.charge-requests) carrying a
// single-use charge assertion from auth for that CP and request (never the
// access token: every broker client could read it); answers come back on
// evc.driver-notifications sealed with this driver's notification key, which
// only auth, central and this driver know. A request unanswered in time is
// sent again with the same request id (and a fresh assertion), which central
// answers only once.
//
//   evc-driver --user=NAME [--password_file=F] --requests=FILE [--loop]
//   evc-driver --user=NAME [--password_file=F] --cp=CP_ID [--stop_after=30s]
//
// Without --password_file the password is asked for at the terminal.

#include <cstdio>
#include <fstream>
#include <memory>
#include <map>
#include <optional>
#include <set>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "evc/auth/v1/auth.grpc.pb.h"
#include "evc/central/v1/central.grpc.pb.h"
#include "evc/events/v1/events.pb.h"
#include "services/common/backoff.h"
#include "services/common/client_session.h"
#include "services/common/crypto.h"
#include "services/common/grpc_server.h"
#include "services/common/grpc_util.h"
#include "services/common/kafka.h"
#include "services/common/message_auth.h"
#include "services/common/names.h"
#include "services/common/process.h"
#include "services/common/proto_time.h"
#include "services/common/service_main.h"
#include "services/common/validation.h"

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
ABSL_FLAG(std::string, central, "127.0.0.1:50053", "central gRPC address (used to stop a supply)");

namespace {

// This driver's notifications, from now on: the sealed ones addressed to it,
// opened with its notification keys (from auth, by key id).
class Inbox {
 public:
  static absl::StatusOr<std::unique_ptr<Inbox>> Open(const std::string& driver_id,
                                                     evc::auth::v1::AuthService::Stub& auth) {
    auto tail = evc::TopicTail::Open(evc::KafkaBrokers(), evc::topics::kDriverNotifications,
                                     evc::StartupTimeout());
    if (!tail.ok()) return tail.status();
    return std::unique_ptr<Inbox>(new Inbox(driver_id, auth, std::move(*tail)));
  }

  void AddKey(const evc::auth::v1::NotificationKey& k) { keys_[k.key_id()] = {k.key_id(), k.key()}; }

  // The next notification for this driver, or nullopt after `timeout`.
  std::optional<evc::events::v1::DriverNotification> Next(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline && !evc::ShutdownRequested().HasBeenNotified()) {
      auto m = tail_->Next(std::min(deadline - absl::Now(), absl::Milliseconds(100)));
      evc::events::v1::SealedNotification sealed;
      if (!m || m->key != driver_id_ || !sealed.ParseFromString(m->payload)) continue;
      const evc::NotificationKey* key = KeyFor(sealed.key_id());
      if (key == nullptr) continue;
      auto n = evc::OpenNotification(*key, driver_id_, sealed);
      if (n.ok()) return *std::move(n);
      std::fprintf(stderr, "ignored a notification that does not open: %s\n", n.status().ToString().c_str());
    }
    return std::nullopt;
  }

 private:
  Inbox(std::string driver_id, evc::auth::v1::AuthService::Stub& auth, std::unique_ptr<evc::TopicTail> tail)
      : driver_id_(std::move(driver_id)), auth_(auth), tail_(std::move(tail)) {}

  // A key id not seen yet (auth rotated its signing key): ask auth once.
  const evc::NotificationKey* KeyFor(const std::string& key_id) {
    auto it = keys_.find(key_id);
    if (it == keys_.end() && asked_.insert(key_id).second) {
      evc::auth::v1::GetNotificationKeyRequest r;
      r.set_driver_id(driver_id_);
      auto k = evc::CallUnary(&evc::auth::v1::AuthService::Stub::GetNotificationKey, auth_, r, absl::Seconds(5));
      if (k.ok()) AddKey(*k);
      it = keys_.find(key_id);
    }
    return it == keys_.end() ? nullptr : &it->second;
  }

  std::string driver_id_;
  evc::auth::v1::AuthService::Stub& auth_;
  std::unique_ptr<evc::TopicTail> tail_;
  std::map<std::string, evc::NotificationKey> keys_;
  std::set<std::string> asked_;
};

std::string Clock() { return absl::FormatTime("%H:%M:%S", absl::Now(), absl::LocalTimeZone()); }

void PrintTicket(const evc::common::v1::Ticket& t) {
  std::printf(
      "%s  TICKET  supply %s at %s\n"
      "          start %s  end %s\n"
      "          energy %.3f kWh  x %.3f EUR/kWh  =  %.2f EUR   (%s)\n",
      Clock().c_str(), t.supply_id().c_str(), t.cp_id().c_str(),
      absl::FormatTime("%H:%M:%S", evc::FromProto(t.started_at()), absl::LocalTimeZone()).c_str(),
      absl::FormatTime("%H:%M:%S", evc::FromProto(t.ended_at()), absl::LocalTimeZone()).c_str(),
      t.energy_wh() / 1000.0, t.price_millieuros_per_kwh() / 1000.0, t.amount_millieuros() / 1000.0,
      evc::EndReasonText(t.end_reason()).c_str());
}

// Asks central to stop `supply_id` on the driver's behalf.
void StopSupply(evc::ClientSession& session, const std::string& supply_id) {
  auto stub = evc::central::v1::CentralService::NewStub(
      evc::MakeChannel(absl::GetFlag(FLAGS_central), session.Bearer()));
  evc::central::v1::StopChargeRequest r;
  r.set_supply_id(supply_id);
  auto s = evc::CallUnary(&evc::central::v1::CentralService::Stub::StopCharge, *stub, r, absl::Seconds(10));
  std::printf("%s  stop requested: %s\n", Clock().c_str(), s.ok() ? "ok" : s.status().ToString().c_str());
}

// One charge from request to ticket. Returns false on a hard error.
bool ChargeAt(evc::KafkaProducer& producer, Inbox& inbox, evc::ClientSession& session,
              evc::auth::v1::AuthService::Stub& auth, const std::string& cp_id) {
  evc::events::v1::ChargeRequest request;
  request.set_request_id(evc::crypto::RandomId());
  request.set_cp_id(cp_id);
  request.set_driver_id(session.username());
  std::printf("%s  requesting a charge at %s\n", Clock().c_str(), cp_id.c_str());
  std::fflush(stdout);
  std::string supply_id;
  absl::Time accepted_at;
  bool stop_sent = false;
  const auto& stopping = evc::ShutdownRequested();
  for (int attempt = 0; attempt < 4 && supply_id.empty() && !stopping.HasBeenNotified(); ++attempt) {
    *request.mutable_requested_at() = evc::ToProto(absl::Now());
    // A fresh single-use assertion per attempt (central accepts each once).
    evc::auth::v1::IssueChargeAssertionRequest ask;
    ask.set_cp_id(cp_id);
    ask.set_request_id(request.request_id());
    auto assertion = evc::CallUnary(&evc::auth::v1::AuthService::Stub::IssueChargeAssertion, auth, ask,
                                    absl::Seconds(10));
    if (!assertion.ok()) {
      std::printf("%s  auth gave no charge assertion: %s\n", Clock().c_str(), assertion.status().ToString().c_str());
      return false;
    }
    inbox.AddKey(assertion->notification_key());
    request.set_assertion(assertion->assertion());
    absl::Status s = producer.Produce(evc::topics::kChargeRequests, cp_id, request);
    if (!s.ok()) {
      std::printf("%s  cannot send the request: %s\n", Clock().c_str(), s.ToString().c_str());
      return false;
    }
    absl::Time deadline = absl::Now() + absl::GetFlag(FLAGS_answer_timeout);
    while (supply_id.empty() && absl::Now() < deadline && !stopping.HasBeenNotified()) {
      auto n = inbox.Next(deadline - absl::Now());
      if (!n || n->request_id() != request.request_id()) continue;
      if (n->has_rejected()) {
        std::printf("%s  REJECTED at %s: %s\n", Clock().c_str(), cp_id.c_str(), n->rejected().detail().c_str());
        std::fflush(stdout);
        return true;
      }
      if (n->has_accepted()) {
        supply_id = n->accepted().supply_id();
        accepted_at = absl::Now();
        std::printf("%s  ACCEPTED: supply %s at %s (%.3f EUR/kWh); waiting for the plug\n",
                    Clock().c_str(), supply_id.c_str(), cp_id.c_str(),
                    n->accepted().price_millieuros_per_kwh() / 1000.0);
      }
    }
    if (supply_id.empty()) std::printf("%s  no answer from central yet; asking again\n", Clock().c_str());
  }
  if (stopping.HasBeenNotified()) return true;
  if (supply_id.empty()) {
    std::printf("%s  central did not answer; giving up on %s\n", Clock().c_str(), cp_id.c_str());
    return true;
  }
  std::fflush(stdout);
  const absl::Duration stop_after = absl::GetFlag(FLAGS_stop_after);
  absl::Time last_news = absl::Now();
  while (!evc::ShutdownRequested().HasBeenNotified()) {
    if (!stop_sent && stop_after > absl::ZeroDuration() && absl::Now() - accepted_at >= stop_after) {
      StopSupply(session, supply_id);
      stop_sent = true;
    }
    auto n = inbox.Next(absl::Milliseconds(500));
    if (!n) {
      if (absl::Now() - last_news > absl::Minutes(5)) {
        std::printf("%s  no news of supply %s for 5 minutes; giving up\n", Clock().c_str(), supply_id.c_str());
        return true;
      }
      continue;
    }
    last_news = absl::Now();
    if (n->has_reading() && n->reading().supply_id() == supply_id) {
      std::printf("%s  %s  %8.3f kWh  %7.2f EUR  %5.1f kW\n", Clock().c_str(), cp_id.c_str(),
                  n->reading().energy_wh() / 1000.0, n->reading().amount_millieuros() / 1000.0,
                  n->reading().power_w() / 1000.0);
    } else if (n->has_ticket() && n->ticket().supply_id() == supply_id) {
      PrintTicket(n->ticket());
      std::fflush(stdout);
      return true;
    }
    std::fflush(stdout);
  }
  return true;
}

std::vector<std::string> ReadRequests(const std::string& path) {
  std::vector<std::string> ids;
  std::ifstream in(path);
  if (!in) evc::ExitIfError("--requests", absl::NotFoundError("cannot read '" + path + "'"));
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string id(absl::StripAsciiWhitespace(line));
    if (id.empty() || id[0] == '#') continue;
    if (absl::Status s = evc::ValidateCpId(id); !s.ok()) {
      std::fprintf(stderr, "%s:%d: skipped: %s\n", path.c_str(), number, std::string(s.message()).c_str());
      continue;
    }
    ids.push_back(id);
  }
  return ids;
}

}  // namespace

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
    "examples:\n"
    "  evc-driver --kafka=\"$(cat .evc/kafka.bootstrap)\" --user=maria --cp=BCN-001\n"
    "  evc-driver --user=driver-ana --password_file=.evc/accounts/driver-ana.password \\\n"
    "    --requests=requests.txt --loop   # one CP id per line\n";

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "driver", kAbout);
  const std::string user = absl::GetFlag(FLAGS_user);
  evc::ExitIfError("--user", evc::ValidateDriverId(user));
  std::vector<std::string> cps;
  if (!absl::GetFlag(FLAGS_cp).empty()) {
    evc::ExitIfError("--cp", evc::ValidateCpId(absl::GetFlag(FLAGS_cp)));
    cps.push_back(absl::GetFlag(FLAGS_cp));
  } else if (!absl::GetFlag(FLAGS_requests).empty()) {
    cps = ReadRequests(absl::GetFlag(FLAGS_requests));
  } else {
    evc::ExitIfError("usage", absl::InvalidArgumentError("give --cp=ID or --requests=FILE"));
  }
  if (cps.empty()) evc::ExitIfError("--requests", absl::InvalidArgumentError("no valid CP ids in the file"));

  auto password = evc::ReadPassword(absl::GetFlag(FLAGS_password_file), "password for " + user + ": ");
  evc::ExitIfError("--password_file", password.status());
  auto session = evc::ClientSession::Login(absl::GetFlag(FLAGS_auth), user, *password);
  evc::ExitIfError("login failed", session.status());
  std::printf("%s  logged in as %s\n", Clock().c_str(), (*session)->username().c_str());
  const std::string driver_id = (*session)->username();

  evc::ServiceDeps deps = evc::ConnectDeps("driver-" + driver_id, {.kafka_producer = true});
  auto auth = evc::auth::v1::AuthService::NewStub(
      evc::MakeChannel(absl::GetFlag(FLAGS_auth), (*session)->Bearer()));
  auto inbox = Inbox::Open(driver_id, *auth);
  evc::ExitIfError("cannot read driver notifications (--kafka)", inbox.status());
  do {
    for (size_t i = 0; i < cps.size() && !evc::ShutdownRequested().HasBeenNotified(); ++i) {
      if (!ChargeAt(*deps.producer, **inbox, **session, *auth, cps[i])) return 1;
      const bool last = i + 1 == cps.size() && !absl::GetFlag(FLAGS_loop);
      if (!last) evc::ShutdownRequested().WaitForNotificationWithTimeout(absl::GetFlag(FLAGS_wait_between));
    }
  } while (absl::GetFlag(FLAGS_loop) && !evc::ShutdownRequested().HasBeenNotified());
  (void)(*session)->Logout();
  return 0;
}
