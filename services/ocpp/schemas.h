#pragma once
// Validation of OCPP 1.6J payloads against the official JSON schemas
// (schemas/ocpp1_6.json, embedded at build time) with valijson, a JSON Schema
// draft-07 validator packaged by Debian. A payload that does not conform gets
// the CALLERROR code OCPP-J 1.6 section 4.2.3 names for the violation.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "services/ocpp/rpc.h"

namespace valijson {
class Schema;
}

namespace evc::ocpp {

// The text of schemas/ocpp1_6.json.
std::string_view EmbeddedOcpp16Schemas();

class Schemas {
 public:
  // Parses a JSON array of draft-07 schemas with "$id": "urn:<Action>.req|conf".
  static absl::StatusOr<std::unique_ptr<Schemas>> Parse(std::string_view text);
  // The embedded OCPP 1.6J set, parsed once.
  static const Schemas& Ocpp16();

  ~Schemas();

  // Whether OCPP 1.6J defines `action` (a request schema exists).
  bool Knows(const std::string& action) const;
  // nullopt when `payload` conforms to <action>.req (resp. .conf); otherwise the
  // CALLERROR to answer. An action without a schema is NotImplemented.
  std::optional<RpcError> ValidateRequest(const std::string& action, const nlohmann::json& payload) const;
  std::optional<RpcError> ValidateConfirmation(const std::string& action, const nlohmann::json& payload) const;

 private:
  Schemas() = default;
  std::optional<RpcError> Validate(const std::map<std::string, std::unique_ptr<valijson::Schema>>& set,
                                   const std::string& action, const nlohmann::json& payload,
                                   const char* kind) const;

  std::map<std::string, std::unique_ptr<valijson::Schema>> requests_;
  std::map<std::string, std::unique_ptr<valijson::Schema>> confirmations_;
};

}  // namespace evc::ocpp
