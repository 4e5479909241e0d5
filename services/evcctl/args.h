#pragma once
// How evcctl reads its positional arguments.

#include <string>
#include <utility>
#include <vector>

namespace evc::evcctl {

// "weather set Oslo -8": a negative number is a value, not a flag. Such
// arguments move behind a "--" (positional arguments keep their order).
std::vector<char*> NegativeNumbersAsArguments(int argc, char** argv);

// "Alicante" -> {"Alicante", ""}; "Alicante,ES" -> {"Alicante", "ES"}.
std::pair<std::string, std::string> CityArg(const std::string& arg);

}  // namespace evc::evcctl
