#pragma once
// Secrets (CP secrets, passwords) handed over in files rather than on command
// lines, where `ps` would show them.

#include <string>

#include "absl/status/statusor.h"

namespace evc {

// The file's content without surrounding whitespace. NOT_FOUND if it cannot
// be read, INVALID_ARGUMENT if it holds nothing; `what` names it in the error.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, const std::string& what = "secret");

}  // namespace evc
