#pragma once
// A charging point's side of the sealed channel to central, whatever drives
// the hardware (the simulated Engine, or the OCPP gateway for a real
// charger): the keys the monitor activated it with (the current one seals,
// the one before still opens commands in flight), engine events sealed under
// the current key, central's commands opened and refused when they replay an
// older one or come from a deposed leader. Not thread-safe: its owner locks.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "evc/cp/v1/engine.pb.h"
#include "evc/events/v1/events.pb.h"
#include "services/common/sealed.h"

namespace evc::cp {

class EngineChannel {
 public:
  enum class Activation { kUnchanged, kActivated, kRotated };
  // INVALID_ARGUMENT without the cp_id and its 32-byte key with its id.
  absl::StatusOr<Activation> Activate(const cp::v1::ActivateRequest& request);

  bool activated() const { return !keys_.empty(); }
  const std::string& cp_id() const { return cp_id_; }
  // The current key's id ("" before activation).
  std::string key_id() const { return keys_.empty() ? "" : keys_.back().key_id; }

  // A new event of this CP, stamped `now` with a fresh id.
  events::v1::EngineEvent NewEvent(absl::Time now) const;
  // `event` sealed under the current key; FAILED_PRECONDITION before activation.
  absl::StatusOr<events::v1::SealedEnvelope> Seal(const events::v1::EngineEvent& event, absl::Time now);
  // Opens a sealed command for this CP (either key); refuses replays.
  absl::StatusOr<events::v1::EngineCommand> Open(absl::string_view wire, absl::Time now);
  // A sealed command off Kafka: opened under `owner_mu` (the owner's lock,
  // which guards this channel), then handed to `act` after that lock is
  // released (acting takes it again). The error of a command that does not open.
  absl::Status OpenThenAct(absl::Mutex& owner_mu, absl::string_view wire, absl::Time now,
                           absl::FunctionRef<void(const events::v1::EngineCommand&)> act)
      ABSL_LOCKS_EXCLUDED(owner_mu);
  // Whether `command` may act at `now`: for this activated CP, sent at most
  // `max_age` ago, by the current central leader term (raised to the
  // command's). A deposed leader's command sets `why` (worth telling); a stale
  // or foreign one is dropped silently.
  bool Admit(const events::v1::EngineCommand& command, absl::Time now, absl::Duration max_age,
             std::string* why);

 private:
  // Whether a command of central leader term `epoch` may act (0: no
  // election); raises the term seen. `why` says why not.
  bool AcceptLeaderEpoch(uint64_t epoch, std::string* why);

  std::string cp_id_;
  std::vector<CpKey> keys_;
  SealCounter counter_;
  ReplayGuard command_guard_;
  uint64_t leader_epoch_ = 0;
};

}  // namespace evc::cp
