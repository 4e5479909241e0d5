#include "services/central/network_flags.h"

#include <algorithm>

#include "absl/flags/flag.h"

ABSL_FLAG(absl::Duration, link_timeout, absl::Seconds(5),
          "a CP without a health report for this long is DISCONNECTED");
ABSL_FLAG(absl::Duration, restart_grace, absl::Seconds(15),
          "after a restart, how long monitors have to reconnect before their supplies close");
ABSL_FLAG(absl::Duration, plug_timeout, absl::Seconds(120),
          "an authorised supply whose vehicle is never plugged in is cancelled after this");
ABSL_FLAG(absl::Duration, stop_timeout, absl::Seconds(15),
          "a supply whose engine does not confirm a stop is closed after this");
ABSL_FLAG(absl::Duration, reconcile_grace, absl::Seconds(10),
          "how long a CP's report of the supply it runs may disagree with central before central "
          "closes its own record (CP_LOST_SUPPLY) or stops the CP's (UNKNOWN_SUPPLY)");
ABSL_FLAG(absl::Duration, telemetry_timeout, absl::Seconds(15),
          "a running supply with no telemetry for this long is asked for a report, and closed "
          "(ENGINE_SILENT) after twice this");
ABSL_FLAG(absl::Duration, command_resend_interval, absl::Seconds(3),
          "an engine command not yet acted on (authorise, stop) is sent again this often, and a "
          "ticket whose delivery failed too");

ABSL_FLAG(absl::Duration, health_interval, absl::Seconds(1),
          "how often monitors report health (told to each monitor when it links); keep "
          "--link_timeout at least three of these");

ABSL_FLAG(absl::Duration, queue_offer_timeout, absl::Seconds(120),
          "how long a freed charging point is held for the head of its location's queue before "
          "it goes to the next driver");
ABSL_FLAG(int64_t, queue_typical_session_wh, 20000,
          "the energy (Wh) a session is assumed to need when its driver did not say, for queue "
          "waiting-time estimates");

namespace evc::central {

NetworkConfig NetworkConfigFromFlags() {
  NetworkConfig config{.link_timeout = absl::GetFlag(FLAGS_link_timeout),
          .restart_grace = absl::GetFlag(FLAGS_restart_grace),
          .plug_timeout = absl::GetFlag(FLAGS_plug_timeout),
          .stop_timeout = absl::GetFlag(FLAGS_stop_timeout),
          .reconcile_grace = absl::GetFlag(FLAGS_reconcile_grace),
          .telemetry_timeout = absl::GetFlag(FLAGS_telemetry_timeout),
          .command_resend_interval = absl::GetFlag(FLAGS_command_resend_interval),
          .health_interval = absl::GetFlag(FLAGS_health_interval)};
  config.queue.offer_timeout = absl::GetFlag(FLAGS_queue_offer_timeout);
  config.queue.typical_session_wh = std::max<int64_t>(1, absl::GetFlag(FLAGS_queue_typical_session_wh));
  return config;
}

}  // namespace evc::central
