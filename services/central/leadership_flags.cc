#include <unistd.h>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "services/central/leadership.h"

ABSL_FLAG(std::string, replica_id, "",
          "this central replica's name in the leader election (default: the host name); "
          "unique per replica");
ABSL_FLAG(std::string, advertise_address, "",
          "where clients reach this replica (host:port), named by followers in their refusals "
          "(default: --listen)");
ABSL_FLAG(absl::Duration, leader_lease, absl::Seconds(3),
          "how long a leader's term lasts without renewal: a crashed leader is replaced after "
          "at most this plus --leader_renew");
ABSL_FLAG(absl::Duration, leader_renew, absl::Seconds(1),
          "how often the leader renews its lease and followers campaign for it");
ABSL_FLAG(absl::Duration, shutdown_drain, absl::Milliseconds(500),
          "a leader asked to stop is not ready for this long first, still serving, so clients "
          "move to the next leader before it stops and resigns");

namespace evc::central {
namespace {

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "central";
  return name;
}

}  // namespace

absl::StatusOr<LeadershipConfig> LeadershipConfigFromFlags(const std::string& listen) {
  LeadershipConfig config{.replica_id = absl::GetFlag(FLAGS_replica_id),
                          .advertise_address = absl::GetFlag(FLAGS_advertise_address),
                          .lease = absl::GetFlag(FLAGS_leader_lease),
                          .renew = absl::GetFlag(FLAGS_leader_renew),
                          .shutdown_drain = absl::GetFlag(FLAGS_shutdown_drain)};
  if (config.replica_id.empty()) config.replica_id = HostName();
  if (config.advertise_address.empty()) config.advertise_address = listen;
  // Stored as given (PgText would cut a longer one, and the replica would no
  // longer recognise its own lease).
  if (config.replica_id.size() > 128 || config.advertise_address.size() > 256) {
    return absl::InvalidArgumentError(
        "--replica_id (at most 128 bytes) or --advertise_address (at most 256) is too long");
  }
  if (config.renew <= absl::ZeroDuration() || config.renew >= config.lease) {
    return absl::InvalidArgumentError(
        absl::StrCat("--leader_renew (", absl::FormatDuration(config.renew),
                     ") must be positive and shorter than --leader_lease (",
                     absl::FormatDuration(config.lease), ")"));
  }
  if (config.shutdown_drain < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--shutdown_drain must not be negative");
  }
  return config;
}

}  // namespace evc::central
