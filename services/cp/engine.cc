#include "services/cp/engine.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/crypto.h"
#include "services/common/price.h"
#include "services/common/proto_time.h"
#include "services/common/validation.h"

namespace evc::cp {
namespace {

// Central only sends what its rules allow; anything else is a fault or a forgery
// and must not reach the meter's arithmetic.
absl::Status CheckAuthorisation(const events::v1::Authorize& authorisation) {
  if (absl::Status s = ValidateSupplyId(authorisation.supply_id()); !s.ok()) return s;
  if (!authorisation.driver_id().empty()) {
    if (absl::Status s = ValidateDriverId(authorisation.driver_id()); !s.ok()) return s;
  }
  if (authorisation.power_limit_w() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("power limit ", authorisation.power_limit_w(), " W is negative"));
  }
  return ValidatePriceMillieurosPerKwh(authorisation.price_millieuros_per_kwh());
}

}  // namespace

void Engine::SetCommandChannelReady() {
  absl::MutexLock lock(&mu_);
  channel_ready_ = true;
}

absl::Status Engine::Activate(const cp::v1::ActivateRequest& request) {
  std::string id;
  {
    absl::MutexLock lock(&mu_);
    if (request.cp_id().empty() || request.key_id().empty() || request.key().size() != 32) {
      return absl::InvalidArgumentError("activation needs the cp_id and its 32-byte key with its id");
    }
    if (!channel_ready_) return absl::FailedPreconditionError("engine starting: command channel not ready");
    absl::StatusOr<EngineChannel::Activation> activation = channel_.Activate(request);
    if (!activation.ok()) return activation.status();
    id = channel_.cp_id();
    if (*activation == EngineChannel::Activation::kUnchanged) return absl::OkStatus();
    if (*activation == EngineChannel::Activation::kRotated) {
      out_.Say(id, "key rotated by the monitor");
      return absl::OkStatus();
    }
  }
  out_.Say(id, "activated by the monitor: ready to serve");
  return absl::OkStatus();
}

cp::v1::CheckResponse Engine::Check() const {
  absl::MutexLock lock(&mu_);
  cp::v1::CheckResponse r;
  r.set_activated(channel_.activated());
  if (channel_.activated()) r.set_key_id(channel_.key_id());
  r.set_ok(!faulted_);
  if (faulted_) r.set_detail("engine reports a hardware fault (KO)");
  if (supply_) r.set_supply_id(supply_->supply_id);
  return r;
}

std::string Engine::cp_id() const {
  absl::MutexLock lock(&mu_);
  return channel_.cp_id();
}

events::v1::EngineEvent Engine::NewEvent(absl::Time now) const { return channel_.NewEvent(now); }

void Engine::Emit(const events::v1::EngineEvent& event, absl::Time now) {
  absl::StatusOr<events::v1::SealedEnvelope> sealed = channel_.Seal(event, now);
  if (!sealed.ok()) {
    out_.Say(channel_.cp_id(), absl::IsFailedPrecondition(sealed.status())
                         ? std::string(sealed.status().message())
                         : "cannot seal a message: " + sealed.status().ToString());
    return;
  }
  out_.Send(event, *sealed);
}

absl::Status Engine::OnSealedCommand(absl::string_view wire, absl::Time now) {
  return channel_.OpenThenAct(mu_, wire, now, [&](const events::v1::EngineCommand& c) { OnCommand(c, now); });
}

void Engine::OnCommand(const events::v1::EngineCommand& command, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (std::string why; !channel_.Admit(command, now, options_.command_max_age, &why)) {
    if (!why.empty()) out_.Say(channel_.cp_id(), why);
    return;
  }
  if (command.has_authorize()) {
    const auto& a = command.authorize();
    if (absl::Status s = CheckAuthorisation(a); !s.ok()) {
      out_.Say(channel_.cp_id(), absl::StrCat("ignored a malformed authorisation: ", s.message()));
      return;
    }
    if (supply_) {
      if (supply_->supply_id != a.supply_id()) {
        out_.Say(channel_.cp_id(), absl::StrCat("ignored authorisation ", a.supply_id(), ": busy with ",
                                      supply_->supply_id));
      }
      return;
    }
    if (std::find(ended_.begin(), ended_.end(), a.supply_id()) != ended_.end()) {
      out_.Say(channel_.cp_id(), absl::StrCat("ignored authorisation ", a.supply_id(), ": that supply has ended"));
      return;
    }
    if (faulted_) {
      out_.Say(channel_.cp_id(), "ignored authorisation: engine is faulted");
      return;
    }
    supply_ = Supply{a.supply_id(), a.driver_id(), a.price_millieuros_per_kwh()};
    supply_->power_limit_w = a.power_limit_w();
    if (!a.walk_in_request_id().empty()) pending_walk_in_.clear();
    out_.Say(channel_.cp_id(), absl::StrCat("AUTHORIZED supply ", a.supply_id(), " for ",
                                  a.driver_id().empty() ? "walk-in customer" : a.driver_id(),
                                  options_.auto_plug ? "" : ": plug the vehicle in (p)"));
    if (options_.auto_plug) StartSupplying(now);
  } else if (command.has_stop()) {
    if (!supply_ || supply_->supply_id != command.stop().supply_id()) return;
    out_.Say(channel_.cp_id(), absl::StrCat("STOP received for supply ", supply_->supply_id));
    Finish(command.stop().reason(), now);
  } else if (command.has_report_supply()) {
    // Central has not heard from this supply: the figures now, if it runs here.
    if (!supply_ || supply_->supply_id != command.report_supply().supply_id()) return;
    if (!supply_->plugged || faulted_) return;
    Accumulate(now);
    SendTelemetry(now);
  } else if (command.has_set_power_limit()) {
    const auto& limit = command.set_power_limit();
    if (!supply_ || supply_->supply_id != limit.supply_id()) return;
    if (limit.power_limit_w() < 0) {
      out_.Say(channel_.cp_id(), absl::StrCat("ignored a negative power limit (", limit.power_limit_w(), " W)"));
      return;
    }
    // The energy so far is counted at the old power; the new power is
    // reported at once, so that the network sees a lowered share before the
    // supply it was lowered for reports its first reading.
    const bool flowing = supply_->plugged && !faulted_;
    if (flowing) Accumulate(now);
    supply_->power_limit_w = limit.power_limit_w();
    if (flowing) SendTelemetry(now);
    out_.Say(channel_.cp_id(), absl::StrCat("power limit of supply ", supply_->supply_id, ": now ", Power(), " W"));
  } else if (command.has_walk_in_rejected()) {
    if (command.walk_in_rejected().request_id() != pending_walk_in_) return;
    pending_walk_in_.clear();
    out_.Say(channel_.cp_id(), absl::StrCat("walk-in charge REJECTED: ", command.walk_in_rejected().detail()));
  }
}

void Engine::StartSupplying(absl::Time now) {
  supply_->plugged = true;
  supply_->plugged_at = now;
  supply_->last_tick = now;
  events::v1::EngineEvent e = NewEvent(now);
  e.mutable_started()->set_supply_id(supply_->supply_id);
  Emit(e, now);
  out_.Say(channel_.cp_id(), absl::StrCat("vehicle plugged in: supplying at ", Power(), " W"));
}

void Engine::Plug(absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (!supply_) return out_.Say(channel_.cp_id(), "nothing authorised: request a charge first (w = walk-in)");
  if (supply_->plugged) return out_.Say(channel_.cp_id(), "already plugged in");
  StartSupplying(now);
}

void Engine::Unplug(absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (!supply_ || !supply_->plugged) return out_.Say(channel_.cp_id(), "no vehicle plugged in");
  Finish(common::v1::END_REASON_UNPLUGGED, now);
}

void Engine::Fault() {
  absl::MutexLock lock(&mu_);
  faulted_ = true;
  out_.Say(channel_.cp_id(), "engine FAULT (KO): the monitor will report it");
}

void Engine::Repair() {
  absl::MutexLock lock(&mu_);
  faulted_ = false;
  out_.Say(channel_.cp_id(), "engine repaired (OK)");
}

void Engine::RequestWalkIn(absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (!channel_.activated()) return out_.Say(channel_.cp_id(), "not activated yet: the monitor has not authenticated");
  if (supply_) return out_.Say(channel_.cp_id(), "busy: a supply is already authorised");
  pending_walk_in_ = crypto::RandomId();
  events::v1::EngineEvent e = NewEvent(now);
  e.mutable_walk_in()->set_request_id(pending_walk_in_);
  Emit(e, now);
  out_.Say(channel_.cp_id(), "walk-in charge requested; waiting for central");
}

void Engine::Accumulate(absl::Time now) {
  double hours = absl::ToDoubleHours(now - supply_->last_tick);
  if (hours > 0) supply_->energy_wh += static_cast<double>(Power()) * hours;
  supply_->last_tick = now;
}

int64_t Engine::Power() const {
  const int64_t limit = supply_ ? supply_->power_limit_w : 0;
  return limit > 0 ? std::min(limit, options_.power_w) : options_.power_w;
}

void Engine::SendTelemetry(absl::Time now) {
  const int64_t wh = static_cast<int64_t>(std::floor(supply_->energy_wh));
  events::v1::EngineEvent e = NewEvent(now);
  auto* t = e.mutable_telemetry();
  t->set_supply_id(supply_->supply_id);
  t->set_seq(++supply_->seq);
  t->set_energy_wh(wh);
  t->set_amount_millieuros(AmountMillieuros(wh, supply_->price_millieuros_per_kwh));
  t->set_power_w(Power());
  Emit(e, now);
}

void Engine::Tick(absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (!supply_ || !supply_->plugged || faulted_) return;
  Accumulate(now);
  if (options_.auto_unplug_after > absl::ZeroDuration() &&
      now - supply_->plugged_at >= options_.auto_unplug_after) {
    return Finish(common::v1::END_REASON_UNPLUGGED, now);
  }
  SendTelemetry(now);
  if (options_.unplug_after_readings > 0 &&
      supply_->seq >= static_cast<uint64_t>(options_.unplug_after_readings)) {
    Finish(common::v1::END_REASON_UNPLUGGED, now);
  }
}

void Engine::Finish(common::v1::EndReason reason, absl::Time now) {
  if (supply_->plugged && !faulted_) Accumulate(now);
  const int64_t wh = static_cast<int64_t>(std::floor(supply_->energy_wh));
  events::v1::EngineEvent e = NewEvent(now);
  auto* c = e.mutable_completed();
  c->set_supply_id(supply_->supply_id);
  c->set_seq(++supply_->seq);
  c->set_energy_wh(wh);
  c->set_reason(reason);
  Emit(e, now);
  out_.Say(channel_.cp_id(), absl::StrFormat("supply %s finished: %.3f kWh, %.2f EUR", supply_->supply_id,
                                   wh / 1000.0,
                                   AmountMillieuros(wh, supply_->price_millieuros_per_kwh) / 1000.0));
  constexpr size_t kEndedRemembered = 8;
  ended_.push_back(supply_->supply_id);
  if (ended_.size() > kEndedRemembered) ended_.pop_front();
  supply_.reset();
}

}  // namespace evc::cp
