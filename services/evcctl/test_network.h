#pragma once
// For evcctl's command tests (linked only by them): the commands' context with
// its calls going to fake services in this process and its output captured.

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "services/common/testing/fake_server.h"
#include "services/evcctl/context.h"

namespace evc::evcctl {

// Every address leads to the one in-process server; remembers what was opened.
class FakeConnections : public Connections {
 public:
  struct Opened {
    std::string address;
    bool login;
  };
  explicit FakeConnections(std::shared_ptr<grpc::Channel> channel) : channel_(std::move(channel)) {}
  absl::StatusOr<std::shared_ptr<grpc::Channel>> Open(const std::string& address,
                                                      bool login) override;

  std::vector<Opened> opened;
  // When set, a channel with login fails with it (as a wrong password would).
  absl::Status login_error;

 private:
  std::shared_ptr<grpc::Channel> channel_;
};

// What a stream (stdout or stderr in the commands' eyes) received.
class CapturedOutput {
 public:
  CapturedOutput();
  ~CapturedOutput();
  std::FILE* file() { return file_; }
  std::string Text();

 private:
  char* buffer_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

// The fake services given, served in this process, and a context reaching them.
class TestNetwork {
 public:
  explicit TestNetwork(std::initializer_list<grpc::Service*> services);

  Options options;  // a 5 s timeout; the rest as a test sets it
  FakeConnections& connections() { return *connections_; }
  Context& context() { return *context_; }
  std::string Out() { return out_.Text(); }
  std::string Err() { return err_.Text(); }

 private:
  FakeServer server_;
  std::unique_ptr<FakeConnections> connections_;
  CapturedOutput out_, err_;
  std::unique_ptr<Context> context_;
};

}  // namespace evc::evcctl
