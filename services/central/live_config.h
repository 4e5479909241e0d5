#pragma once
// Central's live settings (proto/evc/central/v1/config.proto): the state
// machine's NetworkConfig as the operator's CentralConfig and back, a partial
// update and the bounds each setting must keep. ChargingNetwork::Reconfigure
// puts in force what passes here.

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "evc/central/v1/config.pb.h"
#include "services/central/network.h"

namespace evc::central {

// Every setting of `config` (without updated_at/updated_by).
v1::CentralConfig ConfigProto(const NetworkConfig& config);

// `base` with the settings of `update` that `paths` name (field names, snake
// or lowerCamel case; when empty, the settings `update` gives a value).
// INVALID_ARGUMENT naming an unknown setting, and naming every changed
// setting that is out of its bounds or breaks a rule between settings (the
// link timeout must cover three health intervals). Settings left unchanged
// are not judged: the deployer's flags may hold values an operator could not
// set.
absl::StatusOr<NetworkConfig> MergeConfig(const NetworkConfig& base, const v1::CentralConfig& update,
                                          const std::vector<std::string>& paths);

// A stored configuration over `base`: every setting it holds, as long as each
// is positive (DATA_LOSS otherwise, and nothing is taken).
absl::StatusOr<NetworkConfig> RestoreConfig(const NetworkConfig& base, const v1::CentralConfig& stored);

// What changed, setting by setting ("5s -> 2s"), for the audit trail.
std::map<std::string, std::string> ConfigChanges(const NetworkConfig& before,
                                                 const NetworkConfig& after);

}  // namespace evc::central
