#include "services/common/secret_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace evc {

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the ", what, " file '", path, "'"));
  std::string secret(absl::StripAsciiWhitespace(text.str()));
  if (secret.empty()) return absl::InvalidArgumentError(absl::StrCat("the ", what, " file '", path, "' is empty"));
  return secret;
}

}  // namespace evc
