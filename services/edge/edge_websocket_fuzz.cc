// What a client sends on an open WebSocket, read as the edge reads it: a
// server stream with the edge's options (ConfigureServerWebSocket), frames
// decoded by Beast until the connection fails or closes. The edge uses no
// client message, so a message past the bound must never be delivered.

#include <cstdint>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include "services/edge/dispatch.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const evc::edge::EdgeConfig config;
  boost::asio::io_context ioc;
  beast::test::stream client(ioc);
  websocket::stream<beast::test::stream> ws(ioc);
  ws.next_layer().connect(client);
  evc::edge::ConfigureServerWebSocket(config, ws);

  evc::edge::HttpRequest upgrade(http::verb::get, "/v1/network:watch", 11);
  upgrade.set(http::field::host, "127.0.0.1:8080");
  upgrade.set(http::field::upgrade, "websocket");
  upgrade.set(http::field::connection, "Upgrade");
  upgrade.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  upgrade.set(http::field::sec_websocket_version, "13");
  beast::error_code ec;
  ws.accept(upgrade, ec);
  if (ec) __builtin_trap();  // a valid upgrade is accepted

  ws.next_layer().append(beast::string_view(reinterpret_cast<const char*>(data), size));
  ws.next_layer().close_remote();  // then the client is gone: reads end
  beast::flat_buffer message;
  for (int i = 0; i < 10000; ++i) {
    ws.read(message, ec);
    if (ec) break;
    if (message.size() > config.max_ws_message_bytes) __builtin_trap();
    message.consume(message.size());
  }
  return 0;
}
