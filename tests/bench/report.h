#pragma once
// What evc-bench reports: every scenario runs N times, and each figure is told
// as min / median / max over the runs, judged against its target on the median.
// A slow run is not an error: it says which figures it could not finish
// measuring ("missed"), and the report goes on. Only wrong results (tickets
// lost, a run that could not run) are "failed".

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace evc::bench {

enum class Verdict { kNoTarget, kMet, kMissed, kFailed };
std::string VerdictName(Verdict v);

// One figure over all the runs of a scenario.
struct FigureSummary {
  std::string name;  // the path in a run's JSON: "latency.telemetry_to_stream.p99_ms"
  int samples = 0;   // runs that measured it
  double min = 0, median = 0, max = 0;
  std::string target;  // "<= 100", empty without one
  Verdict verdict = Verdict::kNoTarget;
  std::string note;  // why it was missed or failed
};

struct ScenarioReport {
  std::string scenario;
  int repetitions = 0;
  std::vector<FigureSummary> figures;
  std::vector<std::string> failed_runs;  // "run 2: <error>"
};

// `runs` are the scenario's result objects; a run may carry "missed":
// {figure: reason} for what it stopped measuring at a deadline. A figure is
// "missed" when a run missed it, when its median does not meet a speed target
// or when no run measured it (an empty latency has no p99: that meets nothing);
// "failed" when its median breaks a correctness target.
ScenarioReport Aggregate(const std::string& scenario, const std::vector<nlohmann::json>& runs,
                         const std::vector<std::string>& failed_runs);

// Every figure that is missed or failed, "scenario: figure (verdict: note)".
std::vector<std::string> Unmet(const ScenarioReport& report);
bool AnyFailed(const ScenarioReport& report);

// The console table.
std::string RenderTable(const ScenarioReport& report);

// One history line: the report plus when and with which settings.
nlohmann::json ToHistoryEntry(const ScenarioReport& report, const nlohmann::json& settings,
                              const std::string& date, int cores);

// The latest entry of `scenario` in a history file's text (JSON lines, or one
// JSON object, or a result file holding one as "report"); NOT_FOUND when there is none.
absl::StatusOr<nlohmann::json> LatestEntry(const std::string& history_text, const std::string& scenario);

// Each figure's median now against `earlier` (history entries): now / earlier.
// `earlier` comes from a file: what is missing or of the wrong type in it is
// left out of the comparison.
std::string RenderComparison(const nlohmann::json& now, const nlohmann::json& earlier);

// A Prometheus histogram over a window, from two scrapes of /metrics text:
// {"count", "p50_ms", "p99_ms"} of the observations made between them, in the
// series of `name` whose labels include every `labels` ("stage=\"applied\"").
// Quantiles are read off the buckets as Prometheus's histogram_quantile does
// (linear within a bucket; the largest finite bound when the rank lies past it).
nlohmann::json HistogramWindow(const std::string& before, const std::string& after, const std::string& name,
                               const std::vector<std::string>& labels);

// The figures table of docs/benchmarks.md from the latest entry of each scenario.
std::string RenderDocTable(const std::vector<nlohmann::json>& entries);

// `doc` with what lies between the figure markers replaced by `table`;
// FAILED_PRECONDITION when the markers are missing or out of order.
inline constexpr char kDocBegin[] = "<!-- bench-figures:begin (./evc bench --doc) -->";
inline constexpr char kDocEnd[] = "<!-- bench-figures:end -->";
absl::StatusOr<std::string> ReplaceDocTable(const std::string& doc, const std::string& table);

}  // namespace evc::bench
