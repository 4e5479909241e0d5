// The edge in front of a real network: every annotated RPC through REST,
// errors, live streams over WebSocket and NDJSON, and the browser end to end
// (Debian's Chromium driven by playwright-core).

#include <cstdlib>
#include <fstream>
#include <future>
#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "evc/proto_files.h"
#include "services/edge/routes.h"
#include "services/edge/test_http_client.h"
#include "tests/integration/loop_client.h"

namespace evc::testing {
namespace {

namespace http = boost::beast::http;
using edge::testing::HttpReply;
using ::testing::HasSubstr;

class EdgeTest : public StackSuite<EdgeTest> {
 public:
  static Stack::Options StackOptions() { return Stack::Options(); }

  static void SetUpTestSuite() {
    StackSuite::SetUpTestSuite();
    if (stack_ == nullptr) return;
    for (const char* cp : {"EDGE-1", "EDGE-2", "EDGE-3"}) {
      auto secret = stack().RegisterCp(cp);
      if (!secret.ok()) return Fail(secret.status().ToString());
      stack().StartEngine(cp);
      stack().StartMonitor(cp);
    }
    if (absl::Status w = stack().StartWeather({"--poll_interval=1s"}); !w.ok()) return Fail(w.ToString());
    auto port = stack().StartEdge({"--weather=" + stack().weather_address()});
    if (!port.ok()) return Fail(port.status().ToString());
    port_ = *port;
    for (const char* cp : {"EDGE-1", "EDGE-2", "EDGE-3"}) {
      if (!stack().WaitForState(cp, common::v1::CP_STATE_ACTIVE)) return Fail(absl::StrCat(cp, " never ACTIVE"));
    }
    auto services = edge::LinkedServices(proto::ServiceProtoFiles());
    routes_ = new edge::RouteTable(*edge::RouteTable::Build(*services));
  }

  static void TearDownTestSuite() {
    delete routes_;
    StackSuite::TearDownTestSuite();
  }

 protected:
  void SetUp() override {
    StackSuite::SetUp();
    ASSERT_GT(port_, 0) << "the edge did not start";
  }

  static void Fail(const std::string& why) {
    std::fprintf(stderr, "edge suite setup: %s\n", why.c_str());
    stack_->KeepDirectory();
  }

  // A REST call; notes which route it exercised.
  HttpReply Call(http::verb verb, const std::string& target, const std::string& body = "",
                 const std::string& token = "") {
    edge::testing::Headers headers;
    if (!token.empty()) headers.push_back({"Authorization", "Bearer " + token});
    if (!body.empty()) headers.push_back({"Content-Type", "application/json"});
    std::string path = target.substr(0, target.find('?'));
    auto lookup = routes_->Match(std::string(http::to_string(verb)), path);
    if (lookup.outcome == edge::RouteTable::Outcome::kFound) {
      exercised_.insert(absl::StrCat(lookup.route->http_method, " ", lookup.route->path.text()));
    }
    return edge::testing::HttpCall(port_, verb, target, body, headers);
  }

  std::string Login(const std::string& user, const std::string& password) {
    HttpReply r = Call(http::verb::post, "/v1/auth/login",
                       nlohmann::json{{"username", user}, {"password", password}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json().value("accessToken", "");
  }

  std::string OperatorToken() { return Login("admin", "operate-the-net-42"); }

  static inline int port_ = 0;
  static inline edge::RouteTable* routes_ = nullptr;
  static inline std::set<std::string> exercised_;
};

#define EXPECT_HTTP(reply, code) EXPECT_EQ((reply).status, code) << (reply).body

TEST_F(EdgeTest, EveryAnnotatedRpcAnswersThroughTheEdge) {
  // Accounts and sessions.
  const std::string pw = "Volt-Charge-77";
  HttpReply signup = Call(http::verb::post, "/v1/accounts",
                          nlohmann::json{{"username", "rest-rita"}, {"name", "Rita"}, {"email", "rita@example.com"},
                                         {"password", pw}, {"passwordConfirmation", pw}}.dump());
  EXPECT_HTTP(signup, 200);
  EXPECT_EQ(signup.json()["role"], "driver");
  HttpReply login = Call(http::verb::post, "/v1/auth/login",
                         nlohmann::json{{"username", "rest-rita"}, {"password", pw}}.dump());
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string driver = login.json()["accessToken"];
  EXPECT_HTTP(Call(http::verb::get, "/v1/accounts/rest-rita", "", driver), 200);
  HttpReply renamed = Call(http::verb::patch, "/v1/accounts/rest-rita", R"({"name":"Rita Ruiz"})", driver);
  EXPECT_HTTP(renamed, 200);
  EXPECT_EQ(renamed.json()["name"], "Rita Ruiz");
  HttpReply refreshed = Call(http::verb::post, "/v1/auth/refresh",
                             nlohmann::json{{"refreshToken", login.json()["refreshToken"]}}.dump());
  EXPECT_HTTP(refreshed, 200);
  HttpReply claims = Call(http::verb::post, "/v1/auth/token:validate",
                          nlohmann::json{{"accessToken", driver}}.dump());
  EXPECT_HTTP(claims, 200);
  EXPECT_EQ(claims.json()["username"], "rest-rita");
  HttpReply keys = Call(http::verb::get, "/v1/auth/keys");
  EXPECT_HTTP(keys, 200);
  EXPECT_FALSE(keys.json()["keys"].empty());

  // CP enrolment and credentials, as an operator.
  const std::string op = OperatorToken();
  HttpReply added = Call(http::verb::post, "/v1/registry/charging-points",
                         R"({"cpId":"EDGE-NEW","location":{"address":"C/ Mayor 1","city":"Elche","country":"ES"},)"
                         R"("priceMillieurosPerKwh":"333","maxPowerW":"11000"})", op);
  EXPECT_HTTP(added, 200);
  EXPECT_FALSE(added.json()["credentials"]["secret"].get<std::string>().empty());
  EXPECT_HTTP(Call(http::verb::get, "/v1/registry/charging-points/EDGE-NEW", "", op), 200);
  EXPECT_THAT(Call(http::verb::get, "/v1/registry/charging-points", "", op).body, HasSubstr("EDGE-NEW"));
  HttpReply repriced = Call(http::verb::patch, "/v1/registry/charging-points/EDGE-NEW?update_mask=priceMillieurosPerKwh",
                            R"({"priceMillieurosPerKwh":"444"})", op);
  EXPECT_HTTP(repriced, 200);
  EXPECT_EQ(repriced.json()["priceMillieurosPerKwh"], "444");
  // Coordinates (optional) in lowerCamelCase JSON, changed alone through a path
  // into the location, checked, and passed on by central to the public list the
  // apps read.
  HttpReply located = Call(http::verb::patch,
                           "/v1/registry/charging-points/EDGE-NEW?update_mask=location.coordinates",
                           R"({"location":{"coordinates":{"latitude":38.2669,"longitude":-0.6983}}})", op);
  EXPECT_HTTP(located, 200);
  EXPECT_EQ(located.json()["location"]["city"], "Elche");
  EXPECT_EQ(located.json()["location"]["coordinates"]["latitude"], 38.2669);
  EXPECT_EQ(located.json()["location"]["coordinates"]["longitude"], -0.6983);
  HttpReply off_map = Call(http::verb::patch,
                           "/v1/registry/charging-points/EDGE-NEW?update_mask=location.coordinates",
                           R"({"location":{"coordinates":{"latitude":91,"longitude":0}}})", op);
  EXPECT_HTTP(off_map, 400);
  EXPECT_THAT(off_map.body, HasSubstr("location.coordinates.latitude must be between -90 and 90"));
  EXPECT_EQ(Call(http::verb::get, "/v1/registry/charging-points/EDGE-NEW", "", op)
                .json()["location"]["coordinates"]["latitude"], 38.2669);
  EXPECT_TRUE(Stack::WaitFor([&] {
    const nlohmann::json list = Call(http::verb::get, "/v1/charging-points").json();
    for (const auto& cp : list["chargingPoints"]) {
      const auto& info = cp["chargingPoint"];
      if (info["cpId"] == "EDGE-NEW") return info["location"].contains("coordinates") &&
                                             info["location"]["coordinates"]["longitude"] == -0.6983;
    }
    return false;
  })) << "central's list never showed EDGE-NEW's coordinates";
  HttpReply reset = Call(http::verb::post, "/v1/registry/charging-points/EDGE-NEW:resetCredentials", "{}", op);
  EXPECT_HTTP(reset, 200);
  HttpReply cp_auth = Call(http::verb::post, "/v1/auth/charging-points/EDGE-NEW:authenticate",
                           nlohmann::json{{"secret", reset.json()["secret"]}}.dump());
  EXPECT_HTTP(cp_auth, 200);
  EXPECT_FALSE(cp_auth.json()["token"].get<std::string>().empty());
  EXPECT_HTTP(Call(http::verb::post, "/v1/auth/charging-points/EDGE-NEW:rotateKey", "{}", op), 200);
  EXPECT_HTTP(Call(http::verb::post, "/v1/auth/charging-points/EDGE-NEW:revoke", "{}", op), 200);
  EXPECT_HTTP(Call(http::verb::delete_, "/v1/registry/charging-points/EDGE-NEW", "", op), 200);

  // A charge, its supply, its ticket.
  HttpReply cps = Call(http::verb::get, "/v1/charging-points");
  EXPECT_HTTP(cps, 200);
  EXPECT_THAT(cps.body, HasSubstr("EDGE-1"));
  HttpReply charge = Call(http::verb::post, "/v1/charging-points/EDGE-1:charge", R"({"requestId":"rest-1"})", driver);
  ASSERT_EQ(charge.status, 200) << charge.body;
  const std::string supply = charge.json()["supply"]["supplyId"];
  EXPECT_HTTP(Call(http::verb::get, "/v1/supplies/" + supply, "", driver), 200);
  EXPECT_HTTP(Call(http::verb::post, "/v1/supplies/" + supply + ":stop", "{}", driver), 200);
  EXPECT_TRUE(Stack::WaitFor([&] {
    return Call(http::verb::get, "/v1/supplies/" + supply, "", driver).json()["ticket"]["supplyId"] == supply;
  }));
  HttpReply tickets = Call(http::verb::get, "/v1/tickets?limit=5", "", driver);
  EXPECT_HTTP(tickets, 200);
  EXPECT_THAT(tickets.body, HasSubstr(supply));
  EXPECT_HTTP(Call(http::verb::get, "/v1/network/stats"), 200);
  HttpReply audit = Call(http::verb::get, "/v1/audit-events?cpId=EDGE-1&limit=5", "", op);
  EXPECT_HTTP(audit, 200);
  EXPECT_FALSE(audit.json()["events"].empty());

  // Operator commands.
  HttpReply stop = Call(http::verb::post, "/v1/charging-points/EDGE-3:stop", "{}", op);
  EXPECT_HTTP(stop, 200);
  EXPECT_EQ(stop.json()["affectedCpIds"][0], "EDGE-3");
  EXPECT_HTTP(Call(http::verb::post, "/v1/charging-points/EDGE-3:resume", "{}", op), 200);
  // Issue 22: the path of :stopAll / :resumeAll says "all": no body needed, an operator still is.
  EXPECT_HTTP(Call(http::verb::post, "/v1/charging-points:stopAll", "{}"), 401);
  EXPECT_HTTP(Call(http::verb::post, "/v1/charging-points:resumeAll", "", driver), 403);
  HttpReply stop_all = Call(http::verb::post, "/v1/charging-points:stopAll", "{}", op);
  EXPECT_HTTP(stop_all, 200);
  EXPECT_FALSE(stop_all.json()["affectedCpIds"].empty()) << stop_all.body;
  HttpReply resume_all = Call(http::verb::post, "/v1/charging-points:resumeAll", "", op);
  EXPECT_HTTP(resume_all, 200);
  EXPECT_EQ(resume_all.json()["affectedCpIds"], stop_all.json()["affectedCpIds"])
      << resume_all.body;
  // The body they once needed still works.
  EXPECT_HTTP(Call(http::verb::post, "/v1/charging-points:stopAll", R"({"all":true})", op), 200);
  EXPECT_HTTP(Call(http::verb::post, "/v1/charging-points:resumeAll", R"({"all":true})", op), 200);
  EXPECT_HTTP(Call(http::verb::post, "/v1/auth/keys:rotate", "{}", op), 200);

  // Queues and site power caps (issue 20): who may call, and a clear refusal.
  EXPECT_HTTP(Call(http::verb::post, "/v1/queues:join", R"({"city":"Nowhere"})", driver), 404);
  EXPECT_HTTP(Call(http::verb::get, "/v1/queues:mine", "", driver), 404);
  EXPECT_HTTP(Call(http::verb::post, "/v1/queues:leave", "{}"), 401);
  EXPECT_HTTP(Call(http::verb::get, "/v1/queues", "", op), 200);
  EXPECT_HTTP(Call(http::verb::post, "/v1/sites:setPowerCap", R"({"address":"C/ Sol 2","capW":"30000"})", op), 400);
  EXPECT_HTTP(Call(http::verb::post, "/v1/sites:setPowerCap",
                   R"({"address":"C/ Sol 2","city":"Elche","capW":"30000"})", driver),
              403);
  EXPECT_HTTP(Call(http::verb::get, "/v1/sites/power-caps", "", op), 200);
  // Central's live settings (issue 20): operators only; a refusal names the setting.
  EXPECT_HTTP(Call(http::verb::get, "/v1/config"), 401);
  EXPECT_HTTP(Call(http::verb::get, "/v1/config", "", driver), 403);
  HttpReply settings = Call(http::verb::get, "/v1/config", "", op);
  EXPECT_HTTP(settings, 200);
  EXPECT_EQ(settings.json()["plugTimeout"], "120s") << settings.body;
  HttpReply too_short = Call(http::verb::patch, "/v1/config?updateMask=plugTimeout", R"({"plugTimeout":"1s"})", op);
  EXPECT_HTTP(too_short, 400);
  EXPECT_THAT(too_short.body, HasSubstr("plug_timeout must be between 10s and 1h"));
  EXPECT_HTTP(Call(http::verb::patch, "/v1/config", R"({"plugTimeout":"90s"})", driver), 403);
  HttpReply changed = Call(http::verb::patch, "/v1/config?updateMask=plugTimeout", R"({"plugTimeout":"90s"})", op);
  EXPECT_HTTP(changed, 200);
  EXPECT_EQ(changed.json()["plugTimeout"], "90s") << changed.body;
  EXPECT_EQ(changed.json()["updatedBy"], "admin") << changed.body;

  // Weather: read by anyone, changed by operators.
  HttpReply cities = Call(http::verb::get, "/v1/weather/cities");
  EXPECT_HTTP(cities, 200);
  EXPECT_EQ(cities.json()["provider"], "simulated");
  EXPECT_THAT(cities.body, HasSubstr("EDGE-1"));
  HttpReply heat = Call(http::verb::post, "/v1/weather/cities/Alicante:setTemperature", R"({"temperatureC":45})", op);
  EXPECT_HTTP(heat, 200);
  EXPECT_EQ(heat.json()["inAlert"], true);
  EXPECT_TRUE(stack().WaitForState("EDGE-3", common::v1::CP_STATE_OUT_OF_SERVICE));
  EXPECT_HTTP(Call(http::verb::post, "/v1/weather/cities/Alicante:setTemperature", R"({"temperatureC":45})", driver), 403);
  HttpReply cleared = Call(http::verb::post, "/v1/weather/cities/Alicante:clearTemperature", "{}", op);
  EXPECT_HTTP(cleared, 200);
  EXPECT_EQ(cleared.json().value("inAlert", false), false);
  EXPECT_FALSE(Call(http::verb::get, "/v1/weather/cities/Alicante/readings?limit=3").json()["readings"].empty());
  HttpReply alerts = Call(http::verb::get, "/v1/weather/alerts?city=Alicante");
  EXPECT_HTTP(alerts, 200);
  EXPECT_EQ(alerts.json()["alerts"][0]["kind"], "KIND_CLEAR");
  EXPECT_EQ(Call(http::verb::get, "/v1/weather/config").json()["maxC"], 40);
  HttpReply tightened = Call(http::verb::patch, "/v1/weather/config?update_mask=maxC", R"({"maxC":39})", op);
  EXPECT_HTTP(tightened, 200);
  EXPECT_EQ(tightened.json()["maxC"], 39);
  EXPECT_HTTP(Call(http::verb::patch, "/v1/weather/config", R"({"maxC":40})", op), 200);
  EXPECT_HTTP(Call(http::verb::patch, "/v1/weather/config", R"({"minC":50})", op), 400);

  // Logging out ends the token.
  EXPECT_HTTP(Call(http::verb::post, "/v1/auth/logout", "{}", driver), 200);
  EXPECT_TRUE(Stack::WaitFor([&] { return Call(http::verb::get, "/v1/accounts/rest-rita", "", driver).status == 401; }));
  for (const char* cp : {"EDGE-1", "EDGE-2", "EDGE-3"}) ASSERT_TRUE(stack().WaitForState(cp, common::v1::CP_STATE_ACTIVE));
}

TEST_F(EdgeTest, StreamsAndEveryUnaryRouteAreCovered) {
  // The unary routes come from the test above; streams from the ones below.
  std::set<std::string> unary;
  for (const edge::Route& r : routes_->routes()) {
    if (!r.server_streaming) unary.insert(absl::StrCat(r.http_method, " ", r.path.text()));
  }
  for (const std::string& r : unary) EXPECT_TRUE(exercised_.count(r)) << "not exercised through the edge: " << r;
}

TEST_F(EdgeTest, BadRequestsGetClearErrors) {
  const std::string op = OperatorToken();
  HttpReply bad_json = Call(http::verb::post, "/v1/charging-points/EDGE-1:charge", "{", op);
  EXPECT_HTTP(bad_json, 400);
  EXPECT_EQ(bad_json.json()["status"], "INVALID_ARGUMENT");
  EXPECT_HTTP(Call(http::verb::post, "/v1/accounts", R"({"username":"x","favouriteColour":"red"})"), 400);
  EXPECT_HTTP(Call(http::verb::post, "/v1/registry/charging-points", R"({"cpId":7,"maxPowerW":"lots"})", op), 400);
  EXPECT_HTTP(Call(http::verb::post, "/v1/accounts", std::string(2 << 20, 'x')), 413);
  EXPECT_HTTP(Call(http::verb::get, "/v1/charging-points/EDGE-1/nothing"), 404);
  EXPECT_HTTP(Call(http::verb::put, "/v1/charging-points"), 405);
  HttpReply anonymous = Call(http::verb::get, "/v1/tickets");
  EXPECT_HTTP(anonymous, 401);
  EXPECT_THAT(anonymous.json()["message"].get<std::string>(), HasSubstr("log in"));
  EXPECT_HTTP(Call(http::verb::get, "/v1/registry/charging-points/NOPE", "", op), 404);
  // A driver may not act as an operator.
  ASSERT_TRUE(stack().AddDriver("rest-dora").ok());
  HttpReply refused = Call(http::verb::post, "/v1/charging-points/EDGE-1:stop", "{}",
                           stack().driver("rest-dora").AccessToken());
  EXPECT_HTTP(refused, 403);
  EXPECT_THAT(refused.json()["message"].get<std::string>(), HasSubstr("needs an operator"));
}

// The state of `cp` in a network update, if the update is about it.
std::string StateOf(const nlohmann::json& frame, const std::string& cp) {
  const auto& u = frame["result"];
  if (u.contains("chargingPoint") && u["chargingPoint"]["chargingPoint"]["cpId"] == cp) {
    return u["chargingPoint"]["state"];
  }
  return "";
}

TEST_F(EdgeTest, WebSocketSeesStateChangesInOrder) {
  boost::asio::io_context ioc;
  auto ws = edge::testing::OpenWebSocket(ioc, port_, "/v1/network:watch");
  nlohmann::json first = edge::testing::ReadFrame(*ws);
  ASSERT_TRUE(first["result"].contains("snapshot")) << first;
  const std::string op = OperatorToken();
  EXPECT_HTTP(Call(http::verb::post, "/v1/charging-points/EDGE-3:stop", "{}", op), 200);
  EXPECT_HTTP(Call(http::verb::post, "/v1/charging-points/EDGE-3:resume", "{}", op), 200);
  std::vector<std::string> seen;
  while (seen.size() < 2) {
    nlohmann::json frame = edge::testing::ReadFrame(*ws);
    ASSERT_FALSE(frame.is_null()) << "stream ended early";
    std::string state = StateOf(frame, "EDGE-3");
    if (!state.empty()) seen.push_back(state);
  }
  EXPECT_THAT(seen, ::testing::ElementsAre("CP_STATE_OUT_OF_SERVICE", "CP_STATE_ACTIVE"));
}

TEST_F(EdgeTest, ASupplyStreamsAsNdjsonUntilItsTicket) {
  ASSERT_TRUE(stack().AddDriver("rest-nora").ok());
  const std::string token = stack().driver("rest-nora").AccessToken();
  HttpReply charge = Call(http::verb::post, "/v1/charging-points/EDGE-2:charge", R"({"requestId":"nd-1"})", token);
  ASSERT_EQ(charge.status, 200) << charge.body;
  const std::string supply = charge.json()["supply"]["supplyId"];
  auto stream = std::async(std::launch::async, [&] {
    return edge::testing::HttpCall(port_, http::verb::get, "/v1/supplies/" + supply + ":watch", "",
                                   {{"Authorization", "Bearer " + token}});
  });
  // Let a few readings through, then stop.
  ASSERT_TRUE(Stack::WaitFor([&] {
    auto s = stack().Status("EDGE-2");
    return s && s->supply().energy_wh() > 0;
  }));
  absl::SleepFor(absl::Seconds(2));
  EXPECT_HTTP(Call(http::verb::post, "/v1/supplies/" + supply + ":stop", "{}", token), 200);
  HttpReply r = stream.get();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.raw[http::field::content_type], "application/x-ndjson");
  std::istringstream lines(r.body);
  std::string line;
  std::vector<nlohmann::json> views;
  while (std::getline(lines, line)) views.push_back(nlohmann::json::parse(line)["result"]);
  ASSERT_GE(views.size(), 3u) << r.body;
  int64_t last_energy = -1;
  for (const auto& v : views) {
    int64_t e = std::stoll(v["supply"]["energyWh"].get<std::string>());
    EXPECT_GE(e, last_energy) << "figures go forward";
    last_energy = e;
  }
  EXPECT_EQ(views.back()["ticket"]["supplyId"], supply);
  EXPECT_EQ(views.back()["ticket"]["endReason"], "END_REASON_DRIVER_STOP");
  // Another driver may not watch it.
  ASSERT_TRUE(stack().AddDriver("rest-omar").ok());
  HttpReply other = Call(http::verb::get, "/v1/supplies/" + supply + ":watch", "",
                         stack().driver("rest-omar").AccessToken());
  EXPECT_HTTP(other, 403);
}

TEST_F(EdgeTest, BrowserEndToEnd) {
  const std::string source = std::getenv("EVC_SOURCE_DIR");
  const std::string artifacts = std::string(std::getenv("EVC_BIN_DIR")) + "/../test-artifacts/browser";
  const std::string log = stack().dir() + "/browser.log";
  const std::string command = absl::StrCat(
      "cd '", source, "/tests/browser' && BASE_URL=http://127.0.0.1:", port_, " ADMIN_PASSWORD_FILE='",
      stack().PasswordFile("admin"), "' CHARGE_CP=EDGE-2 STOP_CP=EDGE-3 WEATHER_CITY=Alicante OUT_DIR='", artifacts,
      "' timeout 300 node e2e.mjs > '", log, "' 2>&1");
  int code = std::system(command.c_str());
  std::stringstream output;
  output << std::ifstream(log).rdbuf();
  EXPECT_EQ(code, 0) << output.str() << "\nscreenshots: " << artifacts;
  EXPECT_THAT(output.str(), HasSubstr("browser end-to-end: OK"));
}

}  // namespace
}  // namespace evc::testing
