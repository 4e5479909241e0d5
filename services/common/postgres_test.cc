// The text boundary into Postgres: NUL and invalid UTF-8 become U+FFFD,
// length is bounded at a character boundary, JSON is sanitised recursively
// (keys too); and the isolation of refused rows in a batch.

#include "services/common/postgres.h"

#include <gtest/gtest.h>

namespace evc {
namespace {

constexpr char kFffd[] = "\xEF\xBF\xBD";

TEST(PostgresTextTest, NulBecomesVisibleReplacement) {
  EXPECT_EQ(PgText(std::string("a\0b", 3)), std::string("a") + kFffd + "b");
  EXPECT_EQ(PgText(std::string(1, '\0')), kFffd);
}

TEST(PostgresTextTest, InvalidUtf8IsReplacedValidIsKept) {
  EXPECT_EQ(PgText("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\x8C"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\x8C");
  EXPECT_EQ(PgText("\xff"), kFffd);
  EXPECT_EQ(PgText("\xc3\x28"), std::string(kFffd) + "(");
  // Overlong, surrogate, past U+10FFFF, truncated sequence.
  EXPECT_EQ(PgText("\xC0\xAF"), std::string(kFffd) + kFffd);
  EXPECT_EQ(PgText("\xED\xA0\x80"), std::string(kFffd) + kFffd + kFffd);
  EXPECT_EQ(PgText("\xF4\x90\x80\x80"), std::string(kFffd) + kFffd + kFffd + kFffd);
  EXPECT_EQ(PgText("ok\xE2\x82"), std::string("ok") + kFffd + kFffd);
  // Control characters other than NUL are valid text.
  EXPECT_EQ(PgText("a\tb\x01"), "a\tb\x01");
}

TEST(PostgresTextTest, LengthIsBoundedAtACharacterBoundary) {
  const std::string euros(100, 'x');
  EXPECT_EQ(PgText(euros, 100), euros);
  std::string cut = PgText(euros + "y", 100);
  EXPECT_LE(cut.size(), 100u);
  EXPECT_EQ(cut.substr(cut.size() - 3), "\xE2\x80\xA6");
  // Multi-byte characters are never split.
  std::string wide;
  for (int i = 0; i < 50; ++i) wide += "\xE2\x82\xAC";
  cut = PgText(wide, 20);
  EXPECT_LE(cut.size(), 20u);
  EXPECT_EQ(PgText(cut, 1000), cut) << "the cut text is valid UTF-8";
  EXPECT_EQ(PgText(std::string(1 << 20, '\0')).size(), kPgTextMaxBytes - 1);
}

TEST(PostgresTextTest, JsonIsSanitisedRecursivelyKeysIncluded) {
  nlohmann::json j = {{std::string("k\0ey", 4), std::string("v\0", 2)},
                      {"list", {std::string("\xff"), 1, nullptr, {{"deep\xc3", "x"}}}},
                      {"n", 3.5}};
  nlohmann::json clean = PgJson(j);
  const std::string text = PgJsonText(j);
  EXPECT_EQ(text.find("\\u0000"), std::string::npos) << text;
  EXPECT_TRUE(clean.contains(std::string("k") + kFffd + "ey"));
  EXPECT_EQ(clean["list"][0], kFffd);
  EXPECT_EQ(clean["list"][1], 1);
  EXPECT_TRUE(clean["list"][3].contains(std::string("deep") + kFffd));
  EXPECT_EQ(clean["n"], 3.5);
  // Parses back: what goes to ::jsonb is a valid document.
  EXPECT_EQ(nlohmann::json::parse(text), clean);
}

TEST(PostgresTextTest, JsonIsBounded) {
  nlohmann::json deep = "leaf";
  for (int i = 0; i < 100; ++i) deep = nlohmann::json::array({deep});
  EXPECT_NO_THROW(nlohmann::json::parse(PgJsonText(deep)));
  nlohmann::json big = nlohmann::json::array();
  for (int i = 0; i < 200; ++i) big.push_back(std::string(1000, 'b'));
  const std::string text = PgJsonText(big);
  EXPECT_LE(text.size(), kPgJsonMaxBytes);
  EXPECT_TRUE(nlohmann::json::parse(text).contains("truncated"));
}

TEST(PostgresErrorTest, SqlStateClassesSeparateAbsentDatabaseFromRefusedRows) {
  EXPECT_TRUE(IsTransientWriteError(PgErrorStatus("08006", "connection failure")));
  EXPECT_TRUE(IsTransientWriteError(PgErrorStatus("57P01", "admin shutdown")));
  EXPECT_TRUE(IsTransientWriteError(PgErrorStatus("53100", "disk full")));
  EXPECT_TRUE(IsTransientWriteError(PgErrorStatus("25006", "read-only transaction")));
  EXPECT_TRUE(IsTransientWriteError(PgErrorStatus("40001", "serialization failure")));
  EXPECT_EQ(PgErrorStatus("22P05", "unsupported Unicode escape").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PgErrorStatus("23503", "foreign key").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(IsTransientWriteError(PgErrorStatus("42601", "syntax error")));
}

TEST(PostgresIsolationTest, RefusedRowsAreIsolatedAndTheRestWritten) {
  const std::vector<int> rows = {0, 1, 2, -3, 4, 5, -6, 7};
  std::vector<int> written, refused;
  size_t done = 0;
  absl::Status s = WriteIsolating(
      rows.size(),
      [&](size_t begin, size_t end) {
        for (size_t i = begin; i < end; ++i) {
          if (rows[i] < 0) return absl::InvalidArgumentError("bad row");
        }
        written.insert(written.end(), rows.begin() + begin, rows.begin() + end);
        return absl::OkStatus();
      },
      [&](size_t i, const absl::Status&) { refused.push_back(rows[i]); }, &done);
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(done, rows.size());
  EXPECT_EQ(written, (std::vector<int>{0, 1, 2, 4, 5, 7}));
  EXPECT_EQ(refused, (std::vector<int>{-3, -6}));
}

TEST(PostgresIsolationTest, StopsAtAnAbsentDatabaseWithTheRestToWrite) {
  int calls = 0;
  size_t done = 0;
  absl::Status s = WriteIsolating(
      4,
      [&](size_t begin, size_t end) {
        ++calls;
        if (end - begin == 4) return absl::InvalidArgumentError("bad row");
        if (begin >= 2) return absl::UnavailableError("gone");
        return absl::OkStatus();
      },
      [&](size_t, const absl::Status&) { ADD_FAILURE() << "nothing is refused"; }, &done);
  EXPECT_TRUE(absl::IsUnavailable(s));
  EXPECT_EQ(done, 2u);
}

}  // namespace
}  // namespace evc
