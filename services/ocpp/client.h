#pragma once
// The charger's side of OCPP-J 1.6: a WebSocket client of a central system
// (ws://HOST:PORT/PATH/{chargePointId}, subprotocol ocpp1.6, HTTP Basic: OCPP
// security profile 1), the same RpcEndpoint as the gateway's for framing,
// schemas and one outstanding CALL per direction. Many connections share a
// few I/O threads (no thread per charger); each runs on its own strand.
// evc-cp-fleet drives its simulated chargers through it, so load tests go
// through the gateway exactly as real chargers do.

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/ocpp/endpoint.h"

namespace evc::ocpp {

// Where chargers connect: "ws://HOST:PORT/PATH" (the charger id is appended).
struct CentralSystemUrl {
  std::string host;
  std::string port;
  std::string path;  // without a trailing '/'
};
absl::StatusOr<CentralSystemUrl> ParseCentralSystemUrl(const std::string& url);

// What the charger does with its connection; every call runs on the
// connection's strand, never inside ClientLink::Call.
class ChargePointHandler : public RpcHandler {
 public:
  // The WebSocket is open and ocpp1.6 was agreed.
  virtual void Opened() = 0;
  // The connection could not be made, or ended; `why` says which. Once.
  virtual void Closed(const absl::Status& why) = 0;
};

// One charger's connection, usable from any thread.
class ClientLink {
 public:
  virtual ~ClientLink() = default;
  // A CALL to the central system; `done` runs on the connection's strand,
  // always later (UNAVAILABLE when the connection is not open).
  virtual void Call(const std::string& action, nlohmann::json payload, RpcEndpoint::Done done) = 0;
  // Ends the connection (a WebSocket close); the handler then gets Closed.
  virtual void Close() = 0;
};

struct ClientOptions {
  EndpointOptions endpoint;
  // TCP connect plus the upgrade.
  absl::Duration connect_timeout = absl::Seconds(10);
  size_t max_message_bytes = 64 * 1024;
};

class OcppClientPool {
 public:
  OcppClientPool(int io_threads, const Schemas& schemas, ClientOptions options = {});
  // Stops: every connection is torn down (handlers get Closed first if open).
  ~OcppClientPool();

  // Connects `cp_id` with `password` to `url`; the handler (which must
  // outlive the connection, i.e. until Closed) learns how it went.
  std::shared_ptr<ClientLink> Connect(const CentralSystemUrl& url, const std::string& cp_id,
                                      const std::string& password, ChargePointHandler& handler);

  void Stop();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace evc::ocpp
