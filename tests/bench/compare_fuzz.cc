// `evc-bench --compare FILE` reads an earlier run from a file that may hold
// anything (history lines, a result file, something else): each scenario's
// latest entry is found or refused, and compared with a run now, never a crash.

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/bench/report.h"

namespace {

constexpr const char* kScenarios[] = {"fleet", "churn", "ingest", "edge", "failover"};

// A run of `scenario` now, with figures a file may name too.
const nlohmann::json& Now(const std::string& scenario) {
  static const auto* entries = [] {
    auto* m = new std::map<std::string, nlohmann::json>;
    const nlohmann::json run = {{"ratio", 0.3},
                                {"rate", 500},
                                {"tickets_lost", 0},
                                {"latency", {{"telemetry_to_stream", {{"p99_ms", 12.5}}}}}};
    for (const char* s : kScenarios) {
      (*m)[s] = evc::bench::ToHistoryEntry(evc::bench::Aggregate(s, {run}, {}), {{"cps", 10}},
                                           "2026-12-06T00:00:00Z", 2);
    }
    return m;
  }();
  return entries->at(scenario);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const char* scenario : kScenarios) {
    absl::StatusOr<nlohmann::json> then = evc::bench::LatestEntry(text, scenario);
    if (!then.ok()) continue;
    // Only an entry of the scenario asked for, with figures, is ever compared.
    if (!then->contains("figures") || (*then)["scenario"] != scenario) __builtin_trap();
    if (evc::bench::RenderComparison(Now(scenario), *then).rfind("against ", 0) != 0) __builtin_trap();
  }
  return 0;
}
