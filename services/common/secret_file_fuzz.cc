// Secret files (CP secrets, passwords, credentials) are written by people: any bytes
// in them must give the secret or a clear error.

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "services/common/secret_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An in-memory file: the real reading path, no disk.
  static const int fd = memfd_create("secret", 0);
  if (fd < 0) return 0;
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return 0;
  absl::StatusOr<std::string> secret =
      evc::ReadSecretFile("/proc/self/fd/" + std::to_string(fd), "fuzzed secret");
  if (secret.ok() && secret->empty()) __builtin_trap();  // an empty secret must be an error
  return 0;
}
