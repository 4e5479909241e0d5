#include "services/common/help.h"

#include <algorithm>
#include <set>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/process.h"

namespace evc {
namespace {

constexpr int kWidth = 100;
constexpr absl::string_view kDescriptionIndent = "      ";

bool IsSharedFlagFile(absl::string_view filename) {
  return absl::StrContains(filename, "services/common/");
}

// The project's flags linked into this binary, sorted by name so that the
// output does not depend on hash order.
std::vector<const absl::CommandLineFlag*> ProjectFlags() {
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (IsProjectFlagFile(flag->Filename())) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  return flags;
}

// Word-wraps `text` at kWidth, every line indented.
std::string Wrapped(absl::string_view text) {
  std::string out, line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() && kDescriptionIndent.size() + line.size() + 1 + word.size() > kWidth) {
      absl::StrAppend(&out, kDescriptionIndent, line, "\n");
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", word);
  }
  if (!line.empty()) absl::StrAppend(&out, kDescriptionIndent, line, "\n");
  return out;
}

std::string Entry(const absl::CommandLineFlag& flag) {
  const std::string value = flag.DefaultValue();
  return absl::StrCat("  --", flag.Name(), "=", value.empty() ? "\"\"" : value, "   (",
                      EnvNameForFlag(flag.Name()), ")\n", Wrapped(flag.Help()));
}

std::string Section(absl::string_view heading, bool shared) {
  std::string entries;
  for (const auto* flag : ProjectFlags()) {
    if (IsSharedFlagFile(flag->Filename()) == shared) absl::StrAppend(&entries, Entry(*flag));
  }
  return entries.empty() ? "" : absl::StrCat("\n", heading, "\n", entries);
}

}  // namespace

bool IsProjectFlagFile(absl::string_view filename) {
  return absl::StrContains(filename, "services/") || absl::StrContains(filename, "tests/");
}

bool AsksForHelp(int argc, char** argv) {
  static const std::set<absl::string_view> kHelpFlags = {"--help", "-help", "-h", "--helpshort",
                                                         "-helpshort"};
  for (int i = 1; i < argc; ++i) {
    if (absl::string_view(argv[i]) == "--") return false;
    if (kHelpFlags.count(argv[i]) > 0) return true;
  }
  return false;
}

std::string HelpText(absl::string_view about) {
  return absl::StrCat(
      about, absl::EndsWith(about, "\n") ? "" : "\n",
      Section("Flags (each also read from the environment variable in brackets; the command line "
              "wins):",
              false),
      Section("Common flags (other evc binaries take them too; environment variable in "
              "brackets):",
              true),
      "\n--helpfull also lists Abseil's own flags (--flagfile, --fromenv, ...).\n");
}

std::string FlagEntries(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag != nullptr && IsProjectFlagFile(flag->Filename())) absl::StrAppend(&out, Entry(*flag));
  }
  return out;
}

}  // namespace evc
