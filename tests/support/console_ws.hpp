#pragma once
// A blocking console WebSocket client (docs/protocols/websocket.md) for system tests and the soak:
// connects to /api/v1/ws on 127.0.0.1 with a session cookie and an Origin, sends frames and reads
// them one at a time.
//
// Ownership and threading: owns its io_context and socket; not thread-safe (use it from one
// thread; reads and writes alternate). Lifetime: the socket closes when the client is destroyed.

#include <chrono>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <nlohmann/json.hpp>

namespace bl::test {

class console_ws {
 public:
  /// Connects and upgrades; throws boost::system::system_error when the upgrade is refused.
  console_ws(unsigned short port, const std::string& cookie, const std::string& origin);
  console_ws(const console_ws&) = delete;
  console_ws& operator=(const console_ws&) = delete;

  void send(const nlohmann::json& frame) { send_text(frame.dump()); }
  void send_text(const std::string& text);
  /// The next frame; throws boost::system::system_error when none comes within `timeout` (the
  /// socket is closed then) or the connection ends.
  nlohmann::json next(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Reads until a frame with op == `op` arrives, skipping welcome, caught_up and links frames;
  /// throws std::runtime_error on any other frame.
  nlohmann::json until(const std::string& op);
  /// Drops the connection abruptly, like a lost network.
  void close();

 private:
  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::websocket::response_type response_;
};

}  // namespace bl::test
