#pragma once
// What every evcctl command runs with: the flags' values, where its calls go and
// where it prints. Commands take it as a parameter (no globals), so tests run them
// in-process against fake services and read what they printed.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/client_session.h"
#include "services/common/grpc_util.h"

namespace evc::evcctl {

// The command line's flags (main fills it; the defaults live with the flags).
struct Options {
  std::string registry, auth, central, weather;
  std::string user, password_file;
  absl::Duration timeout;
  // register, update (update changes only what is given: a non-empty address or
  // city, a value for the others)
  std::string address, city, secret_file;
  std::optional<std::string> country;
  std::optional<int64_t> price, max_power;
  // Go together (both or neither).
  std::optional<double> latitude, longitude;
  bool reset_if_exists = false;
  // stop, resume
  bool all = false;
  // site-cap (with address, city)
  int64_t cap_w = 0;
  // signup
  std::string name, email, role, new_password_file;
  bool if_missing = false;
  // audit, rotate-key, tickets, wait-active, watch
  std::string category, actor, driver, cp, state;
  absl::Duration since, grace;
  int limit = 0;
  int count = 0;
  bool plain = false;
};

// Opens the channels commands call on. An interface so that tests hand out
// channels to in-process fakes.
class Connections {
 public:
  virtual ~Connections() = default;
  // A channel to `address`; with `login`, every call on it carries the operator's token.
  virtual absl::StatusOr<std::shared_ptr<grpc::Channel>> Open(const std::string& address,
                                                              bool login) = 0;
};

// The real thing: the operator (Options::user) logs in on the first channel that
// needs a token, so reads never ask for a password.
class OperatorConnections : public Connections {
 public:
  explicit OperatorConnections(const Options& options) : options_(options) {}
  absl::StatusOr<std::shared_ptr<grpc::Channel>> Open(const std::string& address,
                                                      bool login) override;

 private:
  absl::Status LogIn();

  const Options& options_;
  std::unique_ptr<ClientSession> session_;
};

struct Context {
  const Options& options;
  Connections& connections;
  std::FILE* out = stdout;
  std::FILE* err = stderr;
  bool terminal = false;  // stdout is a terminal: colours, and watch draws its panel
};

// Prints "evcctl: STATUS" to the context's err; returns exit code 1.
int Fail(Context& context, const absl::Status& status);

// A stub of `Service` at `address` (see Connections::Open).
template <typename Service>
absl::StatusOr<std::unique_ptr<typename Service::Stub>> StubFor(Context& context,
                                                                const std::string& address,
                                                                bool login) {
  auto channel = context.connections.Open(address, login);
  if (!channel.ok()) return channel.status();
  return Service::NewStub(*channel);
}

// One call of `method` to the service at `address` (see Connections::Open),
// with the --timeout deadline.
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> Call(Context& context, const std::string& address, bool login,
                              grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                           Response*),
                              const Request& request) {
  auto channel = context.connections.Open(address, login);
  if (!channel.ok()) return channel.status();
  Stub stub(*channel);
  return CallUnary(method, stub, request, context.options.timeout);
}

}  // namespace evc::evcctl
