#include "gateway/net/ws_session.hpp"
#include "gateway/core/log_value.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <nlohmann/json.hpp>

#include "gateway/core/json_bounded.hpp"
#include "gateway/core/metrics.hpp"
#include "gateway/net/api.hpp"
#include "gateway/net/console_frame.hpp"

namespace bl {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using nlohmann::json;

namespace {
constexpr std::chrono::seconds hello_timeout{10};
constexpr std::chrono::seconds session_check{30};
// Close codes (docs/protocols/websocket.md).
constexpr unsigned short close_session_ended = 4401;
constexpr unsigned short close_bad_frame = 4400;
}  // namespace

template <class Stream>
ws_session<Stream>::ws_session(Stream&& stream, api& handler, principal who,
                               std::string session_token)
    : ws_(std::move(stream)),
      api_(handler),
      who_(std::move(who)),
      token_(std::move(session_token)),
      timer_(ws_.get_executor()) {}

template <class Stream>
ws_session<Stream>::~ws_session() {
  if (auto* hub = api_.hub()) hub->unsubscribe(this);
}

template <class Stream>
void ws_session<Stream>::run(beast::http::request<beast::http::string_body> req) {
  beast::get_lowest_layer(ws_).expires_never();  // the websocket's own timeouts take over
  // Pings every ~15 s of silence; a console that answers nothing for 30 s is dropped.
  websocket::stream_base::timeout t =
      websocket::stream_base::timeout::suggested(beast::role_type::server);
  t.idle_timeout = std::chrono::seconds(30);
  t.keep_alive_pings = true;
  ws_.set_option(t);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "bluelink"); }));
  ws_.read_message_max(api_.config().console.ws_max_message_bytes);
  ws_.async_accept(
      req, [self = this->shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
}

template <class Stream>
void ws_session<Stream>::on_accept(beast::error_code ec) {
  if (ec) return;
  api_.log().info("event=console_connected username={} agency={}", log_quote(who_.username),
                  who_.agency);
  timer_.expires_after(hello_timeout);
  timer_.async_wait([weak = this->weak_from_this()](beast::error_code timer_ec) {
    auto self = weak.lock();
    if (!self || timer_ec || self->hello_) return;
    self->send_error(
        make_error(errc::link_no_session, "send {\"op\":\"hello\",\"after\":N} within 10 seconds"));
    self->close(close_bad_frame, "no hello");
  });
  do_read();
}

template <class Stream>
void ws_session<Stream>::do_read() {
  ws_.async_read(buffer_, [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
    self->on_read(ec, n);
  });
}

template <class Stream>
void ws_session<Stream>::on_read(beast::error_code ec, std::size_t) {
  if (ec == websocket::error::message_too_big) {
    // Beast has already failed the connection with 1009; nothing more can be sent.
    api_.stats().error(std::string(info(errc::payload_too_large).id));
    return;
  }
  if (ec) {
    if (subscribed_)
      api_.log().info("event=console_disconnected username={} agency={} reason={}",
                      log_quote(who_.username), who_.agency, log_quote(ec.message()));
    timer_.cancel();
    return;
  }
  std::string text = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  handle(text);
  if (!closing_) do_read();
}

template <class Stream>
void ws_session<Stream>::handle(const std::string& text) {
  auto parsed = parse_console_frame(
      text, api_.schemas(),
      edge_json_limits(api_.config(), api_.config().console.ws_max_message_bytes));
  if (auto* e = std::get_if<error>(&parsed)) return send_error(*e);
  const auto& frame = std::get<console_frame>(parsed);
  if (frame.what == console_frame::op::ping)
    return enqueue(std::make_shared<const std::string>(R"({"op":"pong"})"));
  if (hello_) return send_error(make_error(errc::bad_request, "hello was already received", "/op"));
  hello_ = true;
  const std::int64_t after = frame.after;
  json user = {{"username", who_.username},
               {"display_name", who_.display_name},
               {"role", to_string(who_.who)},
               {"agency", who_.agency.empty() ? json() : json(who_.agency)}};
  enqueue(std::make_shared<const std::string>(
      json{{"op", "welcome"}, {"user", user}, {"after", after < 0 ? json() : json(after)}}.dump()));
  if (auto* hub = api_.hub()) {
    subscribed_ = true;
    hub->subscribe(this->shared_from_this(), after);
  }
  schedule_check();
}

template <class Stream>
void ws_session<Stream>::schedule_check() {
  timer_.expires_after(session_check);
  timer_.async_wait([weak = this->weak_from_this()](beast::error_code ec) {
    auto self = weak.lock();
    if (!self || ec || self->closing_) return;
    auto s = self->api_.accts().session(self->token_);
    if (auto* e = std::get_if<error>(&s)) {
      self->send_error(*e);
      return self->close(close_session_ended, "session ended");
    }
    self->schedule_check();
  });
}

template <class Stream>
void ws_session<Stream>::push(std::shared_ptr<const std::string> frame) {
  asio::post(ws_.get_executor(),
             [self = this->shared_from_this(), frame = std::move(frame)]() mutable {
               self->enqueue(std::move(frame));
             });
}

template <class Stream>
void ws_session<Stream>::enqueue(std::shared_ptr<const std::string> frame) {
  if (closing_) return;
  if (queue_.size() >= api_.config().console.ws_max_queued) {
    api_.log().warn("event=console_too_slow username={} agency={} queued={}",
                    log_quote(who_.username), who_.agency, queue_.size());
    return close(websocket::close_code::try_again_later,
                 "too slow: reconnect and catch up from your last event");
  }
  queue_.push_back(std::move(frame));
  if (!writing_) do_write();
}

template <class Stream>
void ws_session<Stream>::do_write() {
  if (queue_.empty() || closing_) return;
  writing_ = true;
  ws_.text(true);
  ws_.async_write(asio::buffer(*queue_.front()),
                  [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                    self->on_write(ec, n);
                  });
}

template <class Stream>
void ws_session<Stream>::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  if (ec) return;
  queue_.pop_front();
  if (closing_) return start_close();
  do_write();
}

template <class Stream>
void ws_session<Stream>::send_error(const error& e) {
  api_.stats().error(std::string(e.id()));
  json f = {{"op", "error"}, {"code", e.id()}, {"message", e.message}};
  if (!e.pointer.empty()) f["pointer"] = e.pointer;
  enqueue(std::make_shared<const std::string>(f.dump()));
}

template <class Stream>
void ws_session<Stream>::close(unsigned short code, const std::string& reason) {
  if (closing_) return;
  closing_ = true;
  timer_.cancel();
  if (subscribed_)
    if (auto* hub = api_.hub()) hub->unsubscribe(this);
  close_reason_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
  // Nothing more is sent but the frame being written, whose buffer must live until it is done;
  // Beast allows a close only once that write has finished.
  while (queue_.size() > (writing_ ? 1u : 0u)) queue_.pop_back();
  if (!writing_) start_close();
}

template <class Stream>
void ws_session<Stream>::start_close() {
  ws_.async_close(close_reason_, [self = this->shared_from_this()](beast::error_code) {});
}

template class ws_session<beast::tcp_stream>;
template class ws_session<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace bl
