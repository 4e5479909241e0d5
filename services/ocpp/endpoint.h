#pragma once
// One OCPP-J connection's RPC state, independent of the transport: incoming
// CALLs validated against the schemas and handed to a handler, whose answer
// (or the CALLERROR the spec names) goes back with the CALL's id; outgoing
// CALLs one at a time (OCPP-J 1.6 section 4.1.1), the rest queued (bounded),
// each with a timeout. Not thread-safe: the server drives each endpoint from
// its connection's strand.

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/ocpp/rpc.h"
#include "services/ocpp/schemas.h"

namespace evc::ocpp {

// A CALLRESULT payload, or the CALLERROR to answer with.
using Answer = std::variant<nlohmann::json, RpcError>;
// Answers one CALL later: call it once, from any thread.
using Reply = std::function<void(Answer answer)>;

class RpcHandler {
 public:
  virtual ~RpcHandler() = default;
  // A CALL from the charger whose payload conforms to its schema: the
  // CALLRESULT payload, or the CALLERROR to answer.
  virtual Answer OnCall(const std::string& action, const nlohmann::json& payload) = 0;
  // Asked first: true when the handler answers this CALL later through
  // `reply` (it waits for a peer; it must answer in the charger's time),
  // false to have OnCall answer it now.
  virtual bool OnCallLater(const std::string& action, const nlohmann::json& payload, Reply& reply) {
    return false;
  }
};

struct EndpointOptions {
  // How long the charger has to answer a CALL.
  absl::Duration call_timeout = absl::Seconds(30);
  // CALLs waiting behind the outstanding one; more are refused.
  size_t max_queued_calls = 16;
};

class RpcEndpoint {
 public:
  // Called from any thread when a handler answers later.
  using Send = std::function<void(std::string text)>;
  // The charger's CALLRESULT payload (conforming to <action>.conf), or why
  // there is none: its CALLERROR (FAILED_PRECONDITION / UNIMPLEMENTED with its
  // code and description), a timeout (DEADLINE_EXCEEDED), a non-conforming
  // answer (INVALID_ARGUMENT) or the connection's end (UNAVAILABLE).
  using Done = std::function<void(absl::StatusOr<nlohmann::json> result)>;

  RpcEndpoint(const Schemas& schemas, RpcHandler& handler, Send send, EndpointOptions options = {});
  ~RpcEndpoint();

  // One text message from the charger.
  void OnMessage(std::string_view text, absl::Time now);
  // Sends (or queues) a CALL to the charger. RESOURCE_EXHAUSTED when the
  // queue is full, INVALID_ARGUMENT when `payload` does not conform (a bug
  // here, never sent), UNAVAILABLE after Close.
  absl::Status Call(const std::string& action, nlohmann::json payload, Done done, absl::Time now);
  // Times out the outstanding CALL.
  void Tick(absl::Time now);
  // The connection ended: every pending CALL fails with UNAVAILABLE.
  void Close();

  size_t queued_calls() const { return queue_.size(); }

 private:
  struct OutgoingCall {
    std::string action;
    nlohmann::json payload;
    Done done;
    std::string id;
    absl::Time sent_at;
  };

  void OnCall(Frame& frame);
  static void SendAnswer(const Schemas& schemas, const Send& send, const std::string& id,
                         const std::string& action, const std::string& label, Answer answer);
  void OnReply(Frame& frame, absl::Time now);
  void SendNext(absl::Time now);
  void Finish(absl::StatusOr<nlohmann::json> result, const char* outcome, absl::Time now);

  const Schemas& schemas_;
  RpcHandler& handler_;
  Send send_;
  const EndpointOptions options_;
  std::optional<OutgoingCall> outstanding_;
  std::deque<OutgoingCall> queue_;
  uint64_t next_id_ = 1;
  bool closed_ = false;
};

// The bounded label an action gets in metrics: itself if OCPP 1.6 defines it.
std::string ActionLabel(const Schemas& schemas, const std::string& action);

}  // namespace evc::ocpp
