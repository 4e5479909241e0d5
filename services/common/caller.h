#pragma once
// Who is calling, as one value for every service and for central's state
// machine. Entry points (gRPC handlers, Kafka consumers) verify what the call
// carries (a bearer token, a service credential, a CP's sealed envelope) and
// hand the logic a Caller; nothing past the entry point sees a token.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/tokens.h"

namespace evc {

struct Caller {
  enum class Kind {
    kAnonymous,      // no credentials: public data only
    kDriver,         // a driver's access token
    kOperator,       // an operator's access token
    kChargingPoint,  // a CP, by its token or its sealed messages
    kService,        // a peer service, by certificate or service credential
    kSystem,         // the service itself (timers, start-up, weather rules)
  };

  Kind kind = Kind::kAnonymous;
  // The username, CP id, service name or, for kSystem, what acts ("central").
  std::string name;
  // Where the call came from (peer address, "kafka", "startup"), for the audit trail.
  std::string source;
  // Drivers and operators: the login session their token belongs to.
  std::string session_id;
  // When the credential the caller presented expires (a token's expiry).
  absl::Time expires_at = absl::InfiniteFuture();

  static Caller Anonymous(std::string source = "");
  static Caller Driver(std::string username, std::string source = "", std::string session_id = "");
  static Caller Operator(std::string username, std::string source = "",
                         std::string session_id = "");
  static Caller ChargingPoint(std::string cp_id, std::string source = "");
  static Caller Service(std::string name, std::string source = "");
  static Caller System(std::string name, std::string source = "");

  bool is_anonymous() const { return kind == Kind::kAnonymous; }
  bool is_driver() const { return kind == Kind::kDriver; }
  bool is_operator() const { return kind == Kind::kOperator; }
  // A person with an account (driver or operator).
  bool is_account() const { return is_driver() || is_operator(); }
  // The account's role as tokens name it (kRoleDriver, kRoleOperator), "" otherwise.
  std::string role() const;
  // How the audit trail names the caller: the username, "cp:<id>" for a CP,
  // the service's name otherwise; "" when anonymous.
  std::string AuditName() const;
  // For messages: "driver 'ana'", "operator 'olga'", "CP 'CP-1'", "anonymous caller".
  std::string Describe() const;
};

// The caller a verified token names (UNAUTHENTICATED for an unknown role).
absl::StatusOr<Caller> CallerFromClaims(const Claims& claims, std::string source);

}  // namespace evc
