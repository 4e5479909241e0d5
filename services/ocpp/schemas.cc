#include "services/ocpp/schemas.h"

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/log.h"

namespace evc::ocpp {
namespace {

using nlohmann::json;

// OCPP-J 1.6 section 4.2.3 by the kind of violation valijson reports (its
// messages name the keyword that failed): a wrong JSON type is a
// TypeConstraintViolation, a missing or surplus occurrence an
// OccurenceConstraintViolation, any other bad value a PropertyConstraintViolation.
int Rank(const std::string& code) {
  if (code == errc::kTypeConstraintViolation) return 3;
  if (code == errc::kOccurenceConstraintViolation) return 2;
  return 1;
}

const char* CodeFor(const std::string& description) {
  if (absl::StartsWith(description, "Value type not permitted")) return errc::kTypeConstraintViolation;
  if (absl::StartsWith(description, "Missing required property") ||
      absl::StartsWith(description, "Array should contain no") ||
      absl::StartsWith(description, "Object should have no")) {
    return errc::kOccurenceConstraintViolation;
  }
  return errc::kPropertyConstraintViolation;
}

// Wrappers valijson adds above the failure that explains them.
bool IsWrapper(const std::string& description) {
  return absl::StartsWith(description, "Failed to validate against schema associated with property") ||
         absl::StartsWith(description, "Failed to validate item #") ||
         absl::StartsWith(description, "Failed to validate against child schema");
}

std::string Where(const std::vector<std::string>& context) {
  // context[0] is "<root>"; the rest is the path to the failing value.
  std::string path;
  for (size_t i = 1; i < context.size(); ++i) path += context[i];
  return path.empty() ? "payload" : path;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Schemas>> Schemas::Parse(std::string_view text) {
  json all = json::parse(text.begin(), text.end(), nullptr, false);
  if (all.is_discarded() || !all.is_array()) return absl::InvalidArgumentError("OCPP schemas: not a JSON array");
  std::unique_ptr<Schemas> schemas(new Schemas());
  for (const json& doc : all) {
    if (!doc.is_object() || !doc.contains("$id") || !doc["$id"].is_string()) {
      return absl::InvalidArgumentError("OCPP schemas: every schema needs a string $id");
    }
    std::string id = doc["$id"].get<std::string>();
    if (!absl::StartsWith(id, "urn:")) return absl::InvalidArgumentError(absl::StrCat("OCPP schema ", id, ": $id must start urn:"));
    id = id.substr(4);
    auto* set = absl::EndsWith(id, ".req") ? &schemas->requests_
                : absl::EndsWith(id, ".conf") ? &schemas->confirmations_ : nullptr;
    if (set == nullptr) return absl::InvalidArgumentError(absl::StrCat("OCPP schema ", id, ": not .req nor .conf"));
    const std::string action = id.substr(0, id.rfind('.'));
    auto schema = std::make_unique<valijson::Schema>();
    try {
      valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
      valijson::adapters::NlohmannJsonAdapter adapter(doc);
      parser.populateSchema(adapter, *schema);
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat("OCPP schema ", id, ": ", e.what()));
    }
    (*set)[action] = std::move(schema);
  }
  if (schemas->requests_.empty()) return absl::InvalidArgumentError("OCPP schemas: none found");
  return schemas;
}

const Schemas& Schemas::Ocpp16() {
  static const Schemas* schemas = [] {
    absl::StatusOr<std::unique_ptr<Schemas>> parsed = Parse(EmbeddedOcpp16Schemas());
    if (!parsed.ok()) {
      // The file is part of the build: this is a build defect, not bad input.
      log::Error("embedded OCPP 1.6 schemas do not parse", {{"error", parsed.status().ToString()}});
      std::abort();
    }
    return parsed->release();
  }();
  return *schemas;
}

Schemas::~Schemas() = default;

bool Schemas::Knows(const std::string& action) const { return requests_.contains(action); }

std::optional<RpcError> Schemas::ValidateRequest(const std::string& action, const json& payload) const {
  return Validate(requests_, action, payload, "req");
}

std::optional<RpcError> Schemas::ValidateConfirmation(const std::string& action, const json& payload) const {
  return Validate(confirmations_, action, payload, "conf");
}

std::optional<RpcError> Schemas::Validate(const std::map<std::string, std::unique_ptr<valijson::Schema>>& set,
                                          const std::string& action, const json& payload,
                                          const char* kind) const {
  auto it = set.find(action);
  if (it == set.end()) {
    return RpcError{errc::kNotImplemented, absl::StrCat("OCPP 1.6 has no action '", action, "'")};
  }
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter(payload);
  bool ok;
  try {
    ok = validator.validate(*it->second, adapter, &results);
  } catch (const std::exception& e) {
    return RpcError{errc::kFormationViolation, absl::StrCat(action, ".", kind, ": cannot be validated: ", e.what())};
  }
  if (ok) return std::nullopt;
  std::string code = errc::kPropertyConstraintViolation;
  std::vector<std::string> reasons;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    if (IsWrapper(error.description)) continue;
    const char* c = CodeFor(error.description);
    if (reasons.empty() || Rank(c) > Rank(code)) code = c;
    if (reasons.size() < 4) reasons.push_back(absl::StrCat(Where(error.context), ": ", error.description));
  }
  if (reasons.empty()) reasons.push_back("payload does not conform");
  RpcError rpc{code, absl::StrCat(action, ".", kind, " does not conform to the OCPP 1.6 schema: ",
                                  absl::StrJoin(reasons, "; "))};
  return rpc;
}

}  // namespace evc::ocpp
