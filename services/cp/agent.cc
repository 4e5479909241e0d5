#include "services/cp/agent.h"

#include <cstdio>

#include "services/common/grpc_util.h"
#include "services/common/log.h"

namespace evc::cp {

void KafkaEngineOutput::Send(const events::v1::EngineEvent& event,
                             const events::v1::SealedEnvelope& sealed) {
  absl::Status s = producer_.Produce(topics::kEngineEvents, event.cp_id(), sealed);
  if (!s.ok()) log::Error("engine event not sent", {{"cp_id", event.cp_id()}, {"error", s.ToString()}});
}

void KafkaEngineOutput::Say(const std::string& cp_id, const std::string& line) {
  if (console_) {
    std::printf("[%s] %s\n", cp_id.empty() ? "engine" : cp_id.c_str(), line.c_str());
    std::fflush(stdout);
  }
  log::Info(line, {{"cp_id", cp_id}});
}

GrpcAuthenticator::GrpcAuthenticator(const std::string& target)
    : stub_(auth::v1::AuthService::NewStub(MakeChannel(target))) {}

absl::StatusOr<auth::v1::AuthenticateChargingPointResponse> GrpcAuthenticator::Authenticate(
    const std::string& cp_id, const std::string& secret) {
  auth::v1::AuthenticateChargingPointRequest request;
  request.set_cp_id(cp_id);
  request.set_secret(secret);
  return CallUnary(&auth::v1::AuthService::Stub::AuthenticateChargingPoint, *stub_, request,
                   absl::Seconds(5));
}

}  // namespace evc::cp
