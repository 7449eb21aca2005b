#include "gateway/net/console_session.hpp"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "gateway/core/config.hpp"
#include "gateway/core/error.hpp"
#include "gateway/core/json_bounded.hpp"
#include "gateway/core/log_value.hpp"
#include "gateway/core/metrics.hpp"
#include "gateway/net/console_frame.hpp"

namespace bl {

using nlohmann::json;

namespace {
constexpr std::chrono::seconds hello_timeout{10};
constexpr std::chrono::seconds session_check{30};

ws_options console_options(const gateway_config& cfg) {
  ws_options o;
  o.edge = "console";
  o.max_message_bytes = cfg.console.ws_max_message_bytes;
  o.max_queued = cfg.console.ws_max_queued;
  o.slow_reason = "too slow: reconnect and catch up from your last event";
  return o;
}
}  // namespace

console_session::console_session(std::unique_ptr<ws_io> io, const console_session_services& s,
                                 principal who, std::string session_token, connection_slot slot)
    : ws_connection(std::move(io), console_options(s.cfg), s.log, s.stats, std::move(slot)),
      s_(s),
      who_(std::move(who)),
      feed_agency_(acts_for_agency(who_) ? who_.agency : std::string()),
      token_(std::move(session_token)),
      timer_(executor()) {}

console_session::~console_session() {
  if (s_.hub) s_.hub->unsubscribe(this);
}

std::string console_session::log_fields() const {
  return "username=" + log_quote(who_.username) + " agency=" + who_.agency;
}

void console_session::on_open() {
  log_.info("event=console_connected username={} agency={}", log_quote(who_.username), who_.agency);
  timer_.expires_after(hello_timeout);
  timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto base = weak.lock();
    if (!base || ec) return;
    auto* self = static_cast<console_session*>(base.get());
    if (self->hello_ || self->closing()) return;
    self->send_error(
        make_error(errc::link_no_session, "send {\"op\":\"hello\",\"after\":N} within 10 seconds"));
    self->close(ws_close::bad_frame, "no hello");
  });
}

void console_session::on_closed() {
  timer_.cancel();
  if (subscribed_) {
    log_.info("event=console_disconnected username={} agency={}", log_quote(who_.username),
              who_.agency);
    if (s_.hub) s_.hub->unsubscribe(this);
  }
}

void console_session::on_message(std::string text) {
  auto parsed = parse_console_frame(text, s_.schemas,
                                    edge_json_limits(s_.cfg, s_.cfg.console.ws_max_message_bytes));
  if (auto* e = std::get_if<error>(&parsed)) return send_error(*e);
  const auto& frame = std::get<console_frame>(parsed);
  if (frame.what == console_frame::op::ping) return send(R"({"op":"pong"})");
  if (hello_) return send_error(make_error(errc::bad_request, "hello was already received", "/op"));
  hello_ = true;
  const std::int64_t after = frame.after;
  json user = {{"username", who_.username},
               {"display_name", who_.display_name},
               {"role", to_string(who_.who)},
               {"agency", who_.agency.empty() ? json() : json(who_.agency)}};
  send(json{{"op", "welcome"}, {"user", user}, {"after", after < 0 ? json() : json(after)}}.dump());
  if (s_.hub) {
    subscribed_ = true;
    s_.hub->subscribe(self(), after);
  }
  schedule_check();
}

void console_session::schedule_check() {
  timer_.expires_after(session_check);
  timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto base = weak.lock();
    if (!base || ec) return;
    auto* self = static_cast<console_session*>(base.get());
    if (self->closing()) return;
    auto s = self->s_.accts.session(self->token_);
    if (auto* e = std::get_if<error>(&s)) {
      self->send_error(*e);
      return self->close(ws_close::session_ended, "session ended");
    }
    self->schedule_check();
  });
}

void console_session::push(std::shared_ptr<const std::string> frame) {
  post([this, frame = std::move(frame)]() mutable { send(std::move(frame)); });
}

void console_session::send_error(const error& e) {
  stats_.error(std::string(e.id()));
  json f = {{"op", "error"}, {"code", e.id()}, {"message", e.message}};
  if (!e.pointer.empty()) f["pointer"] = e.pointer;
  send(f.dump());
}

}  // namespace bl
