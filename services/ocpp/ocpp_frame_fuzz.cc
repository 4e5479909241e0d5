// What a charger sends on its OCPP-J connection, handled as the gateway
// handles it: decoded (DecodeFrame), validated against the OCPP 1.6J schemas
// and answered by an RpcEndpoint. Every answer must be one well-formed
// CALLRESULT or CALLERROR frame; nothing may crash or throw. The same bytes
// also go through the upgrade's parsers (path, Basic credentials, subprotocol).

#include <cstdint>
#include <string>
#include <string_view>

#include "services/ocpp/endpoint.h"
#include "services/ocpp/rpc.h"
#include "services/ocpp/server.h"

namespace {

using nlohmann::json;

class Handler : public evc::ocpp::RpcHandler {
 public:
  std::variant<json, evc::ocpp::RpcError> OnCall(const std::string& action, const json&) override {
    if (action == "Heartbeat") return json{{"currentTime", "2026-12-06T22:00:00.000Z"}};
    return evc::ocpp::RpcError{evc::ocpp::errc::kNotSupported, "fuzz"};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static Handler handler;
  int answers = 0;
  bool answering = false;
  evc::ocpp::RpcEndpoint endpoint(evc::ocpp::Schemas::Ocpp16(), handler, [&](std::string out) {
    if (!answering) return;  // our own CALL
    ++answers;
    evc::ocpp::Decoded back = evc::ocpp::DecodeFrame(out);
    if (!back.frame || back.frame->type == evc::ocpp::MessageType::kCall) __builtin_trap();
  });
  // A CALL of ours outstanding, so replies are matched too.
  (void)endpoint.Call("Reset", json{{"type", "Soft"}}, [](absl::StatusOr<json>) {}, absl::UnixEpoch());
  answering = true;
  endpoint.OnMessage(text, absl::UnixEpoch());
  if (answers > 1) __builtin_trap();  // one message, at most one answer
  endpoint.Close();

  const absl::string_view raw(text.data(), text.size());
  (void)evc::ocpp::ChargerIdFromTarget(raw);
  (void)evc::ocpp::BasicPassword(raw, "CP-1");
  (void)evc::ocpp::OffersOcpp16(raw);
  return 0;
}
