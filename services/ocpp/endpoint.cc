#include "services/ocpp/endpoint.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "services/common/crypto.h"
#include "services/common/log.h"
#include "services/common/metrics.h"

namespace evc::ocpp {
namespace {

using nlohmann::json;

prometheus::Family<prometheus::Counter>& Messages() {
  static auto& family = prometheus::BuildCounter()
                            .Name("evc_ocpp_messages_total")
                            .Help("OCPP-J messages by direction (in: from chargers), action and result "
                                  "(ok, or the CALLERROR code / timeout)")
                            .Register(metrics::Registry());
  return family;
}

prometheus::Family<prometheus::Histogram>& CallSeconds() {
  static auto& family = prometheus::BuildHistogram()
                            .Name("evc_ocpp_call_seconds")
                            .Help("Round trip of the gateway's CALLs to chargers, by action")
                            .Register(metrics::Registry());
  return family;
}

void Count(const char* direction, const std::string& action, const std::string& result) {
  // Results are OCPP error codes, which a charger may invent: bounded here.
  static const absl::flat_hash_set<std::string>* known = new absl::flat_hash_set<std::string>{
      "ok", "timeout", "invalid", errc::kNotImplemented, errc::kNotSupported, errc::kInternalError,
      errc::kProtocolError, errc::kSecurityError, errc::kFormationViolation,
      errc::kPropertyConstraintViolation, errc::kOccurenceConstraintViolation,
      errc::kTypeConstraintViolation, errc::kGenericError, "closed"};
  Messages()
      .Add({{"direction", direction}, {"action", action}, {"result", known->contains(result) ? result : "other"}})
      .Increment();
}

}  // namespace

std::string ActionLabel(const Schemas& schemas, const std::string& action) {
  return schemas.Knows(action) ? action : "unknown";
}

RpcEndpoint::RpcEndpoint(const Schemas& schemas, RpcHandler& handler, Send send, EndpointOptions options)
    : schemas_(schemas), handler_(handler), send_(std::move(send)), options_(options) {}

RpcEndpoint::~RpcEndpoint() { Close(); }

void RpcEndpoint::OnMessage(std::string_view text, absl::Time now) {
  Decoded decoded = DecodeFrame(text);
  if (!decoded.frame) {
    Count("in", "unknown", decoded.failure.error.code);
    if (decoded.failure.answerable) {
      send_(EncodeCallError(decoded.failure.id, decoded.failure.error));
    } else {
      log::Warn("malformed reply from a charger ignored", {{"error", decoded.failure.error.description}});
    }
    return;
  }
  if (decoded.frame->type == MessageType::kCall) return OnCall(*decoded.frame);
  OnReply(*decoded.frame, now);
}

void RpcEndpoint::OnCall(Frame& frame) {
  const std::string label = ActionLabel(schemas_, frame.action);
  if (std::optional<RpcError> invalid = schemas_.ValidateRequest(frame.action, frame.payload)) {
    Count("in", label, invalid->code);
    send_(EncodeCallError(frame.id, *invalid));
    return;
  }
  // Copies only: a later answer may outlive this endpoint (the schemas are the server's).
  Reply reply = [&schemas = schemas_, send = send_, id = frame.id, action = frame.action,
                 label](Answer answer) { SendAnswer(schemas, send, id, action, label, std::move(answer)); };
  try {
    if (handler_.OnCallLater(frame.action, frame.payload, reply)) return;
    reply(handler_.OnCall(frame.action, frame.payload));
  } catch (const std::exception& e) {
    log::Error("OCPP handler failed", {{"action", frame.action}, {"error", e.what()}});
    if (reply) reply(RpcError{errc::kInternalError, "the gateway could not handle this message; it was logged"});
  }
}

void RpcEndpoint::SendAnswer(const Schemas& schemas, const Send& send, const std::string& id,
                             const std::string& action, const std::string& label, Answer answer) {
  if (RpcError* error = std::get_if<RpcError>(&answer)) {
    Count("in", label, error->code);
    send(EncodeCallError(id, *error));
    return;
  }
  json& payload = std::get<json>(answer);
  // Our own answers are checked too: a non-conforming one is a bug here, and
  // the charger gets an InternalError rather than something it cannot parse.
  if (std::optional<RpcError> bad = schemas.ValidateConfirmation(action, payload)) {
    log::Error("gateway answer does not conform to the schema", {{"action", action}, {"error", bad->description}});
    Count("in", label, errc::kInternalError);
    send(EncodeCallError(id, RpcError{errc::kInternalError, "the gateway could not answer; it was logged"}));
    return;
  }
  Count("in", label, "ok");
  send(EncodeCallResult(id, payload));
}

void RpcEndpoint::OnReply(Frame& frame, absl::Time now) {
  if (!outstanding_ || outstanding_->id != frame.id) {
    // Late (timed out) or unknown: OCPP-J says to ignore it.
    log::Warn("reply to no outstanding CALL ignored", {{"id", frame.id}});
    return;
  }
  if (frame.type == MessageType::kCallError) {
    const std::string code = frame.error.code;
    absl::Status status = code == errc::kNotImplemented || code == errc::kNotSupported
                              ? absl::UnimplementedError(absl::StrCat(code, ": ", frame.error.description))
                              : absl::FailedPreconditionError(absl::StrCat(code, ": ", frame.error.description));
    return Finish(status, code.c_str(), now);
  }
  if (std::optional<RpcError> bad = schemas_.ValidateConfirmation(outstanding_->action, frame.payload)) {
    return Finish(absl::InvalidArgumentError(bad->description), "invalid", now);
  }
  Finish(std::move(frame.payload), "ok", now);
}

absl::Status RpcEndpoint::Call(const std::string& action, json payload, Done done, absl::Time now) {
  if (closed_) return absl::UnavailableError("the charger is not connected");
  if (std::optional<RpcError> bad = schemas_.ValidateRequest(action, payload)) {
    return absl::InvalidArgumentError(bad->description);
  }
  if (queue_.size() >= options_.max_queued_calls) {
    return absl::ResourceExhaustedError(
        absl::StrCat(queue_.size(), " CALLs already wait for this charger: try again later"));
  }
  queue_.push_back(OutgoingCall{action, std::move(payload), std::move(done), "", absl::InfinitePast()});
  if (!outstanding_) SendNext(now);
  return absl::OkStatus();
}

void RpcEndpoint::SendNext(absl::Time now) {
  if (queue_.empty() || closed_) return;
  outstanding_ = std::move(queue_.front());
  queue_.pop_front();
  outstanding_->id = absl::StrCat(next_id_++, "-", crypto::RandomId().substr(0, 8));
  outstanding_->sent_at = now;
  send_(EncodeCall(outstanding_->id, outstanding_->action, outstanding_->payload));
}

void RpcEndpoint::Finish(absl::StatusOr<json> result, const char* outcome, absl::Time now) {
  OutgoingCall call = std::move(*outstanding_);
  outstanding_.reset();
  const std::string label = ActionLabel(schemas_, call.action);
  Count("out", label, outcome);
  if (std::string_view(outcome) != "closed") {
    CallSeconds().Add({{"action", label}}, metrics::LatencyBuckets()).Observe(absl::ToDoubleSeconds(now - call.sent_at));
  }
  if (call.done) call.done(std::move(result));
  SendNext(now);
}

void RpcEndpoint::Tick(absl::Time now) {
  if (outstanding_ && now - outstanding_->sent_at >= options_.call_timeout) {
    Finish(absl::DeadlineExceededError(absl::StrCat("the charger did not answer ", outstanding_->action, " within ",
                                                    absl::FormatDuration(options_.call_timeout))),
           "timeout", now);
  }
}

void RpcEndpoint::Close() {
  if (closed_) return;
  closed_ = true;
  const absl::Time now = absl::Now();
  if (outstanding_) Finish(absl::UnavailableError("the charger disconnected"), "closed", now);
  while (!queue_.empty()) {
    OutgoingCall call = std::move(queue_.front());
    queue_.pop_front();
    Count("out", ActionLabel(schemas_, call.action), "closed");
    if (call.done) call.done(absl::UnavailableError("the charger disconnected"));
  }
}

}  // namespace evc::ocpp
