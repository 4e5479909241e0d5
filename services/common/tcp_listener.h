#pragma once
// What every Beast/asio server here (the edge, the OCPP gateway) does around its
// connections: listen on a "host:port" flag, accept each connection on a strand
// of its own, and keep its I/O threads serving when one connection's handler
// throws.

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace evc {

// Opens `acceptor` on `listen` ("host:port"; an empty host is every IPv4
// interface, "[::1]:port" an IPv6 one), with reuse-address, bound and listening.
// INVALID_ARGUMENT naming --listen when the address is malformed; UNAVAILABLE
// when it cannot be bound (taken, not this host's).
absl::Status ListenOn(boost::asio::ip::tcp::acceptor& acceptor, const std::string& listen);

// ListenOn, then every connection accepted until StopAccepting: each socket,
// with TCP_NODELAY and a strand of its own on `ioc`, goes to `accepted`.
// `io_threads` threads (at least one), added to `threads` for the caller to
// join, run `ioc`. An exception out of a connection's handler unwinds that
// connection only (its handlers own it): it is logged as `failure` and the
// thread goes back to serving the rest. The port listened on, or ListenOn's error.
absl::StatusOr<int> ServeConnections(boost::asio::ip::tcp::acceptor& acceptor, boost::asio::io_context& ioc,
                                     const std::string& listen, int io_threads, const char* failure,
                                     std::function<void(boost::asio::ip::tcp::socket)> accepted,
                                     std::vector<std::thread>& threads);

// Closes `acceptor` on its own executor: no connection is accepted after.
void StopAccepting(boost::asio::ip::tcp::acceptor& acceptor);

}  // namespace evc
