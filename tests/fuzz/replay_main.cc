// The fuzz targets' main in an ordinary build: runs LLVMFuzzerTestOneInput once on every
// file named (directories: every file in them), so seeds and past crashes are
// regression tests wherever libFuzzer is not available.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void RunOne(const std::filesystem::path& path, int& count) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  ++count;
}

}  // namespace

int main(int argc, char** argv) {
  int count = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (!arg.empty() && arg[0] == '-') continue;  // libFuzzer flags mean nothing here
    std::filesystem::path path(arg);
    if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) {
        if (entry.is_regular_file()) RunOne(entry.path(), count);
      }
    } else if (std::filesystem::is_regular_file(path)) {
      RunOne(path, count);
    }
  }
  std::printf("replayed %d inputs without a crash\n", count);
  return count > 0 ? 0 : 1;
}
