#pragma once
// One console WebSocket (docs/protocols/websocket.md). Created by http_session once an upgrade
// request to /api/v1/ws has been authenticated (session cookie, Origin); it then owns the socket.
//
// Protocol: the console sends {"op":"hello","after":N}; the session subscribes to the
// console_hub, which replays the agency's events after N, then streams live ones and link status.
// Slow consoles: at most console.ws_max_queued frames wait to be written; beyond that the socket is
// closed with 1013 (try again later) and the console catches up from its last event when it
// reconnects, so nothing is lost and a stuck browser cannot grow the gateway's memory.
// Sessions are re-checked every 30 s: a logged-out, expired or disabled account is closed with
// 4401.
//
// Threading: everything runs on the connection's strand; push() may be called from the hub thread
// and posts onto it.

#include <deque>
#include <memory>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "gateway/net/console_hub.hpp"
#include "gateway/service/accounts.hpp"

namespace bl {

class api;

/// Stream: boost::beast::tcp_stream (ws://) or boost::beast::ssl_stream<tcp_stream> (wss://).
template <class Stream>
class ws_session : public console_subscriber,
                   public std::enable_shared_from_this<ws_session<Stream>> {
 public:
  ws_session(Stream&& stream, api& handler, principal who, std::string session_token);
  ~ws_session() override;
  /// Completes the upgrade with the request http_session has read.
  void run(boost::beast::http::request<boost::beast::http::string_body> req);

  void push(std::shared_ptr<const std::string> frame) override;
  const std::string& agency() const override { return who_.agency; }

 private:
  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t n);
  void handle(const std::string& text);
  void enqueue(std::shared_ptr<const std::string> frame);
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t n);
  void close(unsigned short code, const std::string& reason);
  void start_close();
  void send_error(const error& e);
  void schedule_check();

  boost::beast::websocket::stream<Stream> ws_;
  boost::beast::flat_buffer buffer_;
  api& api_;
  principal who_;
  std::string token_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  bool writing_ = false;
  bool hello_ = false;
  bool closing_ = false;
  bool subscribed_ = false;
  boost::beast::websocket::close_reason close_reason_;
  boost::asio::steady_timer timer_;  // hello deadline, then the periodic session check
};

}  // namespace bl
