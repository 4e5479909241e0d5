#pragma once
// A gRPC server for unit tests: the fake services a test gives, served in this
// process on a free loopback port (for code that dials an address) and over an
// in-process channel (for stubs), shut down when it goes.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"

namespace evc {

class FakeServer {
 public:
  // The services must outlive the server.
  explicit FakeServer(std::initializer_list<grpc::Service*> services) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    for (grpc::Service* service : services) builder.RegisterService(service);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      // No test can run against a server that is not there; say why at once.
      std::fprintf(stderr, "FakeServer: could not listen on a free loopback port\n");
      std::abort();
    }
  }
  // Calls still open are cancelled after a grace of a second.
  ~FakeServer() { server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1)); }
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  // Reaches the services without a socket.
  std::shared_ptr<grpc::Channel> channel() {
    return server_->InProcessChannel(grpc::ChannelArguments());
  }
  // "127.0.0.1:<port>", plaintext.
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace evc
