#include "services/driver/charger.h"

#include <cstdarg>

#include "absl/time/clock.h"
#include "evc/events/v1/events.pb.h"
#include "services/common/crypto.h"
#include "services/common/kafka.h"
#include "services/common/names.h"
#include "services/common/proto_time.h"

namespace evc::driver {
namespace {

// A supply nothing was heard of for this long is given up on.
constexpr absl::Duration kNewsTimeout = absl::Minutes(5);

std::string LocalTime(absl::Time t) {
  return absl::FormatTime("%H:%M:%S", t, absl::LocalTimeZone());
}

}  // namespace

void Charger::Say(const char* format, ...) {
  std::fprintf(out_, "%s  ", LocalTime(absl::Now()).c_str());
  va_list args;
  va_start(args, format);
  std::vfprintf(out_, format, args);
  va_end(args);
  std::fflush(out_);
}

bool Charger::ChargeAtEach(const std::vector<std::string>& cp_ids, bool loop,
                           absl::Duration wait_between) {
  do {
    for (size_t i = 0; i < cp_ids.size() && !stopping_.HasBeenNotified(); ++i) {
      if (!ChargeAt(cp_ids[i])) return false;
      const bool last = i + 1 == cp_ids.size() && !loop;
      if (!last) stopping_.WaitForNotificationWithTimeout(wait_between);
    }
  } while (loop && !stopping_.HasBeenNotified());
  return true;
}

bool Charger::ChargeAt(const std::string& cp_id) {
  Say("requesting a charge at %s\n", cp_id.c_str());
  bool failed = false;
  std::optional<Accepted> accepted = Request(cp_id, failed);
  if (accepted) Follow(cp_id, *accepted);
  return !failed;
}

std::optional<Charger::Accepted> Charger::Request(const std::string& cp_id, bool& failed) {
  events::v1::ChargeRequest request;
  request.set_request_id(crypto::RandomId());
  request.set_cp_id(cp_id);
  request.set_driver_id(driver_id_);
  for (int attempt = 0; attempt < options_.attempts && !stopping_.HasBeenNotified(); ++attempt) {
    *request.mutable_requested_at() = ToProto(absl::Now());
    // A fresh single-use assertion per attempt (central accepts each once).
    auto assertion = auth_.IssueChargeAssertion(cp_id, request.request_id());
    if (!assertion.ok()) {
      Say("auth gave no charge assertion: %s\n", assertion.status().ToString().c_str());
      failed = true;
      return std::nullopt;
    }
    inbox_.AddKey(assertion->notification_key());
    request.set_assertion(assertion->assertion());
    if (absl::Status s = requests_.Publish(topics::kChargeRequests, cp_id, request); !s.ok()) {
      Say("cannot send the request: %s\n", s.ToString().c_str());
      failed = true;
      return std::nullopt;
    }
    const absl::Time deadline = absl::Now() + options_.answer_timeout;
    while (absl::Now() < deadline && !stopping_.HasBeenNotified()) {
      auto n = inbox_.Next(deadline - absl::Now());
      if (!n || n->request_id() != request.request_id()) continue;
      if (n->has_rejected()) {
        Say("REJECTED at %s: %s\n", cp_id.c_str(), n->rejected().detail().c_str());
        return std::nullopt;
      }
      if (n->has_accepted()) {
        Say("ACCEPTED: supply %s at %s (%.3f EUR/kWh); waiting for the plug\n",
            n->accepted().supply_id().c_str(), cp_id.c_str(),
            n->accepted().price_millieuros_per_kwh() / 1000.0);
        return Accepted{n->accepted().supply_id(), absl::Now()};
      }
    }
    Say("no answer from central yet; asking again\n");
  }
  if (!stopping_.HasBeenNotified()) Say("central did not answer; giving up on %s\n", cp_id.c_str());
  return std::nullopt;
}

void Charger::Follow(const std::string& cp_id, const Accepted& accepted) {
  const std::string& supply_id = accepted.supply_id;
  bool stop_sent = false;
  absl::Time last_news = absl::Now();
  while (!stopping_.HasBeenNotified()) {
    if (!stop_sent && options_.stop_after > absl::ZeroDuration() &&
        absl::Now() - accepted.at >= options_.stop_after) {
      absl::Status s = central_.StopCharge(supply_id);
      Say("stop requested: %s\n", s.ok() ? "ok" : s.ToString().c_str());
      stop_sent = true;
    }
    auto n = inbox_.Next(absl::Milliseconds(500));
    if (!n) {
      if (absl::Now() - last_news > kNewsTimeout) {
        Say("no news of supply %s for 5 minutes; giving up\n", supply_id.c_str());
        return;
      }
      continue;
    }
    last_news = absl::Now();
    if (n->has_reading() && n->reading().supply_id() == supply_id) {
      Say("%s  %8.3f kWh  %7.2f EUR  %5.1f kW\n", cp_id.c_str(), n->reading().energy_wh() / 1000.0,
          n->reading().amount_millieuros() / 1000.0, n->reading().power_w() / 1000.0);
    } else if (n->has_ticket() && n->ticket().supply_id() == supply_id) {
      PrintTicket(n->ticket());
      return;
    }
  }
}

void Charger::PrintTicket(const common::v1::Ticket& t) {
  Say("TICKET  supply %s at %s\n"
      "          start %s  end %s\n"
      "          energy %.3f kWh  x %.3f EUR/kWh  =  %.2f EUR   (%s)\n",
      t.supply_id().c_str(), t.cp_id().c_str(), LocalTime(FromProto(t.started_at())).c_str(),
      LocalTime(FromProto(t.ended_at())).c_str(), t.energy_wh() / 1000.0,
      t.price_millieuros_per_kwh() / 1000.0, t.amount_millieuros() / 1000.0,
      EndReasonText(t.end_reason()).c_str());
}

}  // namespace evc::driver
