#include "tests/support/console_ws.hpp"

#include <stdexcept>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

namespace bl::test {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using nlohmann::json;

console_ws::console_ws(unsigned short port, const std::string& cookie, const std::string& origin)
    : ws_(ioc_) {
  beast::get_lowest_layer(ws_).connect(
      asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  ws_.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
    if (!cookie.empty()) req.set(beast::http::field::cookie, cookie);
    if (!origin.empty()) req.set(beast::http::field::origin, origin);
  }));
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
  ws_.handshake(response_, "127.0.0.1:" + std::to_string(port), "/api/v1/ws");
}

void console_ws::send_text(const std::string& text) {
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
  ws_.write(asio::buffer(text));
}

json console_ws::next(std::chrono::milliseconds timeout) {
  beast::get_lowest_layer(ws_).expires_after(timeout);
  beast::flat_buffer b;
  ws_.read(b);
  return json::parse(beast::buffers_to_string(b.data()));
}

json console_ws::until(const std::string& op) {
  for (;;) {
    auto f = next();
    if (f.at("op") == op) return f;
    // Status frames may come between; anything else is a frame the caller did not expect.
    if (f.at("op") != "links" && f.at("op") != "welcome" && f.at("op") != "caught_up")
      throw std::runtime_error("unexpected frame while waiting for " + op + ": " + f.dump());
  }
}

void console_ws::close() {
  beast::error_code ec;
  beast::get_lowest_layer(ws_).socket().close(ec);
}

}  // namespace bl::test
