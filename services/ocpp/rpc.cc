#include "services/ocpp/rpc.h"

#include "absl/strings/str_cat.h"

namespace evc::ocpp {
namespace {

using nlohmann::json;

// nlohmann's parser recurses once per nesting level: deeper input is refused
// before it is parsed, so no message can exhaust the stack.
bool NestingWithin(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

Decoded Fail(std::string id, const char* code, std::string description, bool answerable = true) {
  Decoded d;
  d.failure.id = std::move(id);
  d.failure.error.code = code;
  d.failure.error.description = std::move(description);
  d.failure.answerable = answerable;
  return d;
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

Decoded DecodeFrame(std::string_view text) {
  if (!NestingWithin(text, kMaxJsonDepth)) {
    return Fail("", errc::kFormationViolation,
                absl::StrCat("message nests deeper than ", kMaxJsonDepth, " levels"));
  }
  json message = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) {
    return Fail("", errc::kFormationViolation, "message is not valid JSON");
  }
  if (!message.is_array() || message.empty() || !message[0].is_number_integer()) {
    return Fail("", errc::kFormationViolation,
                "message must be a JSON array starting with its type: 2 (CALL), 3 (CALLRESULT) or 4 (CALLERROR)");
  }
  const int64_t type = message[0].get<int64_t>();
  std::string id;
  if (message.size() >= 2 && message[1].is_string()) {
    id = message[1].get<std::string>();
    if (id.empty() || id.size() > kMaxMessageIdLength) {
      return Fail("", errc::kFormationViolation,
                  absl::StrCat("message id must be 1 to ", kMaxMessageIdLength, " characters"));
    }
  } else {
    return Fail("", errc::kFormationViolation, "message id (second element) must be a string");
  }
  Frame frame;
  frame.id = id;
  switch (type) {
    case 2: {
      if (message.size() != 4) {
        return Fail(id, errc::kFormationViolation, "a CALL is [2, id, action, payload]: 4 elements");
      }
      if (!message[2].is_string() || message[2].get_ref<const std::string&>().empty() ||
          message[2].get_ref<const std::string&>().size() > kMaxActionLength) {
        return Fail(id, errc::kFormationViolation, "a CALL's action (third element) must be a non-empty string");
      }
      if (!message[3].is_object()) {
        return Fail(id, errc::kFormationViolation, "a CALL's payload (fourth element) must be a JSON object");
      }
      frame.type = MessageType::kCall;
      frame.action = message[2].get<std::string>();
      frame.payload = std::move(message[3]);
      return Decoded{std::move(frame), {}};
    }
    case 3: {
      if (message.size() != 3 || !message[2].is_object()) {
        return Fail(id, errc::kFormationViolation, "a CALLRESULT is [3, id, {payload}]", false);
      }
      frame.type = MessageType::kCallResult;
      frame.payload = std::move(message[2]);
      return Decoded{std::move(frame), {}};
    }
    case 4: {
      if (message.size() != 5 || !message[2].is_string() || !message[3].is_string() || !message[4].is_object()) {
        return Fail(id, errc::kFormationViolation,
                    "a CALLERROR is [4, id, \"code\", \"description\", {details}]", false);
      }
      frame.type = MessageType::kCallError;
      frame.error.code = message[2].get<std::string>();
      frame.error.description = message[3].get<std::string>();
      frame.error.details = std::move(message[4]);
      return Decoded{std::move(frame), {}};
    }
    default:
      break;
  }
  return Fail(id, errc::kProtocolError, absl::StrCat("unknown message type ", type, ": OCPP-J knows 2, 3 and 4"));
}

std::string EncodeCall(const std::string& id, const std::string& action, const json& payload) {
  return Dump(json::array({2, id, action, payload}));
}

std::string EncodeCallResult(const std::string& id, const json& payload) {
  return Dump(json::array({3, id, payload}));
}

std::string EncodeCallError(const std::string& id, const RpcError& error) {
  json details = error.details.is_object() ? error.details : json::object();
  return Dump(json::array({4, id.empty() ? "-1" : id, error.code, error.description, details}));
}

}  // namespace evc::ocpp
