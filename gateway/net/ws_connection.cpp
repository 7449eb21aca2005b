#include "gateway/net/ws_connection.hpp"

#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "gateway/core/error.hpp"
#include "gateway/core/log_value.hpp"
#include "gateway/core/metrics.hpp"
#include "gateway/net/ws_io.hpp"

namespace bl {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;

namespace {

template <class Stream>
class ws_io_impl final : public ws_io {
 public:
  explicit ws_io_impl(Stream&& s) : ws_(std::move(s)) {}

  asio::any_io_executor executor() override { return ws_.get_executor(); }

  void configure(const ws_options& o) override {
    beast::get_lowest_layer(ws_).expires_never();  // the websocket's own timeouts take over
    // Pings after half the idle limit of silence; a peer that answers nothing is dropped.
    auto t = websocket::stream_base::timeout::suggested(beast::role_type::server);
    t.idle_timeout = o.idle_timeout;
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.set_option(
        websocket::stream_base::decorator([sub = o.subprotocol](websocket::response_type& res) {
          res.set(beast::http::field::server, "bluelink");
          if (!sub.empty()) res.set(beast::http::field::sec_websocket_protocol, sub);
        }));
    ws_.read_message_max(o.max_message_bytes);
  }

  void accept(beast::http::request<beast::http::string_body> req,
              std::function<void(beast::error_code)> done) override {
    ws_.async_accept(req, std::move(done));
  }

  void read(std::function<void(beast::error_code, std::string)> done) override {
    ws_.async_read(buffer_, [this, done = std::move(done)](beast::error_code ec, std::size_t) {
      std::string text;
      if (!ec) text = beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
      done(ec, std::move(text));
    });
  }

  void write(const std::string& frame, std::function<void(beast::error_code)> done) override {
    ws_.text(true);
    ws_.async_write(asio::buffer(frame),
                    [done = std::move(done)](beast::error_code ec, std::size_t) { done(ec); });
  }

  void close(unsigned short code, const std::string& reason,
             std::function<void(beast::error_code)> done) override {
    ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(code), reason),
                    std::move(done));
  }

 private:
  websocket::stream<Stream> ws_;
  beast::flat_buffer buffer_;
};

// The normal ways for a connection to end: nothing to warn an operator about.
bool benign(const beast::error_code& ec) {
  return ec == websocket::error::closed || ec == asio::error::eof ||
         ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
         ec == beast::error::timeout || ec == asio::ssl::error::stream_truncated;
}

}  // namespace

std::unique_ptr<ws_io> make_ws_io(beast::tcp_stream&& stream) {
  return std::make_unique<ws_io_impl<beast::tcp_stream>>(std::move(stream));
}

std::unique_ptr<ws_io> make_ws_io(beast::ssl_stream<beast::tcp_stream>&& stream) {
  return std::make_unique<ws_io_impl<beast::ssl_stream<beast::tcp_stream>>>(std::move(stream));
}

ws_connection::ws_connection(std::unique_ptr<ws_io> io, ws_options options, spdlog::logger& log,
                             metrics& stats, connection_slot slot)
    : log_(log),
      stats_(stats),
      options_(std::move(options)),
      slot_(std::move(slot)),
      io_(std::move(io)) {}

ws_connection::~ws_connection() = default;

asio::any_io_executor ws_connection::executor() const {
  return io_->executor();
}

void ws_connection::run(beast::http::request<beast::http::string_body> req) {
  io_->configure(options_);
  io_->accept(std::move(req),
              [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
}

// The session boundary: nothing a session's hook throws may reach the I/O thread
// (std::terminate). Logged, counted as bl.gateway.internal; false when `fn` threw.
template <class Fn>
bool ws_connection::guarded(const char* op, Fn&& fn) {
  try {
    fn();
    return true;
  } catch (const std::exception& e) {
    log_.error("event=ws_session_failed edge={} {} op={} error={}", options_.edge, log_fields(), op,
               log_quote(e.what()));
  } catch (...) {
    log_.error("event=ws_session_failed edge={} {} op={} error=\"unknown exception\"",
               options_.edge, log_fields(), op);
  }
  stats_.error(std::string(info(errc::internal).id));
  return false;
}

void ws_connection::on_accept(beast::error_code ec) {
  if (ec) return fail(ec, "accept");
  open_ = true;
  if (!guarded("open", [&] { on_open(); }))
    return close(ws_close::internal_error, "the gateway failed; reconnect");
  do_read();
}

void ws_connection::do_read() {
  io_->read([self = shared_from_this()](beast::error_code ec, std::string text) {
    self->on_read(ec, std::move(text));
  });
}

void ws_connection::on_read(beast::error_code ec, std::string text) {
  if (ec) return fail(ec, "read");
  if (!guarded("message", [&] { on_message(std::move(text)); }))
    return close(ws_close::internal_error,
                 "the gateway failed on this message; it was logged. Reconnect and resume");
  if (!closing_) do_read();
}

void ws_connection::send(std::string frame) {
  send(std::make_shared<const std::string>(std::move(frame)));
}

void ws_connection::send(std::shared_ptr<const std::string> frame) {
  if (closing_) return;
  if (queue_.size() >= options_.max_queued) {
    log_.warn("event=ws_too_slow edge={} {} queued={}", options_.edge, log_fields(), queue_.size());
    return close(ws_close::try_again_later, options_.slow_reason);
  }
  queue_.push_back(std::move(frame));
  if (!writing_) do_write();
}

void ws_connection::do_write() {
  if (queue_.empty() || !open_) return;
  writing_ = true;
  io_->write(*queue_.front(),
             [self = shared_from_this()](beast::error_code ec) { self->on_write(ec); });
}

void ws_connection::on_write(beast::error_code ec) {
  writing_ = false;
  if (ec) return fail(ec, "write");
  queue_.pop_front();
  if (closing_) return start_close();
  do_write();
}

void ws_connection::close(unsigned short code, std::string reason) {
  if (closing_) return;
  closing_ = true;
  close_code_ = code;
  close_reason_ = std::move(reason);
  // Only the frame being written may stay: its buffer must live until the write is done, and
  // Beast allows a close only once that write has finished.
  while (queue_.size() > (writing_ ? 1u : 0u)) queue_.pop_back();
  ended();
  if (!writing_ && open_) start_close();
}

void ws_connection::start_close() {
  io_->close(close_code_, close_reason_, [self = shared_from_this()](beast::error_code ec) {
    if (ec && !benign(ec)) {
      self->log_.warn("event=ws_error edge={} {} op=close error={}", self->options_.edge,
                      self->log_fields(), log_quote(ec.message()));
      self->stats_.ws_error(self->options_.edge, "close");
    }
  });
}

void ws_connection::fail(beast::error_code ec, const char* what) {
  if (failed_) return;  // the read and a write in flight both end with the socket: one line
  failed_ = true;
  if (ec == websocket::error::message_too_big) {
    // Beast has already failed the connection with 1009; nothing more can be sent.
    log_.warn("event=ws_message_too_big edge={} {} limit_bytes={}", options_.edge, log_fields(),
              options_.max_message_bytes);
    stats_.error(std::string(info(errc::payload_too_large).id));
  } else if (benign(ec)) {
    log_.info("event=ws_disconnected edge={} {} reason={}", options_.edge, log_fields(),
              log_quote(ec.message()));
  } else {
    log_.warn("event=ws_error edge={} {} op={} error={}", options_.edge, log_fields(), what,
              log_quote(ec.message()));
    stats_.ws_error(options_.edge, what);
  }
  closing_ = true;
  // A write still in flight owns the front frame's buffer until it completes.
  while (queue_.size() > (writing_ ? 1u : 0u)) queue_.pop_back();
  ended();
}

void ws_connection::ended() {
  if (ended_) return;
  ended_ = true;
  guarded("closed", [&] { on_closed(); });
}

void ws_connection::post(std::function<void()> fn) {
  asio::post(io_->executor(), [weak = weak_from_this(), fn = std::move(fn)] {
    if (auto self = weak.lock()) fn();
  });
}

}  // namespace bl
