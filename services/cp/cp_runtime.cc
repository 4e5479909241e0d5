#include "services/cp/cp_runtime.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/grpc_server.h"
#include "services/common/grpc_util.h"
#include "services/common/log.h"
#include "services/common/service_main.h"

namespace evc::cp {

void RouteCommands(std::span<const KafkaMessage> batch,
                   const std::function<Engine*(const std::string&)>& engine_for,
                   KafkaProducer& dead_letters) {
  const absl::Time now = absl::Now();
  for (const KafkaMessage& m : batch) {
    Engine* engine = engine_for(m.key);
    if (engine == nullptr) continue;  // another CP's command
    absl::Status s = engine->OnSealedCommand(m.payload, now);
    if (!s.ok()) {
      log::Warn("engine command refused", {{"cp_id", m.key}, {"error", s.ToString()}});
      DeadLetter(dead_letters, m, std::string(s.message()));
    }
  }
}

std::unique_ptr<KafkaConsumer> ConsumeEngineCommands(
    const std::string& brokers, const std::string& group, const std::string& client_id,
    std::function<Engine*(const std::string& cp_id)> engine_for, KafkaProducer& dead_letters) {
  return StartConsuming({.brokers = brokers,
                         .group_id = group,
                         .client_id = client_id,
                         .topics = {topics::kEngineCommands},
                         .auto_offset_reset = "earliest"},
                        "cannot consume engine commands (--kafka)",
                        [engine_for = std::move(engine_for),
                         &dead_letters](std::span<const KafkaMessage> batch) {
                          RouteCommands(batch, engine_for, dead_letters);
                        });
}

grpc::ServerUnaryReactor* EngineGrpc::Activate(grpc::CallbackServerContext* c,
                                               const cp::v1::ActivateRequest* req,
                                               cp::v1::ActivateResponse*) {
  grpc::ServerUnaryReactor* reactor = c->DefaultReactor();
  if (req->cp_id().empty() || req->key().size() != 32) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "activation needs the cp_id and its 32-byte key"));
    return reactor;
  }
  reactor->Finish(ToGrpcStatus(engine_.Activate(*req)));
  return reactor;
}

grpc::ServerUnaryReactor* EngineGrpc::Check(grpc::CallbackServerContext* c,
                                            const cp::v1::CheckRequest*,
                                            cp::v1::CheckResponse* resp) {
  *resp = engine_.Check();
  grpc::ServerUnaryReactor* reactor = c->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

GrpcEngineProbe::GrpcEngineProbe(const std::string& target)
    : stub_(cp::v1::EngineService::NewStub(MakeChannel(target))) {}

absl::Status GrpcEngineProbe::Activate(const cp::v1::ActivateRequest& request) {
  return CallUnary(&cp::v1::EngineService::Stub::Activate, *stub_, request, absl::Milliseconds(500))
      .status();
}

absl::StatusOr<cp::v1::CheckResponse> GrpcEngineProbe::Check() {
  // Half the health period: a hung engine counts as a fault, not a delay.
  return CallUnary(&cp::v1::EngineService::Stub::Check, *stub_, cp::v1::CheckRequest(),
                   absl::Milliseconds(500));
}

}  // namespace evc::cp
