#pragma once
// The migrations under sql/, embedded into the binaries at build time so a
// service needs no files beside it (containers included).

#include "absl/strings/string_view.h"
#include <vector>

namespace evc {

struct SqlMigration {
  int version;
  absl::string_view name;
  absl::string_view sql;
};

// In version order.
const std::vector<SqlMigration>& EmbeddedMigrations();

}  // namespace evc
