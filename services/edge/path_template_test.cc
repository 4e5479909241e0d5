#include "services/edge/path_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace evc::edge {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

PathTemplate Must(absl::string_view text) {
  auto t = PathTemplate::Parse(text);
  EXPECT_TRUE(t.ok()) << t.status();
  return *t;
}

TEST(PathTemplateTest, BindsVariablesAndVerb) {
  PathTemplate t = Must("/v1/charging-points/{cp_id}:charge");
  std::vector<Binding> b;
  ASSERT_TRUE(t.Match("/v1/charging-points/ALC-001:charge", &b));
  EXPECT_THAT(b, ElementsAre(Pair("cp_id", "ALC-001")));
  EXPECT_FALSE(t.Match("/v1/charging-points/ALC-001:stop", &b));
  EXPECT_FALSE(t.Match("/v1/charging-points/ALC-001", &b));
  EXPECT_FALSE(t.Match("/v1/charging-points:charge", &b));
  EXPECT_EQ(t.verb(), "charge");
}

TEST(PathTemplateTest, NestedFieldPathsAndPercentDecoding) {
  PathTemplate t = Must("/v1/registry/charging-points/{charging_point.cp_id}");
  std::vector<Binding> b;
  ASSERT_TRUE(t.Match("/v1/registry/charging-points/A%20B%2F1", &b));
  EXPECT_THAT(b, ElementsAre(Pair("charging_point.cp_id", "A B/1")));
  EXPECT_FALSE(t.Match("/v1/registry/charging-points/%zz", &b)) << "a bad escape is no match";
  EXPECT_FALSE(t.Match("/v1/registry/charging-points/", &b)) << "an empty segment binds nothing";
}

TEST(PathTemplateTest, MultiSegmentVariablesAndDoubleStar) {
  PathTemplate t = Must("/v1/{name=cities/*/stations/*}");
  std::vector<Binding> b;
  ASSERT_TRUE(t.Match("/v1/cities/alicante/stations/7", &b));
  EXPECT_THAT(b, ElementsAre(Pair("name", "cities/alicante/stations/7")));
  EXPECT_FALSE(t.Match("/v1/towns/alicante/stations/7", &b));

  PathTemplate rest = Must("/files/{path=**}");
  ASSERT_TRUE(rest.Match("/files/a/b/c.txt", &b));
  EXPECT_THAT(b, ElementsAre(Pair("path", "a/b/c.txt")));
}

TEST(PathTemplateTest, ShapesTellConflictsAndLiteralsOutrankVariables) {
  EXPECT_EQ(Must("/v1/cps/{cp_id}:charge").shape(), Must("/v1/cps/{id}:charge").shape());
  EXPECT_NE(Must("/v1/cps/{cp_id}:charge").shape(), Must("/v1/cps/{cp_id}:stop").shape());
  EXPECT_GT(Must("/v1/network/stats").specificity(), Must("/v1/network/{id}").specificity());
  EXPECT_GT(Must("/v1/supplies/{id}:watch").specificity(), Must("/v1/supplies/{id}").specificity());
}

TEST(PathTemplateTest, RejectsMalformedTemplatesWithAReason) {
  for (const char* bad : {"v1/no-slash", "/v1/{cp_id", "/v1/cp_id}", "/v1/{9bad}", "/v1/**/tail",
                          "/v1/{a}/{a}", "/v1/x{a}", "/v1/trailing/"}) {
    auto t = PathTemplate::Parse(bad);
    EXPECT_FALSE(t.ok()) << bad;
    EXPECT_THAT(std::string(t.status().message()), ::testing::HasSubstr(bad));
  }
}

TEST(PathTemplateTest, PercentDecode) {
  std::string out;
  EXPECT_TRUE(PercentDecode("a%2Fb%20c", &out));
  EXPECT_EQ(out, "a/b c");
  EXPECT_FALSE(PercentDecode("a%2", &out));
  EXPECT_FALSE(PercentDecode("a%g0", &out));
}

}  // namespace
}  // namespace evc::edge
