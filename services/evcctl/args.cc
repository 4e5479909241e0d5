#include "services/evcctl/args.h"

#include <string_view>

#include "absl/strings/numbers.h"

namespace evc::evcctl {

std::vector<char*> NegativeNumbersAsArguments(int argc, char** argv) {
  std::vector<char*> flags_and_words, numbers;
  for (int i = 0; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") return std::vector<char*>(argv, argv + argc);
    double ignored;
    const bool negative_number = i > 0 && argv[i][0] == '-' && absl::SimpleAtod(argv[i], &ignored);
    (negative_number ? numbers : flags_and_words).push_back(argv[i]);
  }
  if (numbers.empty()) return flags_and_words;
  static char separator[] = "--";
  flags_and_words.push_back(separator);
  flags_and_words.insert(flags_and_words.end(), numbers.begin(), numbers.end());
  return flags_and_words;
}

std::pair<std::string, std::string> CityArg(const std::string& arg) {
  const size_t comma = arg.rfind(',');
  if (comma == std::string::npos) return {arg, ""};
  return {arg.substr(0, comma), arg.substr(comma + 1)};
}

}  // namespace evc::evcctl
