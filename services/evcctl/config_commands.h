#pragma once
// evcctl's command on central's live settings (issue 20): `config` shows
// them, `config NAME=VALUE ...` changes them without a restart (durations as
// 5s, 250ms, 2m; energy in Wh). Operators only.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "evc/central/v1/config.pb.h"
#include "services/evcctl/context.h"

namespace evc::evcctl {

// Adds one NAME=VALUE change to `request` (its value and its mask path).
// INVALID_ARGUMENT naming the settings when NAME is not one, or VALUE does
// not parse.
absl::Status AddCentralConfigChange(const std::string& change,
                                    central::v1::UpdateCentralConfigRequest& request);

int CentralConfigCommand(Context& context, const std::vector<std::string>& args);

}  // namespace evc::evcctl
