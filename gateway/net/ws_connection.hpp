#pragma once
// One server-side WebSocket connection, plain (ws://) or TLS (wss://): what every WebSocket edge
// shares (the console's /api/v1/ws in console_session, EIDO conveyance's /eido/v1 in
// eido_session). A session derives from it and deals in text messages, never in sockets:
//
//  - the upgrade: `Server: bluelink`, the subprotocol answered when the edge has one, Beast's
//    suggested server timeouts with keep-alive pings and an idle limit (a peer that answers
//    nothing for idle_timeout is dropped), and read_message_max;
//  - one read loop handing each message to on_message();
//  - one bounded write queue: send() queues a frame; a peer that lets more than max_queued
//    frames wait is too slow and is closed with 1013 (try again later) and `slow_reason`, so a
//    stuck client cannot grow the gateway's memory (it resumes from its last acknowledged
//    position when it reconnects: nothing is lost);
//  - close(code, reason): the frame being written finishes (its buffer must live until then),
//    nothing else queued is sent, then the close handshake;
//  - fail(ec, what): the one place a connection ends on an error. Benign ends (the peer closed,
//    EOF, a cancelled operation, a TLS peer that skipped close_notify) are logged at info; any
//    other error is logged at warn and counted in bluelink_ws_errors_total{edge,op}. A message
//    over max_message_bytes is failed by Beast with 1009 (message too big); it is logged and
//    counted as bl.request.too_large. on_closed() runs exactly once however the connection ends.
//
// Ownership: pending reads and writes hold the connection (shared_from_this); post() and timers
// should hold a weak_ptr so that a closed connection is freed at once. The connection's slot in
// the listener's count is released when the object is destroyed, after the socket.
// Threading: everything runs on the connection's strand (executor()); post() is how other threads
// (the engine, the console hub) reach it.
//
// This header holds no Beast WebSocket code: the part that depends on the stream type is compiled
// once, in ws_connection.cpp, for both stream types (gateway/net/ws_io.hpp makes it).

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "gateway/net/connection_limiter.hpp"

namespace spdlog {
class logger;
}

namespace bl {

class metrics;
struct ws_options;

/// The socket under a ws_connection, behind the few operations it needs; one implementation per
/// stream type, both in ws_connection.cpp (made by make_ws_io() in gateway/net/ws_io.hpp).
class ws_io {
 public:
  virtual ~ws_io() = default;
  virtual boost::asio::any_io_executor executor() = 0;
  virtual void configure(const ws_options& o) = 0;
  virtual void accept(boost::beast::http::request<boost::beast::http::string_body> req,
                      std::function<void(boost::beast::error_code)> done) = 0;
  /// Reads one whole message; `done` gets its text.
  virtual void read(std::function<void(boost::beast::error_code, std::string)> done) = 0;
  /// Writes one text frame; `frame` must live until `done` runs.
  virtual void write(const std::string& frame,
                     std::function<void(boost::beast::error_code)> done) = 0;
  virtual void close(unsigned short code, const std::string& reason,
                     std::function<void(boost::beast::error_code)> done) = 0;
};

/// What differs between WebSocket edges.
struct ws_options {
  std::string edge;  // "console", "eido": in log lines and metrics
  std::size_t max_message_bytes = 64 * 1024;
  std::size_t max_queued = 256;  // frames waiting to be written; beyond: close 1013
  std::string subprotocol;       // answered in Sec-WebSocket-Protocol when not empty
  std::string slow_reason = "too slow: reconnect and resume from your last event";
  std::chrono::seconds idle_timeout{30};
};

/// WebSocket close codes Bluelink uses (RFC 6455 section 7.4 and docs/protocols/websocket.md).
namespace ws_close {
inline constexpr unsigned short normal = 1000;
inline constexpr unsigned short going_away = 1001;
inline constexpr unsigned short too_big = 1009;
inline constexpr unsigned short internal_error = 1011;
inline constexpr unsigned short try_again_later = 1013;
inline constexpr unsigned short bad_frame = 4400;      // the console's protocol was not followed
inline constexpr unsigned short session_ended = 4401;  // signed out, expired or disabled
}  // namespace ws_close

class ws_connection : public std::enable_shared_from_this<ws_connection> {
 public:
  virtual ~ws_connection();
  ws_connection(const ws_connection&) = delete;
  ws_connection& operator=(const ws_connection&) = delete;

  /// Completes the upgrade with the request http_session has read, then reads messages.
  void run(boost::beast::http::request<boost::beast::http::string_body> req);
  /// The connection's strand.
  boost::asio::any_io_executor executor() const;

  /// Frames waiting to be written (for tests and the slow-consumer rule).
  std::size_t queued() const { return queue_.size(); }

 protected:
  /// `slot` is the connection's place in the listener's count (empty in tests).
  ws_connection(std::unique_ptr<ws_io> io, ws_options options, spdlog::logger& log, metrics& stats,
                connection_slot slot = {});

  /// Queues a text frame. A peer already `max_queued` frames behind is closed with 1013.
  void send(std::shared_ptr<const std::string> frame);
  void send(std::string frame);
  /// Ends the connection with a close frame; nothing queued after the frame being written is sent.
  void close(unsigned short code, std::string reason);
  /// Whether the connection is ending (closed by either side, or failed).
  bool closing() const { return closing_; }
  /// Runs `fn` on the strand, only if the connection still exists then.
  void post(std::function<void()> fn);

  /// The upgrade completed.
  virtual void on_open() {}
  /// One text message from the peer.
  virtual void on_message(std::string text) = 0;
  /// The connection is ending (any cause); runs once. Cancel timers and subscriptions here.
  virtual void on_closed() {}
  /// Identifies the peer in log lines, as logfmt fields ("agency=essex-fire username=...").
  virtual std::string log_fields() const = 0;

  spdlog::logger& log_;
  metrics& stats_;
  const ws_options options_;

 private:
  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::string text);
  void do_write();
  void on_write(boost::beast::error_code ec);
  void start_close();
  /// Runs one of the session's hooks; an exception from it is logged (event=ws_session_failed
  /// op=<op>), counted as bl.gateway.internal, and returned as false.
  template <class Fn>
  bool guarded(const char* op, Fn&& fn);
  /// Ends the connection on an error: logs (info when benign, warn otherwise), counts, on_closed().
  void fail(boost::beast::error_code ec, const char* what);
  void ended();

  connection_slot slot_;  // released after io_ (declared first, destroyed last)
  std::unique_ptr<ws_io> io_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  bool writing_ = false;
  bool closing_ = false;
  bool ended_ = false;
  bool failed_ = false;
  bool open_ = false;
  unsigned short close_code_ = ws_close::normal;
  std::string close_reason_;
};

}  // namespace bl
