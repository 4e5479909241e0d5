// The file of CP ids is written by people: any bytes in it must give valid CP ids
// (or none), never a crash or an id central would refuse as malformed.

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "services/common/validation.h"
#include "services/driver/requests_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An in-memory file: the real reading path, no disk.
  static const int fd = memfd_create("requests", 0);
  static std::FILE* const warnings = std::fopen("/dev/null", "w");
  if (fd < 0 || warnings == nullptr) return 0;
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return 0;
  absl::StatusOr<std::vector<std::string>> ids =
      evc::driver::ReadRequests("/proc/self/fd/" + std::to_string(fd), warnings);
  if (!ids.ok()) __builtin_trap();  // a readable file is never an error
  for (const std::string& id : *ids) {
    if (!evc::ValidateCpId(id).ok()) __builtin_trap();
  }
  return 0;
}
