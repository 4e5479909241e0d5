#pragma once
// The driver's place in a queue (issue 20), from the command line: join the
// queue of a busy location, print the position and estimated wait as central
// tells them (sealed notices) and as asked every --queue_refresh, until a
// charging point is offered (then the caller charges there) or the wait ends
// another way (left, offer expired), each said with its reason.

#include <cstdio>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "evc/central/v1/central.pb.h"
#include "evc/events/v1/events.pb.h"

namespace evc::driver {

// Central's queue RPCs, for the logged-in driver.
class QueueDesk {
 public:
  virtual ~QueueDesk() = default;
  virtual absl::StatusOr<common::v1::QueueStatus> Join(const central::v1::JoinQueueRequest& r) = 0;
  virtual absl::StatusOr<common::v1::QueueStatus> Position() = 0;
  virtual absl::StatusOr<common::v1::QueueStatus> Leave() = 0;
};

// "position 2 of 3 at Plaza Mayor 1, Alicante; estimated wait 14 min (1 driver ahead ...)".
std::string DescribeQueueStatus(const common::v1::QueueStatus& s);

struct QueueOptions {
  // How often the estimate is asked again while waiting.
  absl::Duration refresh = absl::Seconds(30);
};

class Queuer {
 public:
  // `next_notice`: this driver's next notification, or nullopt after the wait.
  using NextNotice =
      std::function<std::optional<events::v1::DriverNotification>(absl::Duration wait)>;
  Queuer(QueueDesk& desk, NextNotice next_notice, const absl::Notification& stopping,
         QueueOptions options = {}, std::FILE* out = stdout)
      : desk_(desk),
        next_notice_(std::move(next_notice)),
        stopping_(stopping),
        options_(options),
        out_(out) {}

  // Joins and waits: the CP offered, or why there is none (central's refusal
  // to queue, an offer that expired, stopping: the driver then leaves).
  absl::StatusOr<std::string> WaitForOffer(const central::v1::JoinQueueRequest& request);

 private:
  void Say(const std::string& line);

  QueueDesk& desk_;
  NextNotice next_notice_;
  const absl::Notification& stopping_;
  const QueueOptions options_;
  std::FILE* const out_;
};

}  // namespace evc::driver
