// README's "Binaries, flags and ports" table against what each binary's --help
// prints (issue 22): a flag added to a binary without a README row entry, or
// a README entry for a flag that is gone, fails here naming both.
//
// Reads README.md from EVC_SOURCE_DIR and runs the binaries in EVC_BIN_DIR.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using ::testing::HasSubstr;

// ctest sets EVC_BIN_DIR and EVC_SOURCE_DIR; run by hand, the build's own.
std::string Env(const char* name) {
  const char* value = std::getenv(name);
  if (value != nullptr) return value;
  return std::string(name) == "EVC_BIN_DIR" ? EVC_DEFAULT_BIN_DIR : EVC_DEFAULT_SOURCE_DIR;
}

// What README says about the binaries.
struct ReadmeBinaries {
  std::map<std::string, std::set<std::string>> flags;     // binary -> flags in its row
  std::map<std::string, std::set<std::string>> commands;  // binary -> commands in its row
  std::set<std::string> section_flags;  // flags named in the section's text, outside the table
};

std::set<std::string> FlagsIn(const std::string& text) {
  static const std::regex flag("--([a-z][a-z0-9_]*)");
  std::set<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), flag), end; it != end; ++it)
    out.insert((*it)[1]);
  return out;
}

std::vector<std::string> BacktickTokens(const std::string& line) {
  static const std::regex token("`([^`]+)`");
  std::vector<std::string> out;
  for (std::sregex_iterator it(line.begin(), line.end(), token), end; it != end; ++it)
    out.push_back((*it)[1]);
  return out;
}

// A row: | `binary` | port | `--flag` (...), `command ARGS`, ... |
void ReadRow(const std::string& line, ReadmeBinaries& out) {
  // `stop ID\|--all`, `weather [cities...]`, `status`; not `sql/` or `/app/`.
  static const std::regex command_token("^([a-z][a-z-]*)(?:[ \\\\[]|$)");
  const std::vector<std::string> tokens = BacktickTokens(line);
  if (tokens.empty()) return;
  const std::string& binary = tokens[0];
  out.flags[binary];
  for (size_t i = 1; i < tokens.size(); ++i) {
    for (const std::string& f : FlagsIn(tokens[i])) out.flags[binary].insert(f);
    std::smatch command;
    if (std::regex_search(tokens[i], command, command_token)) {
      out.commands[binary].insert(command[1]);
    }
  }
}

ReadmeBinaries ReadReadme() {
  std::ifstream in(Env("EVC_SOURCE_DIR") + "/README.md");
  EXPECT_TRUE(in.good()) << "cannot read README.md under EVC_SOURCE_DIR=" << Env("EVC_SOURCE_DIR");
  ReadmeBinaries out;
  bool in_section = false;
  std::string text, line;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Binaries, flags and ports";
    if (!in_section) continue;
    if (line.rfind("| `", 0) == 0) {
      ReadRow(line, out);
    } else {
      text += line + "\n";
    }
  }
  for (const std::string& f : FlagsIn(text)) out.section_flags.insert(f);
  EXPECT_GE(out.flags.size(), 10u) << "README's binaries table not found or not parsed";
  return out;
}

struct CommandOutput {
  int exit_code = -1;
  std::string output;
};

CommandOutput RunCommand(const std::string& command) {
  CommandOutput run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) run.output.append(buffer, n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// What `binary --help` lists: flags under each heading, and commands.
struct Help {
  CommandOutput run;
  std::set<std::string> own_flags;
  std::set<std::string> shared_flags;
  std::set<std::string> commands;
};

Help HelpOf(const std::string& binary) {
  Help help;
  help.run = RunCommand(Env("EVC_BIN_DIR") + "/" + binary + " --help 2>/dev/null");
  static const std::regex flag_line("^  --([a-z0-9_]+)=.*");
  static const std::regex command_line("^  ([a-z][a-z-]*)( .*)?");
  std::istringstream lines(help.run.output);
  std::string heading, line;
  std::smatch m;
  while (std::getline(lines, line)) {
    if (!line.empty() && line[0] != ' ' && line.back() == ':') heading = line;
    if (std::regex_match(line, m, flag_line)) {
      (heading.rfind("Common flags", 0) == 0 ? help.shared_flags : help.own_flags).insert(m[1]);
    } else if (heading.rfind("Commands", 0) == 0 && std::regex_match(line, m, command_line)) {
      help.commands.insert(m[1]);
    }
  }
  return help;
}

class BinariesHelpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    readme_ = new ReadmeBinaries(ReadReadme());
    helps_ = new std::map<std::string, Help>();
    for (const auto& [binary, flags] : readme_->flags) (*helps_)[binary] = HelpOf(binary);
  }
  static void TearDownTestSuite() {
    delete readme_;
    delete helps_;
  }
  static ReadmeBinaries* readme_;
  static std::map<std::string, Help>* helps_;
};
ReadmeBinaries* BinariesHelpTest::readme_ = nullptr;
std::map<std::string, Help>* BinariesHelpTest::helps_ = nullptr;

TEST_F(BinariesHelpTest, EveryBinaryExplainsItselfAndExitsZero) {
  for (const auto& [binary, help] : *helps_) {
    EXPECT_EQ(help.run.exit_code, 0) << binary << " --help exited " << help.run.exit_code;
    EXPECT_EQ(help.run.output.rfind(binary + ": ", 0), 0u)
        << binary << " --help does not start with \"" << binary << ": what it does\":\n"
        << help.run.output;
    EXPECT_THAT(help.run.output, ::testing::ContainsRegex("example|e\\.g\\. "))
        << binary << " --help gives no example";
    EXPECT_THAT(help.run.output, HasSubstr("(EVC_")) << binary << " --help names no EVC_* variable";
  }
}

TEST_F(BinariesHelpTest, EveryFlagInTheReadmeTableIsInTheBinarysHelp) {
  for (const auto& [binary, flags] : readme_->flags) {
    const Help& help = helps_->at(binary);
    for (const std::string& flag : flags) {
      EXPECT_TRUE(help.own_flags.count(flag) + help.shared_flags.count(flag) > 0)
          << "README's binaries table lists --" << flag << " for " << binary << ", but `" << binary
          << " --help` does not: remove it from the README row, or fix its name";
    }
  }
}

TEST_F(BinariesHelpTest, EveryFlagInABinarysHelpIsInTheReadme) {
  for (const auto& [binary, help] : *helps_) {
    const std::set<std::string>& row = readme_->flags.at(binary);
    for (const std::string& flag : help.own_flags) {
      EXPECT_TRUE(row.count(flag) > 0)
          << "`" << binary << " --help` lists --" << flag
          << ", but README's binaries table does not: add it to the " << binary << " row";
    }
    for (const std::string& flag : help.shared_flags) {
      EXPECT_TRUE(row.count(flag) + readme_->section_flags.count(flag) > 0)
          << "`" << binary << " --help` lists the shared flag --" << flag
          << ", but README's \"Binaries, flags and ports\" names it nowhere: add it to the "
          << binary << " row or to the text under the table";
    }
  }
}

TEST_F(BinariesHelpTest, TheCliCommandsAgreeWithTheReadme) {
  for (const auto& [binary, help] : *helps_) {
    const std::set<std::string>& readme = readme_->commands[binary];
    if (help.commands.empty() && readme.empty()) continue;
    for (const std::string& command : help.commands) {
      EXPECT_TRUE(readme.count(command) > 0)
          << "`" << binary << " --help` lists the command " << command << ", but the README row of "
          << binary << " does not";
    }
    for (const std::string& command : readme) {
      EXPECT_TRUE(help.commands.count(command) > 0)
          << "README lists the command " << command << " of " << binary << ", but `" << binary
          << " --help` does not";
    }
  }
  EXPECT_GE(helps_->at("evcctl").commands.size(), 15u);
}

TEST_F(BinariesHelpTest, EveryEvcctlCommandHasItsOwnHelp) {
  const std::string evcctl = Env("EVC_BIN_DIR") + "/evcctl";
  for (const std::string& command : helps_->at("evcctl").commands) {
    for (const std::string& asked : {" help " + command, " " + command + " --help"}) {
      CommandOutput run = RunCommand(evcctl + asked + " 2>/dev/null");
      EXPECT_EQ(run.exit_code, 0) << "evcctl" << asked;
      EXPECT_THAT(run.output, HasSubstr("usage: evcctl [--flag=value ...] " + command))
          << "evcctl" << asked;
      EXPECT_THAT(run.output, HasSubstr("example:\n  evcctl")) << "evcctl" << asked;
    }
  }
  EXPECT_THAT(RunCommand(evcctl + " weather --help").output,
              HasSubstr("--weather=127.0.0.1:50054"));
}

TEST_F(BinariesHelpTest, EveryBuiltBinaryIsInTheReadmeTable) {
  for (const auto& entry : std::filesystem::directory_iterator(Env("EVC_BIN_DIR"))) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("evc", 0) != 0 || !entry.is_regular_file()) continue;
    EXPECT_TRUE(readme_->flags.count(name) > 0)
        << "build/bin/" << name << " is not in README's binaries table: add a row for it";
  }
}

}  // namespace
