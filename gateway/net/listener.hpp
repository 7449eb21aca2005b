#pragma once
// Accepts TCP connections and starts an http_session for each, on its own strand, within the
// connection limits: a connection beyond limits.max_connections or
// limits.max_connections_per_address is answered with a short 503 bl.request.too_many_connections
// and closed, without holding up the acceptor. When accept() fails (EMFILE, ENFILE, ...) the
// listener waits before trying again, 10 ms doubling to 1 s, and resumes by itself.
//
// Ownership: shared; the pending accept (or back-off timer) holds it alive until stop().
// Threading: accepting, admission and the back-off run on the acceptor's strand.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway/net/connection_limiter.hpp"
#include "gateway/net/http_session.hpp"

namespace spdlog {
class logger;
}

namespace bl {

class api;
class metrics;

struct listener_options {
  http_limits http;
  connection_limits connections;
  /// Refused connections being answered at once; beyond it a refused one is closed unanswered,
  /// so that a flood cannot turn refusals into a way of holding file descriptors.
  std::size_t max_refusals_in_flight = 64;
  /// Longest a refused connection is kept to write its 503 and see the client close.
  std::chrono::milliseconds refusal_timeout{2000};
  std::chrono::milliseconds accept_backoff_initial{10};
  std::chrono::milliseconds accept_backoff_max{1000};
  /// At most one log line per this interval about refused connections (with their count).
  std::chrono::milliseconds refusal_log_interval{10000};
};

class listener : public std::enable_shared_from_this<listener> {
 public:
  /// Binds and listens at once so that the chosen port (for port 0) is known; throws on failure.
  /// With `tls` (not null, outliving the listener) every connection speaks HTTPS/WSS only.
  listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& ep, api& handler,
           const listener_options& options, metrics& stats, std::shared_ptr<spdlog::logger> log,
           boost::asio::ssl::context* tls = nullptr);
  void run();
  void stop();
  unsigned short port() const { return port_; }
  /// Connections held open now (HTTP and upgraded WebSockets).
  std::size_t open_connections() const { return limiter_->open(); }

 private:
  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);
  void on_accept_error(boost::system::error_code ec);
  void admit(boost::asio::ip::tcp::socket socket);
  void refuse(boost::asio::ip::tcp::socket socket, const boost::asio::ip::address& remote,
              connection_limiter::refusal why);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_timer_;
  api& api_;
  listener_options options_;
  metrics& stats_;
  std::shared_ptr<spdlog::logger> log_;
  boost::asio::ssl::context* tls_;
  std::shared_ptr<connection_limiter> limiter_;
  unsigned short port_ = 0;

  // The 503 answers, whole (status line to body), made once.
  std::shared_ptr<const std::string> refusal_total_, refusal_per_address_;
  std::shared_ptr<std::atomic<std::size_t>> refusals_in_flight_;

  // Accept failures: the current back-off, and the episode being reported (one line each way).
  std::chrono::milliseconds backoff_{0};
  std::uint64_t failures_in_episode_ = 0;
  std::chrono::steady_clock::time_point episode_start_{};

  // Refusals since the last log line about them.
  std::uint64_t refused_since_log_ = 0;
  std::chrono::steady_clock::time_point last_refusal_log_{};
};

}  // namespace bl
