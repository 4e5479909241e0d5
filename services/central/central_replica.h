#pragma once
// One central replica, wired (what main.cc runs): it campaigns for the leader
// lease; while following it serves only refusals naming the leader (health
// NOT_SERVING for CentralService) and joins no Kafka consumer group; once it
// leads it loads the network from Postgres, consumes Kafka and serves
// CentralService, every journal write fenced by its term (issue 17).

#include <string>

namespace evc::central {

struct CentralPeers {
  std::string listen;
  std::string registry;
  std::string auth;
};

// The exit code of a replica whose term another replica took (EX_TEMPFAIL):
// its supervisor starts it again, as a follower.
inline constexpr int kExitSuperseded = 75;

// Runs until SIGTERM/SIGINT (0, the lease released so a follower takes over at
// once) or until superseded (kExitSuperseded, without returning).
int RunCentralReplica(const CentralPeers& peers);

}  // namespace evc::central
