#include "services/edge/test_http_client.h"

namespace evc::edge::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

nlohmann::json HttpReply::json() const { return nlohmann::json::parse(body, nullptr, false); }

namespace {
std::string HostHeader(int port) { return "127.0.0.1:" + std::to_string(port); }

HttpReply Exchange(tcp::socket& socket, beast::flat_buffer& buffer, int port, http::verb verb,
                   const std::string& target, const std::string& body, const Headers& headers) {
  HttpReply reply;
  http::request<http::string_body> req(verb, target, 11);
  req.set(http::field::host, HostHeader(port));
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  beast::error_code ec;
  // A server may answer (413, say) before it has read everything: read the
  // answer even when the write was cut short.
  http::write(socket, req, ec);
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 << 20);
  http::read(socket, buffer, parser, ec);
  if (ec) return reply;
  reply.raw = parser.release();
  reply.status = reply.raw.result_int();
  reply.body = reply.raw.body();
  return reply;
}
}  // namespace

HttpReply HttpCall(int port, http::verb verb, const std::string& target, const std::string& body,
                   const Headers& headers) {
  net::io_context ioc;
  tcp::socket socket(ioc);
  beast::error_code ec;
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), ec);
  if (ec) return HttpReply();
  beast::flat_buffer buffer;
  return Exchange(socket, buffer, port, verb, target, body, headers);
}

HttpConnection::HttpConnection(int port) : port_(port), socket_(ioc_) {
  socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  socket_.set_option(tcp::no_delay(true));
}

HttpReply HttpConnection::Call(http::verb verb, const std::string& target, const std::string& body,
                               const Headers& headers) {
  return Exchange(socket_, buffer_, port_, verb, target, body, headers);
}

std::string RawReply::Describe() const {
  if (status != 0) return "HTTP " + std::to_string(status) + ": " + body.substr(0, 300);
  if (timed_out) return "no answer and the connection stayed open";
  return "connection closed (" + error + ")";
}

RawReply SendRaw(int port, const std::string& bytes, bool half_close, std::chrono::seconds deadline) {
  RawReply reply;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.socket().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), ec);
  if (ec) {
    reply.error = "connect: " + ec.message();
    return reply;
  }
  stream.expires_after(deadline);
  // The server may answer (and close) before it has read everything: the
  // write may fail, the answer is still read.
  net::async_write(stream, net::buffer(bytes), [&](beast::error_code wec, size_t) {
    if (!wec && half_close) stream.socket().shutdown(tcp::socket::shutdown_send, wec);
  });
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  http::async_read(stream, buffer, parser, [&](beast::error_code rec, size_t) {
    if (rec == beast::error::timeout) {
      reply.timed_out = true;
    } else if (rec) {
      reply.error = rec.message();
    } else {
      reply.status = parser.get().result_int();
      reply.body = parser.get().body();
    }
    beast::error_code ignored;
    stream.socket().close(ignored);
  });
  ioc.run();
  return reply;
}

std::unique_ptr<WebSocket> OpenWebSocket(net::io_context& ioc, int port, const std::string& target,
                                         const Headers& headers) {
  auto ws = std::make_unique<WebSocket>(ioc);
  ws->next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  ws->set_option(beast::websocket::stream_base::decorator([headers](beast::websocket::request_type& req) {
    for (const auto& [k, v] : headers) req.set(k, v);
  }));
  ws->handshake(HostHeader(port), target);
  return ws;
}

nlohmann::json ReadFrame(WebSocket& ws) {
  beast::flat_buffer frame;
  beast::error_code ec;
  ws.read(frame, ec);
  if (ec) return nullptr;
  return nlohmann::json::parse(beast::buffers_to_string(frame.data()), nullptr, false);
}

}  // namespace evc::edge::testing
