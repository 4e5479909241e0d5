#include "services/evcctl/test_network.h"

#include <cstdlib>

namespace evc::evcctl {

absl::StatusOr<std::shared_ptr<grpc::Channel>> FakeConnections::Open(const std::string& address,
                                                                     bool login) {
  opened.push_back({address, login});
  if (login && !login_error.ok()) return login_error;
  return channel_;
}

CapturedOutput::CapturedOutput() : file_(open_memstream(&buffer_, &size_)) {}

CapturedOutput::~CapturedOutput() {
  std::fclose(file_);
  std::free(buffer_);
}

std::string CapturedOutput::Text() {
  std::fflush(file_);
  return std::string(buffer_, size_);
}

TestNetwork::TestNetwork(std::initializer_list<grpc::Service*> services) : server_(services) {
  options.timeout = absl::Seconds(5);
  connections_ = std::make_unique<FakeConnections>(server_.channel());
  context_ = std::make_unique<Context>(Context{.options = options,
                                               .connections = *connections_,
                                               .out = out_.file(),
                                               .err = err_.file(),
                                               .terminal = false});
}

}  // namespace evc::evcctl
