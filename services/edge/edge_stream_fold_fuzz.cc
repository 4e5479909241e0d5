// The fold a late joiner of a shared upstream stream is caught up from, on
// whatever bytes come up the stream. Input: records of a 2-byte little-endian
// length then that many bytes, each applied as one upstream message of
// WatchNetwork (a last record cut short is applied as it is). Whatever the
// fold offers must be a whole snapshot, in CP-id order with no id twice, and
// a fold fed only that snapshot must offer the same bytes again: a joiner
// sees what the clients watching from the start see.

#include <cstdint>
#include <optional>
#include <string>

#include "evc/central/v1/central.pb.h"
#include "services/edge/stream_fold.h"

namespace {

using evc::central::v1::NetworkUpdate;

std::unique_ptr<evc::edge::StreamFold> NewNetworkFold() {
  auto fold = evc::edge::NewStreamFold(*NetworkUpdate::descriptor());
  if (fold == nullptr) __builtin_trap();
  return fold;
}

void CheckIsOneOrderedSnapshot(const std::string& bytes) {
  NetworkUpdate update;
  if (!update.ParseFromString(bytes) || !update.has_snapshot() || update.snapshot().continued()) __builtin_trap();
  const auto& cps = update.snapshot().charging_points();
  for (int i = 1; i < cps.size(); ++i) {
    if (!(cps[i - 1].charging_point().cp_id() < cps[i].charging_point().cp_id())) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<evc::edge::StreamFold> fold = NewNetworkFold();
  size_t at = 0;
  while (at + 2 <= size) {
    const size_t length = data[at] | (size_t{data[at + 1]} << 8);
    at += 2;
    const size_t taken = std::min(length, size - at);
    fold->Apply(std::string(reinterpret_cast<const char*>(data + at), taken));
    at += taken;
  }
  const std::optional<std::string> catch_up = fold->CatchUp();
  if (!catch_up) return 0;
  CheckIsOneOrderedSnapshot(*catch_up);
  std::unique_ptr<evc::edge::StreamFold> joiner = NewNetworkFold();
  joiner->Apply(*catch_up);
  if (joiner->CatchUp() != catch_up) __builtin_trap();
  return 0;
}
