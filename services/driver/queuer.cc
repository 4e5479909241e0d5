#include "services/driver/queuer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace evc::driver {

std::string DescribeQueueStatus(const common::v1::QueueStatus& s) {
  const std::string where =
      s.address().empty() ? s.city() : absl::StrCat(s.address(), ", ", s.city());
  if (s.position() == 0) return absl::StrCat("no longer queued at ", where, ": ", s.detail());
  std::string out =
      absl::StrCat("position ", s.position(), " of ", s.queue_length(), " at ", where);
  if (!s.offered_cp_id().empty()) {
    absl::StrAppend(&out, "; charging point ", s.offered_cp_id(), " is held for you");
    return out;
  }
  if (s.has_estimated_wait_seconds()) {
    const int64_t wait = s.estimated_wait_seconds();
    absl::StrAppend(&out, "; estimated wait ",
                    wait < 120 ? absl::StrCat(wait, " s") : absl::StrCat((wait + 30) / 60, " min"));
  } else {
    absl::StrAppend(&out, "; no estimate");
  }
  if (!s.estimate_detail().empty()) absl::StrAppend(&out, " (", s.estimate_detail(), ")");
  return out;
}

void Queuer::Say(const std::string& line) {
  std::fprintf(out_, "%s  %s\n",
               absl::FormatTime("%H:%M:%S", absl::Now(), absl::LocalTimeZone()).c_str(),
               line.c_str());
  std::fflush(out_);
}

absl::StatusOr<std::string> Queuer::WaitForOffer(const central::v1::JoinQueueRequest& request) {
  absl::StatusOr<common::v1::QueueStatus> joined = desk_.Join(request);
  if (!joined.ok()) return joined.status();
  Say(absl::StrCat("queued: ", DescribeQueueStatus(*joined)));
  if (!joined->offered_cp_id().empty()) return joined->offered_cp_id();
  absl::Time next_refresh = absl::Now() + options_.refresh;
  while (!stopping_.HasBeenNotified()) {
    const absl::Duration wait = std::max(absl::ZeroDuration(), next_refresh - absl::Now());
    std::optional<events::v1::DriverNotification> n =
        next_notice_(std::min(wait, absl::Seconds(1)));
    if (n && n->has_queue()) {
      const common::v1::QueueStatus& q = n->queue();
      switch (q.event()) {
        case common::v1::QUEUE_EVENT_OFFERED:
          Say(absl::StrCat("offered: ", q.detail()));
          return q.offered_cp_id();
        case common::v1::QUEUE_EVENT_POSITION_CHANGED:
        case common::v1::QUEUE_EVENT_OFFER_WITHDRAWN:
          Say(absl::StrCat(q.detail(), ": ", DescribeQueueStatus(q)));
          break;
        default:
          if (q.position() == 0) {
            return absl::FailedPreconditionError(absl::StrCat("no longer queued: ", q.detail()));
          }
      }
    }
    if (absl::Now() >= next_refresh) {
      next_refresh = absl::Now() + options_.refresh;
      absl::StatusOr<common::v1::QueueStatus> now = desk_.Position();
      if (now.ok()) {
        Say(DescribeQueueStatus(*now));
        // An offer whose notice was lost is still seen here.
        if (!now->offered_cp_id().empty()) return now->offered_cp_id();
      } else if (absl::IsNotFound(now.status())) {
        return absl::FailedPreconditionError(
            absl::StrCat("no longer queued: ", now.status().message()));
      } else {
        Say(absl::StrCat("cannot refresh the estimate now: ", now.status().message()));
      }
    }
  }
  // Stopping: a place nobody waits for is given up, so the queue moves on.
  absl::StatusOr<common::v1::QueueStatus> left = desk_.Leave();
  Say(left.ok() ? "left the queue"
                : absl::StrCat("could not leave the queue: ", left.status().message()));
  return absl::CancelledError("stopped while queued; left the queue");
}

}  // namespace evc::driver
