#include "services/cp/engine_channel.h"

#include "absl/strings/str_cat.h"
#include "services/common/crypto.h"
#include "services/common/proto_time.h"

namespace evc::cp {

absl::StatusOr<EngineChannel::Activation> EngineChannel::Activate(const cp::v1::ActivateRequest& request) {
  if (request.cp_id().empty() || request.key_id().empty() || request.key().size() != 32) {
    return absl::InvalidArgumentError("activation needs the cp_id and its 32-byte key with its id");
  }
  if (activated() && cp_id_ == request.cp_id() && keys_.back().key_id == request.key_id()) {
    return Activation::kUnchanged;
  }
  const bool rotated = activated() && cp_id_ == request.cp_id();
  if (!rotated) keys_.clear();
  keys_.push_back({request.key_id(), request.key()});
  if (keys_.size() > 2) keys_.erase(keys_.begin());
  cp_id_ = request.cp_id();
  return rotated ? Activation::kRotated : Activation::kActivated;
}

events::v1::EngineEvent EngineChannel::NewEvent(absl::Time now) const {
  events::v1::EngineEvent e;
  e.set_cp_id(cp_id_);
  e.set_event_id(crypto::RandomId());
  *e.mutable_at() = ToProto(now);
  return e;
}

absl::StatusOr<events::v1::SealedEnvelope> EngineChannel::Seal(const events::v1::EngineEvent& event,
                                                               absl::Time now) {
  if (keys_.empty()) return absl::FailedPreconditionError("not activated yet: nothing can be sent to central");
  return SealEnvelope(events::v1::SealedEnvelope::DIRECTION_ENGINE_TO_CENTRAL, cp_id_, keys_.back(),
                      counter_.Next(now), event.SerializeAsString());
}

absl::StatusOr<events::v1::EngineCommand> EngineChannel::Open(absl::string_view wire, absl::Time now) {
  if (!activated()) return absl::FailedPreconditionError("engine not activated: cannot open commands");
  auto lookup = [this](const std::string& cp, const std::string& key_id) -> const CpKey* {
    if (cp != cp_id_) return nullptr;
    for (const CpKey& k : keys_) {
      if (k.key_id == key_id) return &k;
    }
    return nullptr;
  };
  absl::StatusOr<OpenedEnvelope> opened =
      OpenEnvelope(wire, events::v1::SealedEnvelope::DIRECTION_CENTRAL_TO_ENGINE, lookup, now);
  if (!opened.ok()) return opened.status();
  if (absl::Status s = command_guard_.Accept(opened->cp_id, opened->counter); !s.ok()) return s;
  events::v1::EngineCommand command;
  if (!command.ParseFromString(opened->plaintext) || command.cp_id() != cp_id_) {
    return absl::InvalidArgumentError("sealed content is not an EngineCommand for this CP");
  }
  return command;
}

absl::Status EngineChannel::OpenThenAct(absl::Mutex& owner_mu, absl::string_view wire, absl::Time now,
                                        absl::FunctionRef<void(const events::v1::EngineCommand&)> act) {
  absl::StatusOr<events::v1::EngineCommand> command;
  {
    absl::MutexLock lock(&owner_mu);
    command = Open(wire, now);
  }
  if (!command.ok()) return command.status();
  act(*command);
  return absl::OkStatus();
}

bool EngineChannel::Admit(const events::v1::EngineCommand& command, absl::Time now, absl::Duration max_age,
                          std::string* why) {
  if (!activated() || command.cp_id() != cp_id_) return false;
  if (command.has_sent_at() && now - FromProto(command.sent_at()) > max_age) return false;
  return AcceptLeaderEpoch(command.leader_epoch(), why);
}

bool EngineChannel::AcceptLeaderEpoch(uint64_t epoch, std::string* why) {
  if (epoch == 0) return true;
  if (epoch < leader_epoch_) {
    *why = absl::StrCat("ignored a command of central leader term ", epoch, ": term ", leader_epoch_,
                        " has taken over");
    return false;
  }
  leader_epoch_ = epoch;
  return true;
}

}  // namespace evc::cp
