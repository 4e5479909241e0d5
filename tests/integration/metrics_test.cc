// Metrics on a real network: a charge moves central's counters by exactly
// what happened, every service's /metrics passes `promtool check metrics`, and
// every query of the dashboards and alert rules names a metric the services
// really export.

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/match.h"
#include "services/edge/test_http_client.h"
#include "tests/integration/loop_client.h"
#include "tests/integration/stack.h"

namespace evc::testing {
namespace {

namespace http = boost::beast::http;

int Shell(const std::string& command, std::string* output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  size_t n;
  output->clear();
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output->append(buffer, n);
  return WEXITSTATUS(pclose(pipe));
}

class MetricsTest : public StackSuite<MetricsTest> {
 public:
  static Stack::Options StackOptions() { return {}; }
  static absl::Status AfterStart(Stack& stack) {
    if (absl::Status s = stack.StartWeather({"--poll_interval=1s"}); !s.ok()) return s;
    absl::StatusOr<int> port = stack.StartEdge({"--weather=" + stack.weather_address()});
    if (!port.ok()) return port.status();
    edge_port_ = *port;
    return absl::OkStatus();
  }
  static inline int edge_port_ = 0;

 protected:
  std::string Scrape(const std::string& service) {
    const int port = stack().metrics_port(service);
    EXPECT_GT(port, 0) << service;
    auto reply = edge::testing::HttpCall(port, http::verb::get, "/metrics");
    EXPECT_EQ(reply.status, 200) << service;
    return reply.body;
  }
};

TEST_F(MetricsTest, AChargeMovesTheCountersByWhatHappened) {
  LoopClient loop(stack());
  ASSERT_NO_FATAL_FAILURE(loop.BringUp("M-1", "m-ana"));
  const std::string before = Scrape("central");
  auto supply = loop.Request("M-1", "m-ana");
  ASSERT_TRUE(supply.ok()) << supply.status();
  ASSERT_GE(loop.WaitForEnergy(supply->supply_id(), 20), 20);
  auto again = loop.Request("M-1", "m-ana");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(loop.Stop(supply->supply_id(), "m-ana").ok());
  auto ticket = loop.WaitForTicket(supply->supply_id());
  ASSERT_TRUE(ticket.has_value());
  // Telemetry counters are sampled every second.
  absl::SleepFor(absl::Milliseconds(1500));
  const std::string after = Scrape("central");
  auto delta = [&](const std::string& name, const std::vector<std::string>& labels = {}) {
    return MetricSum(after, name, labels) - MetricSum(before, name, labels);
  };

  EXPECT_EQ(delta("evc_supplies_started_total"), 1);
  EXPECT_EQ(delta("evc_supplies_ended_total", {"reason=\"DRIVER_STOP\""}), 1);
  EXPECT_EQ(delta("evc_supplies_ended_total"), 1);
  EXPECT_NEAR(delta("evc_energy_delivered_kwh_total"), ticket->energy_wh() / 1000.0, 1e-9);
  EXPECT_NEAR(delta("evc_revenue_euros_total"), ticket->amount_millieuros() / 1000.0, 1e-9);
  EXPECT_EQ(delta("evc_charge_requests_total", {"outcome=\"accepted\""}), 1);
  EXPECT_EQ(delta("evc_charge_requests_total", {"outcome=\"rejected\"", "reason=\"driver is already charging\""}), 1);
  EXPECT_EQ(delta("grpc_server_handled_total", {"grpc_method=\"RequestCharge\"", "grpc_code=\"OK\""}), 1);
  EXPECT_EQ(delta("grpc_server_handled_total", {"grpc_method=\"RequestCharge\"", "grpc_code=\"FailedPrecondition\""}), 1);
  EXPECT_EQ(delta("grpc_server_handled_total", {"grpc_method=\"StopCharge\"", "grpc_code=\"OK\""}), 1);
  EXPECT_EQ(delta("grpc_server_handling_seconds_count", {"grpc_method=\"RequestCharge\""}), 2);
  EXPECT_GE(delta("evc_telemetry_applied_total"), 2);
  // Started, at least two readings, completed.
  EXPECT_GE(delta("evc_kafka_consumed_messages_total", {"topic=\"evc.engine-events\""}), 4);
  // AUTHORIZE and STOP to the engine, the acceptance and the ticket to the driver.
  EXPECT_GE(delta("evc_kafka_produced_messages_total", {"topic=\"evc.engine-commands\""}), 2);
  EXPECT_GE(delta("evc_kafka_produced_messages_total", {"topic=\"evc.driver-notifications\""}), 2);
  EXPECT_GE(delta("evc_pg_transaction_seconds_count", {"statement=\"PgSupplyStore::Write\""}), 2);
  // Where the time went: every stage of the start, the readings and the end,
  // with Kafka's produce time read off the records.
  auto stage = [&](const std::string& name, const std::string& event, const std::string& stage) {
    std::vector<std::string> labels = {"stage=\"" + stage + "\""};
    if (!event.empty()) labels.push_back("event=\"" + event + "\"");
    return delta(name + "_count", labels);
  };
  for (const char* at : {"produced", "received", "applied"}) {
    EXPECT_EQ(stage("evc_engine_event_age_seconds", "started", at), 1) << at;
    EXPECT_GE(stage("evc_engine_event_age_seconds", "telemetry", at), 2) << at;
    EXPECT_EQ(stage("evc_engine_event_age_seconds", "completed", at), 1) << at;
  }
  EXPECT_EQ(stage("evc_supply_start_seconds", "", "command_sent"), 1);
  EXPECT_EQ(stage("evc_supply_start_seconds", "", "engine_started"), 1);
  EXPECT_EQ(MetricSum(after, "evc_charging_points", {"state=\"ACTIVE\""}) +
                MetricSum(after, "evc_charging_points", {"state=\"SUPPLYING\""}),
            1);
}

TEST_F(MetricsTest, EveryServiceExposesValidMetricsThatTheDashboardsAndRulesQuery) {
  LoopClient loop(stack());
  ASSERT_NO_FATAL_FAILURE(loop.BringUp("M-2", "m-luis", "Toledo"));
  // A weather alert and back, so its series exist.
  for (double celsius : {44.0, 20.0}) {
    weather::v1::SetTemperatureRequest r;
    r.set_city("Toledo");
    r.set_temperature_c(celsius);
    ASSERT_TRUE(CallUnary(&weather::v1::WeatherService::Stub::SetTemperature, stack().weather(), r,
                          absl::Seconds(10)).ok());
  }
  auto supply = loop.Request("M-2", "m-luis");
  ASSERT_TRUE(supply.ok()) << supply.status();
  ASSERT_TRUE(loop.Stop(supply->supply_id(), "m-luis").ok());
  ASSERT_TRUE(loop.WaitForTicket(supply->supply_id()).has_value());
  // Through the edge too, so its client metrics move.
  EXPECT_EQ(edge::testing::HttpCall(edge_port_, http::verb::get, "/v1/charging-points").status, 200);
  EXPECT_EQ(edge::testing::HttpCall(edge_port_, http::verb::get, "/v1/weather/cities").status, 200);
  // Consumer lag comes with librdkafka's statistics, every 5 s.
  EXPECT_TRUE(Stack::WaitFor([&] { return absl::StrContains(Scrape("central"), "evc_kafka_consumer_lag{"); },
                             absl::Seconds(30)));

  std::vector<std::string> files;
  for (const std::string service : {"registry", "auth", "central", "weather", "edge"}) {
    const std::string file = absl::StrCat(stack().dir(), "/", service, ".metrics");
    std::ofstream(file) << Scrape(service);
    files.push_back(file);
    std::string out;
    EXPECT_EQ(Shell("promtool check metrics < " + file, &out), 0) << service << ":\n" << out;
    EXPECT_GT(MetricSum(Scrape(service), "grpc_server_started_total") + MetricSum(Scrape(service), "grpc_client_started_total"), 0)
        << service;
  }
  const std::string source = std::getenv("EVC_SOURCE_DIR");
  std::string out;
  std::string command = absl::StrCat("python3 ", source, "/tests/observability/check_dashboards.py ", source,
                                     "/observability");
  for (const auto& f : files) absl::StrAppend(&command, " ", f);
  EXPECT_EQ(Shell(command, &out), 0) << out;
  std::printf("%s", out.c_str());
}

}  // namespace
}  // namespace evc::testing
