#include "tests/integration/stack.h"

#include "services/edge/test_http_client.h"
#include "tests/integration/test_postgres.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/common/grpc_server.h"
#include "services/common/grpc_util.h"
#include "services/common/service_credentials.h"

namespace evc::testing {

int FreePort() {
  // The kernel may hand a port it just gave back out again: a service's gRPC
  // port and its metrics port, both picked before it starts, were once the
  // same and the service could not listen. Each port is handed out once.
  static absl::Mutex mu(absl::kConstInit);
  static auto* handed_out = new std::set<int>();
  absl::MutexLock lock(&mu);
  while (true) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    const int port = ntohs(addr.sin_port);
    if (handed_out->insert(port).second) return port;
  }
}

Process::Process(std::string name, std::vector<std::string> argv,
                 std::map<std::string, std::string> env, std::string log_path)
    : name_(std::move(name)), log_path_(std::move(log_path)) {
  pid_ = fork();
  if (pid_ == 0) {
    // If the harness dies (a crash, kill -9), its processes die with it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // A fresh signal mask: the test's blocked signals must not be inherited.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(log, 1);
    dup2(log, 2);
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::perror("execv");
    _exit(127);
  }
}

Process::~Process() { Stop(absl::Seconds(3)); }

void Process::Signal(int signo) {
  if (pid_ > 0) kill(pid_, signo);
}

void Process::Wait() {
  if (pid_ <= 0) return;
  int status = 0;
  waitpid(pid_, &status, 0);
  Ended(status);
}

void Process::Ended(int wait_status) {
  pid_ = -1;
  exit_code_ = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

bool Process::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    Ended(status);
    return false;
  }
  return true;
}

void Process::Stop(absl::Duration grace) {
  if (pid_ <= 0) return;
  Signal(SIGTERM);
  absl::Time deadline = absl::Now() + grace;
  while (absl::Now() < deadline) {
    if (!Running()) return;
    absl::SleepFor(absl::Milliseconds(20));
  }
  Kill();
}

absl::StatusOr<std::unique_ptr<Stack>> Stack::Start(Options options) {
  std::unique_ptr<Stack> s(new Stack());
  s->options_ = options;
  const char* src = std::getenv("EVC_SOURCE_DIR");
  const char* bin = std::getenv("EVC_BIN_DIR");
  if (src == nullptr || bin == nullptr) {
    return absl::FailedPreconditionError("EVC_SOURCE_DIR and EVC_BIN_DIR must be set (ctest and ./evc set them)");
  }
  s->source_dir_ = src;
  s->bin_dir_ = bin;
  if (options.dir.empty()) {
    char tmpl[] = "/tmp/evc-it-XXXXXX";
    s->dir_ = mkdtemp(tmpl);
  } else {
    char* absolute = realpath(".", nullptr);
    s->dir_ = options.dir[0] == '/' ? options.dir : absl::StrCat(absolute, "/", options.dir);
    free(absolute);
    // A run that died may have left its Postgres running in the directory.
    std::system(absl::StrCat(s->source_dir_, "/evc _pg stop '", s->dir_, "/pg' >/dev/null 2>&1; rm -rf '",
                             s->dir_, "' && mkdir -p '", s->dir_, "'").c_str());
  }
  chmod(s->dir_.c_str(), 0755);
  s->pg_port_ = FreePort();
  if (absl::Status pg = StartPostgres(s->source_dir_, s->dir_, s->pg_port_); !pg.ok()) {
    s->KeepDirectory();
    return pg;
  }
  const std::string bootstrap_file = s->dir_ + "/kafka.bootstrap";
  s->kafka_process_ = s->Spawn("kafka", "evc-devkafka", {"--bootstrap_file=" + bootstrap_file});
  if (!WaitFor([&] { return std::ifstream(bootstrap_file).good(); }, absl::Seconds(10))) {
    s->KeepDirectory();
    return absl::UnavailableError("kafka did not start: see " + s->dir_ + "/kafka.log");
  }
  std::getline(std::ifstream(bootstrap_file), s->kafka_);
  if (options.tls) {
    std::string certs = absl::StrCat(s->source_dir_, "/evc _certs ", s->dir_, "/tls > ", s->dir_,
                                     "/certs.log 2>&1");
    if (std::system(certs.c_str()) != 0) {
      s->KeepDirectory();
      return absl::UnavailableError("could not create certificates: see " + s->dir_ + "/certs.log");
    }
    auto tls = LoadTls("", "", s->dir_ + "/tls/ca.crt");
    if (!tls.ok()) return tls.status();
    s->client_tls_ = *tls;
  }
  std::ofstream(s->PasswordFile("admin")) << "operate-the-net-42\n";
  // Every service proves who it is on internal calls, as under ./evc up.
  mkdir((s->dir_ + "/service-credentials").c_str(), 0700);
  for (const auto& [name, text] :
       ServiceCredential::Generate({"registry", "auth", "central", "weather", "edge"})) {
    const std::string path = s->ServiceCredentialFile(name);
    std::ofstream(path) << text;
    chmod(path.c_str(), 0600);
  }

  s->registry_port_ = FreePort();
  s->auth_port_ = FreePort();
  s->central_port_ = FreePort();
  const std::string registry = absl::StrCat("127.0.0.1:", s->registry_port_);
  const std::string auth = absl::StrCat("127.0.0.1:", s->auth_port_);
  s->StartRegistry();
  s->StartAuth();
  s->StartCentral();
  for (auto [name, port] : {std::pair<const char*, int>{"registry", s->registry_port_},
                            {"auth", s->auth_port_}, {"central", s->central_port_}}) {
    if (absl::Status h = s->WaitHealthy(name, port); !h.ok()) {
      s->KeepDirectory();
      return h;
    }
  }
  auto session = ClientSession::Login(auth, "admin", "operate-the-net-42", &s->client_tls_);
  if (!session.ok()) {
    s->KeepDirectory();
    return absl::UnavailableError(absl::StrCat("operator login failed: ", session.status().ToString()));
  }
  s->operator_ = std::move(*session);
  BearerSource as_operator = s->operator_->Bearer();
  s->registry_ = registry::v1::RegistryService::NewStub(MakeChannel(registry, as_operator, &s->client_tls_));
  s->auth_ = auth::v1::AuthService::NewStub(MakeChannel(auth, as_operator, &s->client_tls_));
  s->central_target_ = s->central_address();
  s->central_ = central::v1::CentralService::NewStub(
      MakeChannel(s->central_address(), as_operator, &s->client_tls_));
  return s;
}

void Stack::FollowCentralLeader(const std::vector<int>& replica_ports) {
  central_target_ = "ipv4:" + central_address();
  for (int port : replica_ports) absl::StrAppend(&central_target_, ",127.0.0.1:", port);
  central_ = central::v1::CentralService::NewStub(
      MakeCentralChannel(central_target_, operator_->Bearer(), &client_tls_));
  absl::MutexLock lock(&drivers_mu_);
  driver_stubs_.clear();
}

Stack::~Stack() {
  weather_process_.reset();
  weather_.reset();
  {
    absl::MutexLock lock(&drivers_mu_);
    driver_stubs_.clear();
    drivers_.clear();
  }
  operator_.reset();
  monitors_.clear();
  engines_.clear();
  central_process_.reset();
  auth_process_.reset();
  registry_process_.reset();
  kafka_process_.reset();
  if (absl::Status pg = StopPostgres(source_dir_, dir_); !pg.ok()) {
    std::fprintf(stderr, "%s\n", pg.ToString().c_str());
  }
  if (!keep_dir_ && !::testing::Test::HasFailure() && std::getenv("EVC_KEEP_TEST_DIRS") == nullptr) {
    std::system(absl::StrCat("rm -rf ", dir_).c_str());
  } else {
    std::fprintf(stderr, "integration logs kept in %s\n", dir_.c_str());
  }
}

std::string Stack::postgres_url() const {
  return absl::StrCat("postgresql://evc@127.0.0.1:", pg_port_, "/evc");
}

std::unique_ptr<Process> Stack::Spawn(const std::string& name, const std::string& binary,
                                      std::vector<std::string> args) {
  args.insert(args.begin(), bin_dir_ + "/" + binary);
  // Further central replicas ("central-b") prove they are central.
  const std::string service_name = absl::StartsWith(name, "central") ? "central" : name;
  const bool service = service_name == "registry" || service_name == "auth" ||
                       service_name == "central" || service_name == "weather" ||
                       service_name == "edge";
  if (service) {
    // A port of its own: the default (gRPC port + 1000) may be taken here.
    int& port = metrics_ports_[name];
    if (port == 0) port = FreePort();
    args.push_back(absl::StrCat("--metrics_listen=127.0.0.1:", port));
  } else if (binary == "evc-cp-engine") {
    args.push_back("--metrics_listen=off");
  }
  std::map<std::string, std::string> env = {{"EVC_KAFKA", kafka_},
                                            {"EVC_POSTGRES_URL", postgres_url()},
                                            {"EVC_STARTUP_TIMEOUT", "60s"}};
  if (service) env["EVC_SERVICE_CREDENTIAL_FILE"] = ServiceCredentialFile(service_name);
  if (options_.tls && name != "kafka") {
    // Services prove who they are; every CP process shares the "cp" identity.
    const std::string identity = service ? service_name : "cp";
    env["EVC_TLS_CERT"] = absl::StrCat(dir_, "/tls/", identity, ".crt");
    env["EVC_TLS_KEY"] = absl::StrCat(dir_, "/tls/", identity, ".key");
    env["EVC_TLS_CA"] = dir_ + "/tls/ca.crt";
  }
  return std::make_unique<Process>(name, std::move(args), std::move(env),
                                   absl::StrCat(dir_, "/", name, ".log"));
}

void Stack::StartCentral() {
  central_process_ = StartCentralReplica("central", central_port_, {});
}

std::unique_ptr<Process> Stack::StartCentralReplica(const std::string& name, int port,
                                                    std::vector<std::string> extra_flags) {
  std::vector<std::string> args = {
      absl::StrCat("--listen=127.0.0.1:", port),
      absl::StrCat("--registry=127.0.0.1:", registry_port_),
      absl::StrCat("--auth=127.0.0.1:", auth_port_),
      absl::StrCat("--link_timeout=", absl::FormatDuration(options_.link_timeout)),
      absl::StrCat("--restart_grace=", absl::FormatDuration(options_.restart_grace)),
      "--stop_timeout=10s"};
  args.insert(args.end(), options_.central_flags.begin(), options_.central_flags.end());
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  return Spawn(name, "evc-central", args);
}

absl::StatusOr<int> Stack::StartEdge(std::vector<std::string> extra_flags) {
  const int port = FreePort();
  std::vector<std::string> args = {absl::StrCat("--listen=127.0.0.1:", port), "--registry=" + registry_address(),
                                   "--auth=" + auth_address(), "--central=" + central_address()};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  edge_process_ = Spawn("edge", "evc-edge", args);
  bool up = WaitFor([&] {
    return edge::testing::HttpCall(port, boost::beast::http::verb::get, "/healthz").status == 200;
  }, absl::Seconds(20));
  if (!up) {
    KeepDirectory();
    return absl::UnavailableError(absl::StrCat("the edge did not answer on port ", port, ": see ", dir_, "/edge.log"));
  }
  return port;
}

absl::Status Stack::StartWeather(std::vector<std::string> extra_flags) {
  if (weather_port_ == 0) weather_port_ = FreePort();
  std::vector<std::string> args = {"--listen=" + weather_address(), "--registry=" + registry_address(),
                                   "--auth=" + auth_address(), "--central=" + central_address()};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  weather_process_ = Spawn("weather", "evc-weather", args);
  if (!weather_) {
    weather_ = weather::v1::WeatherService::NewStub(
        MakeChannel(weather_address(), operator_->Bearer(), &client_tls_));
  }
  return WaitHealthy("weather", weather_port_);
}

void Stack::StartRegistry() {
  std::vector<std::string> args = {"--listen=" + registry_address(), "--auth=" + auth_address(),
                                   "--bootstrap_operator=admin",
                                   "--bootstrap_operator_password_file=" + PasswordFile("admin")};
  args.insert(args.end(), options_.registry_flags.begin(), options_.registry_flags.end());
  registry_process_ = Spawn("registry", "evc-registry", args);
}

absl::Status Stack::RestartRegistry() {
  registry_process_->Kill();
  StartRegistry();
  return WaitHealthy("registry", registry_port_);
}

void Stack::StartAuth() {
  auth_process_ = Spawn("auth", "evc-auth", {"--listen=" + auth_address(), "--registry=" + registry_address()});
}

absl::Status Stack::RestartAuth() {
  auth_process_->Kill();
  StartAuth();
  return WaitHealthy("auth", auth_port_);
}

absl::Status Stack::RestartCentral() {
  central_process_->Kill();
  StartCentral();
  return WaitHealthy("central", central_port_);
}

std::optional<grpc::health::v1::HealthCheckResponse::ServingStatus> Stack::Health(
    int port, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", port), nullptr, &client_tls_));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  auto r = CallUnary(&grpc::health::v1::Health::Stub::Check, *stub, request, absl::Seconds(1));
  if (!r.ok()) return std::nullopt;
  return r->status();
}

absl::Status Stack::WaitHealthy(const std::string& name, int port) {
  bool healthy = WaitFor([&] {
    return Health(port, "") == grpc::health::v1::HealthCheckResponse::SERVING;
  }, absl::Seconds(60));
  if (healthy) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(name, " did not become healthy; see ", dir_, "/", name, ".log"));
}

absl::StatusOr<std::string> Stack::RegisterCp(const std::string& cp_id, int64_t power_w,
                                              const std::string& city) {
  registry::v1::RegisterChargingPointRequest r;
  r.set_cp_id(cp_id);
  r.mutable_location()->set_address("Test street 1");
  r.mutable_location()->set_city(city);
  r.mutable_location()->set_country("ES");
  r.set_price_millieuros_per_kwh(350);
  r.set_max_power_w(power_w);
  auto resp = CallUnary(&registry::v1::RegistryService::Stub::RegisterChargingPoint, *registry_, r,
                        absl::Seconds(10));
  if (!resp.ok()) return resp.status();
  std::ofstream(absl::StrCat(dir_, "/", cp_id, ".secret")) << resp->credentials().secret();
  return resp->credentials().secret();
}

absl::Status Stack::AddDriver(const std::string& driver_id) {
  registry::v1::SignUpRequest r;
  r.set_username(driver_id);
  r.set_name("Test driver " + driver_id);
  r.set_email(driver_id + "@drivers.example");
  r.set_password(kDriverPassword);
  r.set_password_confirmation(kDriverPassword);
  auto signed_up = CallUnary(&registry::v1::RegistryService::Stub::SignUp, *registry_, r, absl::Seconds(10));
  if (!signed_up.ok()) return signed_up.status();
  std::ofstream(PasswordFile(driver_id)) << kDriverPassword << "\n";
  auto session = ClientSession::Login(auth_address(), driver_id, kDriverPassword, &client_tls_);
  if (!session.ok()) return session.status();
  absl::MutexLock lock(&drivers_mu_);
  drivers_[driver_id] = std::move(*session);
  return absl::OkStatus();
}

ClientSession& Stack::driver(const std::string& driver_id) {
  absl::MutexLock lock(&drivers_mu_);
  return *drivers_.at(driver_id);
}

bool Stack::has_driver(const std::string& driver_id) const {
  absl::MutexLock lock(&drivers_mu_);
  return drivers_.count(driver_id) > 0;
}

std::unique_ptr<central::v1::CentralService::Stub> Stack::CentralAs(ClientSession& session) {
  if (central_target_ != central_address()) {
    return central::v1::CentralService::NewStub(
        MakeCentralChannel(central_target_, session.Bearer(), &client_tls_));
  }
  return central::v1::CentralService::NewStub(MakeChannel(central_address(), session.Bearer(), &client_tls_));
}

central::v1::CentralService::Stub& Stack::CentralAsDriver(const std::string& driver_id) {
  absl::MutexLock lock(&drivers_mu_);
  std::unique_ptr<central::v1::CentralService::Stub>& stub = driver_stubs_[driver_id];
  if (!stub) stub = CentralAs(*drivers_.at(driver_id));
  return *stub;
}

void Stack::StartEngine(const std::string& cp_id, std::vector<std::string> extra_flags) {
  if (!engine_ports_.count(cp_id)) engine_ports_[cp_id] = FreePort();
  std::vector<std::string> args = {absl::StrCat("--listen=127.0.0.1:", engine_ports_[cp_id]),
                                   "--auto_plug", "--power_w=36000"};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  engines_[cp_id] = Spawn("engine-" + cp_id, "evc-cp-engine", args);
}

void Stack::StartMonitor(const std::string& cp_id, const std::string& central) {
  if (!engine_ports_.count(cp_id)) engine_ports_[cp_id] = FreePort();
  monitors_[cp_id] = Spawn(
      "monitor-" + cp_id, "evc-cp-monitor",
      {"--cp_id=" + cp_id, absl::StrCat("--secret_file=", dir_, "/", cp_id, ".secret"),
       absl::StrCat("--engine=127.0.0.1:", engine_ports_[cp_id]),
       absl::StrCat("--auth=127.0.0.1:", auth_port_),
       "--central=" + (central.empty() ? central_address() : central)});
}

int Stack::RunTool(const std::string& binary, const std::vector<std::string>& args,
                   std::string* output) {
  std::vector<std::string> quoted;
  for (const auto& a : args) quoted.push_back("'" + a + "'");
  // The CLIs find every service, and log in as the operator unless told otherwise.
  std::string env = absl::StrCat("EVC_KAFKA='", kafka_, "' EVC_AUTH=", auth_address(),
                                 " EVC_REGISTRY=", registry_address(), " EVC_CENTRAL=", central_address(),
                                 " EVC_USER=admin EVC_PASSWORD_FILE='", PasswordFile("admin"), "'");
  if (options_.tls) absl::StrAppend(&env, " EVC_TLS_CA='", dir_, "/tls/ca.crt'");
  std::string cmd = absl::StrCat(env, " ", bin_dir_, "/", binary, " ", absl::StrJoin(quoted, " "), " 2>&1");
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buffer;
  output->clear();
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output->append(buffer.data(), n);
  int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::optional<central::v1::ChargingPointStatus> Stack::Status(const std::string& cp_id) {
  auto list = CallUnary(&central::v1::CentralService::Stub::ListChargingPoints, *central_,
                        central::v1::ListChargingPointsRequest(), absl::Seconds(2));
  if (!list.ok()) return std::nullopt;
  for (const auto& s : list->charging_points()) {
    if (s.charging_point().cp_id() == cp_id) return s;
  }
  return std::nullopt;
}

bool Stack::WaitForState(const std::string& cp_id, common::v1::CpState state,
                         absl::Duration timeout) {
  return WaitFor([&] {
    auto s = Status(cp_id);
    return s && s->state() == state;
  }, timeout);
}

bool Stack::WaitFor(const std::function<bool()>& ready, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (ready()) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return ready();
}

std::string Stack::Sql(const std::string& query) {
  // Through a file: queries can be longer than a command line.
  const std::string file = absl::StrCat(dir_, "/query-", getpid(), ".sql");
  std::ofstream(file) << query << "\n";
  std::string out;
  std::string cmd = absl::StrCat("psql -qtA '", postgres_url(), "' -f '", file, "' 2>&1");
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return "";
  std::array<char, 1024> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), n);
  pclose(pipe);
  std::remove(file.c_str());
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

double MetricSum(const std::string& scrape, const std::string& name, const std::vector<std::string>& labels) {
  double total = 0;
  for (absl::string_view line : absl::StrSplit(scrape, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t end = line.find_first_of("{ ");
    if (end == absl::string_view::npos || line.substr(0, end) != name) continue;
    bool all = true;
    for (const std::string& l : labels) all = all && absl::StrContains(line, l);
    double value = 0;
    if (all && absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value)) total += value;
  }
  return total;
}

}  // namespace evc::testing
