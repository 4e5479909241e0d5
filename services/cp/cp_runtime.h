#pragma once
// What the CP binaries share beyond the agent (agent.h): the command router
// from Kafka to engines, the engine's gRPC service, and the monitor's view of
// an engine. Used alike by evc-cp-engine, evc-cp-monitor and evc-cp-fleet.

#include <functional>
#include <memory>
#include <span>

#include "evc/auth/v1/auth.grpc.pb.h"
#include "evc/cp/v1/engine.grpc.pb.h"
#include "services/common/kafka.h"
#include "services/cp/agent.h"
#include "services/cp/engine.h"
#include "services/cp/monitor.h"

namespace evc::cp {

// Hands each sealed engine command to the engine of its CP (nullptr if none
// here), which opens it; what does not open goes to the dead-letter topic.
void RouteCommands(std::span<const KafkaMessage> batch,
                   const std::function<Engine*(const std::string& cp_id)>& engine_for,
                   KafkaProducer& dead_letters);

// Consumes evc.engine-commands at `brokers` as consumer group `group` (a new
// group from the earliest offset) and routes each batch with RouteCommands.
// Exits the process if no consumer can be created.
std::unique_ptr<KafkaConsumer> ConsumeEngineCommands(
    const std::string& brokers, const std::string& group, const std::string& client_id,
    std::function<Engine*(const std::string& cp_id)> engine_for, KafkaProducer& dead_letters);

class EngineGrpc : public cp::v1::EngineService::CallbackService {
 public:
  explicit EngineGrpc(Engine& engine) : engine_(engine) {}
  grpc::ServerUnaryReactor* Activate(grpc::CallbackServerContext* c,
                                     const cp::v1::ActivateRequest* req,
                                     cp::v1::ActivateResponse* resp) override;
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* c, const cp::v1::CheckRequest* req,
                                  cp::v1::CheckResponse* resp) override;

 private:
  Engine& engine_;
};

// The monitor's view of a separate engine process.
class GrpcEngineProbe : public EngineProbe {
 public:
  explicit GrpcEngineProbe(const std::string& target);
  absl::Status Activate(const cp::v1::ActivateRequest& request) override;
  absl::StatusOr<cp::v1::CheckResponse> Check() override;

 private:
  std::unique_ptr<cp::v1::EngineService::Stub> stub_;
};

// The fleet's view of an engine in the same process.
class LocalEngineProbe : public EngineProbe {
 public:
  explicit LocalEngineProbe(Engine& engine) : engine_(engine) {}
  absl::Status Activate(const cp::v1::ActivateRequest& request) override {
    return engine_.Activate(request);
  }
  absl::StatusOr<cp::v1::CheckResponse> Check() override { return engine_.Check(); }

 private:
  Engine& engine_;
};

}  // namespace evc::cp
