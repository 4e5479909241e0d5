#include "services/common/tcp_listener.h"

#include <algorithm>
#include <exception>
#include <memory>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/log.h"

namespace evc {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

using Accepted = std::function<void(tcp::socket)>;

void AcceptNext(tcp::acceptor& acceptor, net::io_context& ioc, std::shared_ptr<const Accepted> accepted) {
  acceptor.async_accept(net::make_strand(ioc), [&acceptor, &ioc, accepted](boost::system::error_code ec,
                                                                            tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      (*accepted)(std::move(socket));
    }
    AcceptNext(acceptor, ioc, accepted);
  });
}

void RunConnections(net::io_context& ioc, const char* failure) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      log::Error(failure, {{"error", e.what()}});
    } catch (...) {
      log::Error(failure, {{"error", "unknown exception"}});
    }
  }
}

}  // namespace

absl::Status ListenOn(tcp::acceptor& acceptor, const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("--listen '", listen, "' is not host:port"));
  }
  std::string host = listen.substr(0, colon);
  int port;
  if (!absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("--listen '", listen, "': bad port"));
  }
  if (absl::StartsWith(host, "[")) host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  net::ip::address address = net::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("--listen '", listen, "': ", ec.message()));
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot listen on ", listen, ": ", ec.message()));
  return absl::OkStatus();
}

absl::StatusOr<int> ServeConnections(tcp::acceptor& acceptor, net::io_context& ioc, const std::string& listen,
                                     int io_threads, const char* failure, Accepted accepted,
                                     std::vector<std::thread>& threads) {
  if (absl::Status s = ListenOn(acceptor, listen); !s.ok()) return s;
  const int port = acceptor.local_endpoint().port();
  AcceptNext(acceptor, ioc, std::make_shared<const Accepted>(std::move(accepted)));
  for (int i = 0; i < std::max(1, io_threads); ++i) {
    threads.emplace_back([&ioc, failure] { RunConnections(ioc, failure); });
  }
  return port;
}

void StopAccepting(tcp::acceptor& acceptor) {
  net::post(acceptor.get_executor(), [&acceptor] {
    boost::system::error_code ec;
    acceptor.close(ec);
  });
}

}  // namespace evc
