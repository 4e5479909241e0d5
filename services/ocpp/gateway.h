#pragma once
// The gateway: admits chargers (OCPP security profile 1: the CP id and the
// secret the registry issued, checked by auth, which audits refusals), keeps
// one OcppCharger per admitted CP and, while it is connected, the CP's
// cp::Monitor (the same class the simulated CPs use: authentication, link to
// central, health every second), and routes central's sealed engine commands
// to the right charger.

#include <memory>
#include <span>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "evc/central/v1/central.grpc.pb.h"
#include "services/common/kafka.h"
#include "services/common/worker_pool.h"
#include "services/cp/monitor.h"
#include "services/ocpp/charger.h"
#include "services/ocpp/server.h"

namespace evc::ocpp {

struct GatewayOptions {
  ChargerOptions charger;
  // Threads for the blocking authentication calls, and admissions waiting for them.
  int auth_threads = 2;
  size_t max_pending_admissions = 256;
};

class Gateway : public ChargerAdmission {
 public:
  // Longer than any upgrade may take after its admission.
  static constexpr absl::Duration kAdmissionGrace = absl::Seconds(30);

  Gateway(GatewayOptions options, cp::Authenticator& auth, central::v1::CentralService::StubInterface& central,
          cp::EngineOutput& out);
  ~Gateway() override;

  // Until the engine-command consumer has its partitions, chargers are
  // refused with 503 (central's commands could not reach them).
  void SetCommandChannelReady();

  void Admit(const std::string& cp_id, const std::string& password, const std::string& peer, Done done) override;

  // Each sealed command to its charger here (others are another gateway's);
  // what does not open goes to the dead-letter topic.
  void RouteCommands(std::span<const KafkaMessage> batch, KafkaProducer& dead_letters);

  // Tick is called kTickSlices times a second. Each call ticks one slice of
  // the connected chargers and their monitors (a monitor also on the tick
  // that creates it), so each ticks once a second. Spreading them over the
  // second matters: 5,000 health reports sent in one burst hold up every
  // CALL answered behind them, here and at central.
  static constexpr int kTickSlices = 10;
  static constexpr absl::Duration kTickPeriod = absl::Milliseconds(1000 / kTickSlices);

  // A charger that left loses its monitor (central then sees its link end),
  // and is forgotten once no supply is authorised or running on it (one
  // admitted but not connected yet, after kAdmissionGrace).
  void Tick(absl::Time now);
  // Ends every monitor's link.
  void Shutdown();

  size_t chargers() const;

 private:
  struct Entry {
    std::shared_ptr<OcppCharger> charger;
    std::string secret;
    std::shared_ptr<cp::Monitor> monitor;
    // Its connection completes the upgrade after the admission: until then
    // (within the server's handshake timeout) the charger is not connected
    // yet, and must not be forgotten for it.
    absl::Time admitted_at;
    // Which of the kTickSlices ticks of a second is its turn.
    int slice = 0;
  };

  std::shared_ptr<OcppCharger> Find(const std::string& cp_id) const;

  const GatewayOptions options_;
  cp::Authenticator& auth_;
  central::v1::CentralService::StubInterface& central_;
  cp::EngineOutput& out_;
  WorkerPool pool_;
  mutable absl::Mutex mu_;
  bool ready_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, Entry> chargers_ ABSL_GUARDED_BY(mu_);
  int64_t ticks_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t admissions_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace evc::ocpp
