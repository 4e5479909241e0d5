#include "services/weather/provider.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace evc::weather {

std::string City::key() const {
  return absl::StrCat(absl::AsciiStrToLower(absl::StripAsciiWhitespace(name)), "|",
                      absl::AsciiStrToUpper(absl::StripAsciiWhitespace(country)));
}

std::string City::label() const { return absl::StrCat(name, " (", country, ")"); }

City City::Of(const std::string& name, const std::string& country) {
  return {std::string(absl::StripAsciiWhitespace(name)),
          absl::AsciiStrToUpper(absl::StripAsciiWhitespace(country))};
}

absl::Status WeatherProvider::SetOverride(const City&, std::optional<double>) {
  return absl::FailedPreconditionError(absl::StrCat(
      "the ", name(), " provider reads the real weather; temperature overrides need --provider=simulated"));
}

}  // namespace evc::weather
