#pragma once
// What acts for a charging point towards the network, whatever the CP is: a
// simulated engine (evc-cp-engine, evc-cp-fleet) or a real charger behind the
// OCPP gateway (evc-ocpp). The library evc_cp_agent holds it with the monitor
// (monitor.h) and the sealing of engine traffic (engine_channel.h), so the
// gateway links it without the simulators.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "evc/auth/v1/auth.grpc.pb.h"
#include "evc/events/v1/events.pb.h"
#include "services/common/kafka.h"
#include "services/cp/monitor.h"

namespace evc::cp {

class EngineOutput {
 public:
  virtual ~EngineOutput() = default;
  // `sealed` is `event` as it travels: encrypted under the CP's key.
  virtual void Send(const events::v1::EngineEvent& event,
                    const events::v1::SealedEnvelope& sealed) = 0;
  // A line for the person at the CP's console.
  virtual void Say(const std::string& cp_id, const std::string& line) = 0;
};

class KafkaEngineOutput : public EngineOutput {
 public:
  // `console`: print Say() lines on stdout (interactive engines).
  KafkaEngineOutput(KafkaProducer& producer, bool console) : producer_(producer), console_(console) {}
  void Send(const events::v1::EngineEvent& event, const events::v1::SealedEnvelope& sealed) override;
  void Say(const std::string& cp_id, const std::string& line) override;

 private:
  KafkaProducer& producer_;
  bool console_;
};

class GrpcAuthenticator : public Authenticator {
 public:
  explicit GrpcAuthenticator(const std::string& target);
  absl::StatusOr<auth::v1::AuthenticateChargingPointResponse> Authenticate(
      const std::string& cp_id, const std::string& secret) override;

 private:
  std::unique_ptr<auth::v1::AuthService::Stub> stub_;
};

}  // namespace evc::cp
