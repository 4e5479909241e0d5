#include "tests/bench/report.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace evc::bench {
namespace {

const FigureSummary* Find(const ScenarioReport& r, const std::string& name) {
  for (const FigureSummary& f : r.figures) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

nlohmann::json FleetRun(double p99, double authorise_p99) {
  return {{"tickets_lost", 0},
          {"latency",
           {{"telemetry_to_stream", {{"count", 10}, {"p99_ms", p99}}},
            {"request_to_authorise", {{"count", 10}, {"p99_ms", authorise_p99}}}}}};
}

TEST(BenchReport, EachFigureIsMinMedianMaxOverTheRuns) {
  ScenarioReport r = Aggregate("fleet", {FleetRun(90, 40), FleetRun(300, 45), FleetRun(80, 70)}, {});
  const FigureSummary* p99 = Find(r, "latency.telemetry_to_stream.p99_ms");
  ASSERT_NE(p99, nullptr);
  EXPECT_EQ(p99->samples, 3);
  EXPECT_EQ(p99->min, 80);
  EXPECT_EQ(p99->median, 90);
  EXPECT_EQ(p99->max, 300);
  // Judged on the median: one slow run does not miss the target.
  EXPECT_EQ(p99->verdict, Verdict::kMet);
  EXPECT_EQ(Find(r, "latency.request_to_authorise.p99_ms")->verdict, Verdict::kMet);
  EXPECT_EQ(r.repetitions, 3);
}

TEST(BenchReport, TheMedianOfAnEvenCountIsTheMeanOfTheMiddleTwo) {
  ScenarioReport r = Aggregate("fleet", {FleetRun(90, 40), FleetRun(110, 60)}, {});
  EXPECT_EQ(Find(r, "latency.telemetry_to_stream.p99_ms")->median, 100);
  EXPECT_EQ(Find(r, "latency.request_to_authorise.p99_ms")->median, 50);
}

TEST(BenchReport, ASpeedTargetNotMetIsMissedAndACorrectnessTargetFailed) {
  nlohmann::json run = FleetRun(150, 40);
  run["tickets_lost"] = 2;
  ScenarioReport r = Aggregate("fleet", {run}, {});
  const FigureSummary* p99 = Find(r, "latency.telemetry_to_stream.p99_ms");
  EXPECT_EQ(p99->verdict, Verdict::kMissed);
  EXPECT_EQ(p99->note, "median 150, target <= 100");
  EXPECT_EQ(Find(r, "tickets_lost")->verdict, Verdict::kFailed);
  EXPECT_TRUE(AnyFailed(r));
}

TEST(BenchReport, AFigureARunCouldNotFinishIsMissedWithWhatWasMeasured) {
  nlohmann::json slow = {{"ratio", 0.9}, {"central_applied", 1000},
                         {"missed", {{"central_applied", "1000 of 3000 before the deadline"}}}};
  ScenarioReport r = Aggregate("ingest", {slow, {{"ratio", 0.8}, {"central_applied", 3000}}}, {});
  const FigureSummary* applied = Find(r, "central_applied");
  ASSERT_NE(applied, nullptr);
  EXPECT_EQ(applied->verdict, Verdict::kMissed);
  EXPECT_EQ(applied->note, "1000 of 3000 before the deadline");
  EXPECT_EQ(applied->min, 1000);
  EXPECT_EQ(applied->max, 3000);
  EXPECT_EQ(Find(r, "ratio")->verdict, Verdict::kMet);
  // Missed is not failed: the run finished and said what it measured.
  EXPECT_FALSE(AnyFailed(r));
  EXPECT_EQ(Unmet(r), std::vector<std::string>{
                          "ingest: central_applied missed (1000 of 3000 before the deadline)"});
}

TEST(BenchReport, AnEmptyLatencyHasNoP99AndMeetsNoTarget) {
  nlohmann::json run = FleetRun(50, 40);
  run["latency"]["telemetry_to_stream"] = {{"count", 0}, {"p50_ms", 0}, {"p99_ms", 0}};
  ScenarioReport r = Aggregate("fleet", {run}, {});
  const FigureSummary* p99 = Find(r, "latency.telemetry_to_stream.p99_ms");
  ASSERT_NE(p99, nullptr);
  EXPECT_EQ(p99->samples, 0);
  EXPECT_EQ(p99->verdict, Verdict::kMissed);
  EXPECT_EQ(p99->note, "no run measured it");
  EXPECT_EQ(Find(r, "latency.telemetry_to_stream.count")->median, 0);
}

TEST(BenchReport, ATargetNoRunReportedIsMissedNotDropped) {
  ScenarioReport r = Aggregate("churn", {{{"tickets_lost", 0}, {"tickets_duplicated", 0}}}, {});
  const FigureSummary* rate = Find(r, "sessions_per_second");
  ASSERT_NE(rate, nullptr);
  EXPECT_EQ(rate->verdict, Verdict::kMissed);
}

TEST(BenchReport, AFailedRunIsAFailureAndNamed) {
  ScenarioReport r = Aggregate("ingest", {{{"ratio", 0.6}}}, {"run 2: INTERNAL: no open supplies"});
  EXPECT_EQ(r.repetitions, 2);
  EXPECT_TRUE(AnyFailed(r));
  EXPECT_EQ(Unmet(r), std::vector<std::string>{"ingest: failed run 2: INTERNAL: no open supplies"});
}

TEST(BenchReport, TheTableShowsMedianMinMaxTargetAndVerdict) {
  ScenarioReport r = Aggregate("ingest", {{{"ratio", 0.2}}, {{"ratio", 0.4}}, {{"ratio", 0.3}}}, {});
  EXPECT_EQ(RenderTable(r),
            "figure                                           median        min        max  target   verdict\n"
            "ratio                                              0.30       0.20       0.40  >= 0.50  missed "
            "(median 0.30, target >= 0.50)\n");
}

TEST(BenchReport, HistoryEntriesCompareByTheRatioOfTheirMedians) {
  nlohmann::json settings = {{"messages", 3000}};
  nlohmann::json then = ToHistoryEntry(Aggregate("ingest", {{{"ratio", 0.2}, {"rate", 1000}}}, {}), settings,
                                       "2026-12-01T00:00:00Z", 2);
  nlohmann::json now = ToHistoryEntry(Aggregate("ingest", {{{"ratio", 0.3}, {"rate", 500}}}, {}), settings,
                                      "2026-12-06T00:00:00Z", 2);
  EXPECT_EQ(now["figures"]["ratio"]["verdict"], "missed");
  const std::string history = then.dump() + "\n" + nlohmann::json{{"scenario", "fleet"}, {"figures", {}}}.dump() +
                              "\n";
  absl::StatusOr<nlohmann::json> latest = LatestEntry(history, "ingest");
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ((*latest)["date"], "2026-12-01T00:00:00Z");
  EXPECT_FALSE(LatestEntry(history, "edge").ok());
  // A result file (evc-bench's JSON of one scenario) holds its entry as "report".
  EXPECT_TRUE(LatestEntry(nlohmann::json{{"report", then}, {"runs", nlohmann::json::array()}}.dump(), "ingest").ok());
  const std::string comparison = RenderComparison(now, *latest);
  EXPECT_NE(comparison.find("rate                                               1000        500     0.50"),
            std::string::npos)
      << comparison;
  EXPECT_NE(comparison.find("ratio                                              0.20       0.30     1.50"),
            std::string::npos)
      << comparison;
}

TEST(BenchReport, WhatAComparedFileHoldsOfTheWrongTypeIsLeftOut) {
  nlohmann::json now = ToHistoryEntry(Aggregate("ingest", {{{"ratio", 0.3}, {"rate", 500}}}, {}), {},
                                      "2026-12-06T00:00:00Z", 2);
  absl::StatusOr<nlohmann::json> then = LatestEntry(
      R"({"scenario":7,"figures":{}})"
      "\n"
      R"({"scenario":"ingest","date":12,"figures":{"rate":{"median":"fast"},"ratio":{"median":0.2}}})",
      "ingest");
  ASSERT_TRUE(then.ok()) << then.status();
  const std::string comparison = RenderComparison(now, *then);
  EXPECT_EQ(comparison.rfind("against ? (ingest):", 0), 0u) << comparison;
  EXPECT_EQ(comparison.find("rate"), std::string::npos) << comparison;
  EXPECT_NE(comparison.find("ratio                                              0.20       0.30     1.50"),
            std::string::npos)
      << comparison;
  EXPECT_EQ(RenderComparison(now, nlohmann::json{{"scenario", "ingest"}, {"figures", {"ratio"}}})
                .find("ratio "),
            std::string::npos);
}

TEST(BenchReport, TheDocTableIsReplacedBetweenTheMarkersOnly) {
  nlohmann::json entry = ToHistoryEntry(Aggregate("ingest", {{{"ratio", 0.25}}, {{"ratio", 0.35}}}, {}),
                                        {{"messages", 3000}}, "2026-12-06T19:00:00Z", 2);
  const std::string table = RenderDocTable({entry});
  EXPECT_NE(table.find("| ingest | ratio | 0.30 | 0.25 – 0.35 | >= 0.50 | missed |"), std::string::npos) << table;
  EXPECT_NE(table.find("* ingest: {\"messages\":3000}, 2 repetitions on 2 cores, 2026-12-06T19:00:00Z"),
            std::string::npos)
      << table;
  const std::string doc = std::string("before\n") + kDocBegin + "\nold table\n" + kDocEnd + "\nafter\n";
  absl::StatusOr<std::string> updated = ReplaceDocTable(doc, "new table\n");
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(*updated, std::string("before\n") + kDocBegin + "\nnew table\n" + kDocEnd + "\nafter\n");
  EXPECT_EQ(ReplaceDocTable("no markers", "t").status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace evc::bench

namespace evc::bench {
namespace {

std::string Scrape(int under_10ms, int under_50ms, int under_100ms, int more) {
  return absl::StrCat(
      "# TYPE evc_age_seconds histogram\n",
      "evc_age_seconds_bucket{stage=\"applied\",le=\"0.01\"} ", under_10ms, "\n",
      "evc_age_seconds_bucket{stage=\"applied\",le=\"0.05\"} ", under_10ms + under_50ms, "\n",
      "evc_age_seconds_bucket{stage=\"applied\",le=\"0.1\"} ", under_10ms + under_50ms + under_100ms, "\n",
      "evc_age_seconds_bucket{stage=\"applied\",le=\"+Inf\"} ", under_10ms + under_50ms + under_100ms + more, "\n",
      "evc_age_seconds_bucket{stage=\"received\",le=\"0.01\"} 1000\n",
      "evc_age_seconds_bucket{stage=\"received\",le=\"+Inf\"} 1000\n");
}

TEST(HistogramWindowTest, CountsAndQuantilesAreOfTheWindowOnly) {
  // Before the window: 100 fast ones; in it: 50 under 10 ms, 40 in 10-50 ms, 10 in 50-100 ms.
  const nlohmann::json w = HistogramWindow(Scrape(100, 0, 0, 0), Scrape(150, 40, 10, 0), "evc_age_seconds",
                                           {"stage=\"applied\""});
  EXPECT_EQ(w["count"], 100);
  // Rank 50 is the last of the first bucket; rank 99 is 9/10 into 50-100 ms.
  EXPECT_NEAR(w["p50_ms"].get<double>(), 10, 1e-9);
  EXPECT_NEAR(w["p99_ms"].get<double>(), 95, 1e-9);
}

TEST(HistogramWindowTest, ARankPastTheLastBoundIsThatBound) {
  const nlohmann::json w = HistogramWindow("", Scrape(0, 0, 0, 10), "evc_age_seconds", {"stage=\"applied\""});
  EXPECT_EQ(w["count"], 10);
  EXPECT_NEAR(w["p99_ms"].get<double>(), 100, 1e-9);
}

TEST(HistogramWindowTest, NoObservationsOrNoSeriesIsACountOfZero) {
  const std::string same = Scrape(5, 5, 5, 5);
  EXPECT_EQ(HistogramWindow(same, same, "evc_age_seconds", {})["count"], 0);
  EXPECT_EQ(HistogramWindow(same, same, "evc_other_seconds", {})["count"], 0);
  EXPECT_EQ(HistogramWindow("", "garbage\nevc_age_seconds_bucket{le=\"x\"} y\n", "evc_age_seconds", {})["count"], 0);
}

TEST(HistogramWindowTest, OnlyTheSeriesWithEveryLabelCount) {
  const nlohmann::json w = HistogramWindow("", Scrape(1, 0, 0, 0), "evc_age_seconds", {"stage=\"received\""});
  EXPECT_EQ(w["count"], 1000);
  EXPECT_LE(w["p99_ms"].get<double>(), 10);
}

}  // namespace
}  // namespace evc::bench
