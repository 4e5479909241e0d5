#pragma once
// A small synchronous HTTP/WebSocket client (Beast) for tests and benchmarks
// that talk to an edge on 127.0.0.1.

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

namespace evc::edge::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpReply {
  int status = 0;  // 0: no answer (connection failed)
  std::string body;
  boost::beast::http::response<boost::beast::http::string_body> raw;
  // The body as JSON (null when it is not JSON).
  nlohmann::json json() const;
};

// One request on a fresh connection.
HttpReply HttpCall(int port, boost::beast::http::verb verb, const std::string& target,
                   const std::string& body = "", const Headers& headers = {});

// Keeps one connection open for many requests (keep-alive).
class HttpConnection {
 public:
  explicit HttpConnection(int port);
  HttpReply Call(boost::beast::http::verb verb, const std::string& target, const std::string& body = "",
                 const Headers& headers = {});

 private:
  int port_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

// What came back for raw bytes on a fresh connection (hostile tests).
struct RawReply {
  int status = 0;          // 0: no HTTP answer
  bool timed_out = false;  // neither an answer nor a close within the deadline
  std::string body;
  std::string error;  // how the read ended without an answer
  // "HTTP 400: ...", "connection closed (...)", "no answer ...".
  std::string Describe() const;
};
// Writes `bytes` as they are (then half-closes when `half_close`) and reads
// one answer, waiting at most `deadline`.
RawReply SendRaw(int port, const std::string& bytes, bool half_close = false,
                 std::chrono::seconds deadline = std::chrono::seconds(10));

using WebSocket = boost::beast::websocket::stream<boost::asio::ip::tcp::socket>;
// Opens a WebSocket; throws boost::system::system_error when refused.
std::unique_ptr<WebSocket> OpenWebSocket(boost::asio::io_context& ioc, int port, const std::string& target,
                                         const Headers& headers = {});
// The next frame as JSON; null on close or error.
nlohmann::json ReadFrame(WebSocket& ws);

}  // namespace evc::edge::testing
