#include "gateway/net/listener.hpp"

#include <algorithm>
#include <array>
#include <sstream>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "gateway/core/log_value.hpp"
#include "gateway/core/metrics.hpp"
#include "gateway/net/api.hpp"

namespace bl {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// The whole 503 a refused connection gets, serialised once.
std::shared_ptr<const std::string> make_refusal(const std::string& message) {
  auto r = api::error_response(make_error(errc::too_many_connections, message));
  http::response<http::string_body> res(static_cast<http::status>(r.status), 11);
  res.set(http::field::server, "bluelink");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  res.set(http::field::retry_after, "5");
  res.keep_alive(false);
  res.body() = std::move(r.body);
  res.prepare_payload();
  std::ostringstream out;
  out << res;
  return std::make_shared<const std::string>(out.str());
}

// A connection refused beyond a limit: write the 503, half-close, read whatever the client sent
// until it closes, then close. Reading before closing matters: closing a socket with unread
// input sends a reset, which can destroy the 503 before the client has read it. Everything runs
// within one deadline (the stream's timer), so a client that never reads or never closes is cut
// off. Ownership: the pending operation holds it. Threading: the connection's own strand.
template <class Stream>
class refused_connection : public std::enable_shared_from_this<refused_connection<Stream>> {
 public:
  refused_connection(Stream stream, std::shared_ptr<const std::string> response,
                     std::shared_ptr<std::atomic<std::size_t>> in_flight)
      : stream_(std::move(stream)),
        response_(std::move(response)),
        in_flight_(std::move(in_flight)) {}
  ~refused_connection() { in_flight_->fetch_sub(1); }

  void run(std::chrono::milliseconds timeout) {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this(), timeout] {
      beast::get_lowest_layer(self->stream_).expires_after(timeout);
      if constexpr (tls)
        self->stream_.async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) return self->close();
          self->do_write();
        });
      else
        self->do_write();
    });
  }

 private:
  static constexpr bool tls = !std::is_same_v<Stream, beast::tcp_stream>;

  void do_write() {
    asio::async_write(stream_, asio::buffer(*response_),
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        self->finish();
                      });
  }

  void finish() {
    if constexpr (tls) {
      // close_notify; the deadline bounds a peer that never answers it.
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->close(); });
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      do_drain();
    }
  }

  void do_drain() {
    stream_.async_read_some(asio::buffer(drain_),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close();
                              self->do_drain();
                            });
  }

  void close() {
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().close(ec);
  }

  Stream stream_;
  std::shared_ptr<const std::string> response_;
  std::shared_ptr<std::atomic<std::size_t>> in_flight_;
  std::array<char, 2048> drain_{};
};

using tls_stream = beast::ssl_stream<beast::tcp_stream>;

}  // namespace

listener::listener(asio::io_context& ioc, const tcp::endpoint& ep, api& handler,
                   const listener_options& options, metrics& stats,
                   std::shared_ptr<spdlog::logger> log, asio::ssl::context* tls)
    : ioc_(ioc),
      acceptor_(asio::make_strand(ioc)),
      backoff_timer_(acceptor_.get_executor()),
      api_(handler),
      options_(options),
      stats_(stats),
      log_(std::move(log)),
      tls_(tls),
      limiter_(make_connection_limiter(options.connections, stats)),
      refusal_total_(make_refusal("the gateway already holds its limit of " +
                                  std::to_string(options.connections.max_total) +
                                  " connections (limits.max_connections); try again shortly")),
      refusal_per_address_(make_refusal(
          "this address already holds its limit of " +
          std::to_string(options.connections.max_per_address) +
          " connections (limits.max_connections_per_address); close some or try again shortly")),
      refusals_in_flight_(std::make_shared<std::atomic<std::size_t>>(0)) {
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
}

void listener::run() {
  asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
}

void listener::stop() {
  asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
    self->backoff_timer_.cancel();
  });
}

void listener::do_accept() {
  // Each connection gets its own strand: its handlers never run concurrently.
  acceptor_.async_accept(
      asio::make_strand(ioc_),
      [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
        self->on_accept(ec, std::move(socket));
      });
}

void listener::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) return on_accept_error(ec);
  if (failures_in_episode_ > 0) {
    auto paused = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - episode_start_);
    log_->info("event=accept_resumed paused_ms={} failed_accepts={} open_connections={}",
               paused.count(), failures_in_episode_, limiter_->open());
    failures_in_episode_ = 0;
    backoff_ = std::chrono::milliseconds(0);
  }
  admit(std::move(socket));
  do_accept();
}

void listener::on_accept_error(boost::system::error_code ec) {
  // Retrying at once would spin: the pending connection stays in the backlog and the listening
  // socket stays readable. Wait, longer each time, until descriptors (or memory) free up.
  stats_.accept_error();
  backoff_ = backoff_.count() == 0 ? options_.accept_backoff_initial
                                   : std::min(backoff_ * 2, options_.accept_backoff_max);
  if (failures_in_episode_++ == 0) {
    episode_start_ = std::chrono::steady_clock::now();
    log_->warn(
        "event=accept_paused error={} errno={} retry_ms={} max_retry_ms={} "
        "open_connections={}",
        log_quote(ec.message()), ec.value(), backoff_.count(), options_.accept_backoff_max.count(),
        limiter_->open());
  }
  backoff_timer_.expires_after(backoff_);
  backoff_timer_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
    if (wait_ec || !self->acceptor_.is_open()) return;
    self->do_accept();
  });
}

void listener::admit(tcp::socket socket) {
  boost::system::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  if (ec) return;  // the client has gone already; the socket closes here
  auto granted = limiter_->acquire(peer.address());
  if (auto* why = std::get_if<connection_limiter::refusal>(&granted))
    return refuse(std::move(socket), peer.address(), *why);
  socket.set_option(tcp::no_delay(true), ec);
  auto& slot = std::get<connection_slot>(granted);
  if (tls_)
    std::make_shared<tls_http_session>(std::move(socket), tls_, api_, options_.http,
                                       std::move(slot))
        ->run();
  else
    std::make_shared<plain_http_session>(std::move(socket), nullptr, api_, options_.http,
                                         std::move(slot))
        ->run();
}

void listener::refuse(tcp::socket socket, const asio::ip::address& remote,
                      connection_limiter::refusal why) {
  const bool total = why == connection_limiter::refusal::total;
  // One line now and then, with the count, rather than one per refused connection: a flood must
  // not also flood the log.
  ++refused_since_log_;
  auto now = std::chrono::steady_clock::now();
  if (last_refusal_log_ == std::chrono::steady_clock::time_point{} ||
      now - last_refusal_log_ >= options_.refusal_log_interval) {
    log_->warn(
        "event=connections_refused reason={} remote={} open_connections={} limit={} "
        "refused_since_last_report={}",
        total ? "total" : "per_address", log_quote(remote.to_string()), limiter_->open(),
        total ? options_.connections.max_total : options_.connections.max_per_address,
        refused_since_log_);
    last_refusal_log_ = now;
    refused_since_log_ = 0;
  }
  // Beyond a handful being answered, close at once: the answer must not cost descriptors.
  if (refusals_in_flight_->fetch_add(1) >= options_.max_refusals_in_flight) {
    refusals_in_flight_->fetch_sub(1);
    boost::system::error_code ec;
    socket.close(ec);
    return;
  }
  auto response = total ? refusal_total_ : refusal_per_address_;
  if (tls_)
    std::make_shared<refused_connection<tls_stream>>(tls_stream(std::move(socket), *tls_),
                                                     std::move(response), refusals_in_flight_)
        ->run(options_.refusal_timeout);
  else
    std::make_shared<refused_connection<beast::tcp_stream>>(
        beast::tcp_stream(std::move(socket)), std::move(response), refusals_in_flight_)
        ->run(options_.refusal_timeout);
}

}  // namespace bl
