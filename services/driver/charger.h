#pragma once
// The driver's charges, one after the other, printed as they go: each request
// travels over Kafka with a fresh single-use assertion from auth, is sent again
// with the same request id while central does not answer, and is followed
// through its readings to the ticket (or the rejection).

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "evc/common/v1/types.pb.h"
#include "services/common/publisher.h"
#include "services/driver/driver_ports.h"
#include "services/driver/inbox.h"

namespace evc::driver {

struct ChargeOptions {
  // Resend a request (same id) if central has not answered by then.
  absl::Duration answer_timeout = absl::Seconds(10);
  int attempts = 4;
  // Ask central to stop the supply this long after it was accepted (0: wait for unplug).
  absl::Duration stop_after = absl::ZeroDuration();
};

class Charger {
 public:
  Charger(std::string driver_id, Publisher& requests, Inbox& inbox, DriverAuth& auth,
          SupplyStopper& central, const absl::Notification& stopping, ChargeOptions options,
          std::FILE* out = stdout)
      : driver_id_(std::move(driver_id)),
        requests_(requests),
        inbox_(inbox),
        auth_(auth),
        central_(central),
        stopping_(stopping),
        options_(options),
        out_(out) {}

  // One charge from request to ticket. False on a hard error (auth or Kafka
  // refused the request); a rejection or an unanswered request is not one.
  bool ChargeAt(const std::string& cp_id);
  // A charge at each CP in turn, `wait_between` apart, over and over with `loop`.
  bool ChargeAtEach(const std::vector<std::string>& cp_ids, bool loop, absl::Duration wait_between);

 private:
  struct Accepted {
    std::string supply_id;
    absl::Time at;
  };
  // Sends the request until central accepts it (nullopt: rejected, unanswered or
  // stopping); `failed` on a hard error.
  std::optional<Accepted> Request(const std::string& cp_id, bool& failed);
  // Readings until the ticket.
  void Follow(const std::string& cp_id, const Accepted& accepted);
  void PrintTicket(const common::v1::Ticket& t);
  // "HH:MM:SS  " and the line.
  void Say(const char* format, ...) __attribute__((format(printf, 2, 3)));

  const std::string driver_id_;
  Publisher& requests_;
  Inbox& inbox_;
  DriverAuth& auth_;
  SupplyStopper& central_;
  const absl::Notification& stopping_;
  const ChargeOptions options_;
  std::FILE* const out_;
};

}  // namespace evc::driver
