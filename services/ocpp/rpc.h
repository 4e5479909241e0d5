#pragma once
// OCPP-J RPC framing (OCPP 1.6 JSON, section 4): every WebSocket text message
// is one of
//   CALL        [2, "<uniqueId>", "<Action>", {payload}]
//   CALLRESULT  [3, "<uniqueId>", {payload}]
//   CALLERROR   [4, "<uniqueId>", "<errorCode>", "<errorDescription>", {errorDetails}]
// DecodeFrame turns outside bytes into a Frame or into the CALLERROR the spec
// prescribes for them; it never throws and bounds what it accepts.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace evc::ocpp {

// The error codes of OCPP-J 1.6 section 4.2.3 (spelled as the spec spells them).
namespace errc {
inline constexpr char kNotImplemented[] = "NotImplemented";
inline constexpr char kNotSupported[] = "NotSupported";
inline constexpr char kInternalError[] = "InternalError";
inline constexpr char kProtocolError[] = "ProtocolError";
inline constexpr char kSecurityError[] = "SecurityError";
inline constexpr char kFormationViolation[] = "FormationViolation";
inline constexpr char kPropertyConstraintViolation[] = "PropertyConstraintViolation";
inline constexpr char kOccurenceConstraintViolation[] = "OccurenceConstraintViolation";
inline constexpr char kTypeConstraintViolation[] = "TypeConstraintViolation";
inline constexpr char kGenericError[] = "GenericError";
}  // namespace errc

// The WebSocket subprotocol of OCPP-J 1.6, offered by the charger and agreed
// by the central system.
inline constexpr char kSubprotocol[] = "ocpp1.6";

enum class MessageType { kCall = 2, kCallResult = 3, kCallError = 4 };

struct RpcError {
  std::string code;
  std::string description;
  nlohmann::json details = nlohmann::json::object();
};

struct Frame {
  MessageType type = MessageType::kCall;
  std::string id;
  std::string action;                                   // CALL only
  nlohmann::json payload = nlohmann::json::object();    // CALL and CALLRESULT
  RpcError error;                                       // CALLERROR only
};

// What a message that is not a well-formed frame gets back. `id` is the
// message's unique id when it could be read, else "" (the answer then carries
// "-1", as ocpp-rpc and other implementations do).
struct FrameFailure {
  std::string id;
  RpcError error;
  // A malformed CALLRESULT/CALLERROR is not answered (the spec has no reply
  // to a reply); the caller logs it and counts it instead.
  bool answerable = true;
};

struct Decoded {
  std::optional<Frame> frame;
  FrameFailure failure;  // when !frame
};

// Bounds on what DecodeFrame accepts.
inline constexpr size_t kMaxMessageIdLength = 36;  // OCPP-J 1.6 section 4.1.3
inline constexpr size_t kMaxActionLength = 64;
inline constexpr int kMaxJsonDepth = 32;

Decoded DecodeFrame(std::string_view text);

std::string EncodeCall(const std::string& id, const std::string& action, const nlohmann::json& payload);
std::string EncodeCallResult(const std::string& id, const nlohmann::json& payload);
std::string EncodeCallError(const std::string& id, const RpcError& error);

}  // namespace evc::ocpp
