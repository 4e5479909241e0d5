// Commands reach the engine off Kafka, sealed by central. The envelope itself is
// fuzzed by sealed_fuzz; this target fuzzes what is inside: any EngineCommand that
// opens under the CP's key (a central with a bug, or a stolen key), mixed with
// console actions and the clock, must never crash the engine, and what the engine
// reports stays sane: energy and amounts never negative, sequence numbers growing.
//
// Input: a list of operations. Each starts with one byte; its low 3 bits pick the
// operation, the others its arguments. Operation 0 takes a length byte and that
// many bytes as a serialized EngineCommand.

#include <algorithm>
#include <cstdint>
#include <string>

#include "google/protobuf/stubs/logging.h"
#include "services/common/proto_time.h"
#include "services/common/sealed.h"
#include "services/cp/engine.h"

namespace {

const evc::CpKey& Key() {
  static const evc::CpKey key{"fuzz-key", std::string(32, '\x22')};
  return key;
}

// Traps on a report no meter could produce.
class SanityCheckingOutput : public evc::cp::EngineOutput {
 public:
  void Send(const evc::events::v1::EngineEvent& event, const evc::events::v1::SealedEnvelope&) override {
    if (event.has_started()) Follow(event.started().supply_id());
    if (event.has_telemetry()) {
      const auto& t = event.telemetry();
      if (t.energy_wh() < 0 || t.amount_millieuros() < 0) __builtin_trap();
      Advance(t.supply_id(), t.seq());
    }
    if (event.has_completed()) {
      if (event.completed().energy_wh() < 0) __builtin_trap();
      Advance(event.completed().supply_id(), event.completed().seq());
      Follow("");
    }
  }
  void Say(const std::string&, const std::string&) override {}

 private:
  void Follow(const std::string& supply_id) {
    supply_id_ = supply_id;
    last_seq_ = 0;
  }
  // Within one supply every report counts one further.
  void Advance(const std::string& supply_id, uint64_t seq) {
    if (supply_id == supply_id_ && seq <= last_seq_) __builtin_trap();
    last_seq_ = seq;
    supply_id_ = supply_id;
  }

  std::string supply_id_;
  uint64_t last_seq_ = 0;
};

// Unplugs by itself too, so long inputs also end supplies.
evc::cp::EngineOptions Options() {
  evc::cp::EngineOptions options;
  options.auto_unplug_after = absl::Minutes(3);
  return options;
}

class Session {
 public:
  Session() : engine_(Options(), out_) {
    engine_.SetCommandChannelReady();
    evc::cp::v1::ActivateRequest activate;
    activate.set_cp_id("CP1");
    activate.set_key_id(Key().key_id);
    activate.set_key(Key().key);
    if (!engine_.Activate(activate).ok()) __builtin_trap();
  }

  // Seals `bytes` as central would (after making it fresh and for this CP when
  // the operation's bits say so) and hands it to the engine.
  void Command(uint8_t op, const uint8_t* bytes, size_t size) {
    evc::events::v1::EngineCommand command;
    if (!command.ParseFromArray(bytes, static_cast<int>(size))) return;
    if (op & 0x08) command.set_cp_id("CP1");
    if (op & 0x10) *command.mutable_sent_at() = evc::ToProto(now_);
    absl::StatusOr<evc::events::v1::SealedEnvelope> sealed =
        evc::SealEnvelope(evc::events::v1::SealedEnvelope::DIRECTION_CENTRAL_TO_ENGINE, "CP1", Key(),
                          ++counter_, command.SerializeAsString());
    if (!sealed.ok()) __builtin_trap();
    (void)engine_.OnSealedCommand(sealed->SerializeAsString(), now_);
  }

  void Act(uint8_t op) {
    switch (op & 0x07) {
      case 1: engine_.Plug(now_); break;
      case 2: engine_.Unplug(now_); break;
      case 3: (op & 0x08) ? engine_.Fault() : engine_.Repair(); break;
      case 4: engine_.RequestWalkIn(now_); break;
      default:
        now_ += absl::Seconds(op >> 3);
        engine_.Tick(now_);
    }
    (void)engine_.Check();
  }

 private:
  SanityCheckingOutput out_;
  evc::cp::Engine engine_;
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  uint64_t counter_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Protobuf logs every string field that is not UTF-8; the engine's answer is what counts here.
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  Session session;
  size_t at = 0;
  while (at < size) {
    const uint8_t op = data[at++];
    if ((op & 0x07) != 0) {
      session.Act(op);
      continue;
    }
    if (at >= size) break;
    const size_t length = std::min<size_t>(data[at++], size - at);
    session.Command(op, data + at, length);
    at += length;
  }
  return 0;
}
