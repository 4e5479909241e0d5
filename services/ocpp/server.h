#pragma once
// The OCPP-J WebSocket server (Boost.Beast on Asio): chargers connect to
// ws://HOST:PORT/ocpp/{chargePointId} with subprotocol ocpp1.6 and HTTP Basic
// authentication (security profile 1). Asynchronous throughout: a few I/O
// threads serve every connection, each on its own strand.

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/ocpp/endpoint.h"

namespace evc::ocpp {

struct OcppServerConfig {
  std::string listen = "0.0.0.0:9220";
  int io_threads = 2;
  EndpointOptions endpoint;
  // Largest WebSocket message a charger may send.
  size_t max_message_bytes = 64 * 1024;
  // Messages waiting to be written to one charger; a charger that reads no
  // more than this behind is disconnected.
  size_t max_outgoing_messages = 256;
  // A connection must complete its upgrade within this (and its TLS
  // handshake first, over wss).
  absl::Duration handshake_timeout = absl::Seconds(10);
  // PEM certificate chain and key: when set, chargers connect over TLS only
  // (wss://, OCPP security profile 2: TLS 1.2+ and HTTP Basic).
  std::string tls_cert_file;
  std::string tls_key_file;
};

// The server's side of one charger's connection, usable from any thread.
class ChargerLink {
 public:
  virtual ~ChargerLink() = default;
  // A CALL to the charger; `done` runs on the connection's strand (with
  // UNAVAILABLE if the connection is gone).
  virtual void Call(const std::string& action, nlohmann::json payload, RpcEndpoint::Done done) = 0;
  // Ends the connection (WebSocket close with `reason`).
  virtual void Close(const std::string& reason) = 0;
};

// What the gateway does for one connected charger. OnCall runs on the
// connection's strand.
class ChargerSession : public RpcHandler {
 public:
  // After the upgrade; the link lives until Disconnected with the same link
  // (a charger that reconnects may get its new link before the old one ends).
  virtual void Connected(std::shared_ptr<ChargerLink> link) = 0;
  virtual void Disconnected(const ChargerLink& link) = 0;
};

// Decides, before the upgrade, whether a charger may connect.
class ChargerAdmission {
 public:
  virtual ~ChargerAdmission() = default;
  using Done = std::function<void(absl::StatusOr<std::shared_ptr<ChargerSession>>)>;
  // `cp_id` from the path (valid CP id syntax), `password` from Basic auth
  // ("" if the request had none). `done` may run on any thread: a session,
  // or the refusal: UNAUTHENTICATED (401), PERMISSION_DENIED (403),
  // UNAVAILABLE / RESOURCE_EXHAUSTED (503).
  virtual void Admit(const std::string& cp_id, const std::string& password, const std::string& peer,
                     Done done) = 0;
};

class OcppServer {
 public:
  OcppServer(OcppServerConfig config, ChargerAdmission& admission, const Schemas& schemas);
  ~OcppServer();

  // Binds and starts the I/O threads; the port is then known.
  absl::Status Start();
  int port() const;
  // Stops accepting, closes every connection, joins the I/O threads.
  void Stop();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The charger id in a request target "/ocpp/{id}[?query]" (percent-decoded),
// or why it is not one.
absl::StatusOr<std::string> ChargerIdFromTarget(absl::string_view target);
// The password of an "Authorization: Basic ..." header for user `cp_id`.
absl::StatusOr<std::string> BasicPassword(absl::string_view header, const std::string& cp_id);
// Whether a Sec-WebSocket-Protocol header offers ocpp1.6.
bool OffersOcpp16(absl::string_view header);

}  // namespace evc::ocpp
