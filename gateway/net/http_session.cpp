#include "gateway/net/http_session.hpp"

#include <chrono>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "gateway/net/api.hpp"
#include "gateway/net/ws_session.hpp"
#include "gateway/service/accounts.hpp"

namespace bl {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

namespace {
// A request must arrive in full within this time; idle keep-alive connections are closed after it.
constexpr std::chrono::seconds read_timeout{60};
constexpr std::chrono::seconds write_timeout{30};
}  // namespace

http_session::http_session(asio::ip::tcp::socket socket, api& handler, std::size_t body_limit)
    : stream_(std::move(socket)), api_(handler), body_limit_(body_limit) {}

void http_session::run() {
  // Start on the connection's strand so that every handler of this session is serialised.
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
}

void http_session::do_read() {
  parser_.emplace();
  parser_->body_limit(body_limit_);
  parser_->header_limit(16 * 1024);
  stream_.expires_after(read_timeout);
  http::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->on_read(ec, n); });
}

void http_session::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
    return do_close();
  if (ec == http::error::body_limit) {
    error e = make_error(errc::payload_too_large,
                         "the body exceeds the limit of " + std::to_string(body_limit_) + " bytes");
    auto r = api::error_response(e);
    api_.record_error(r);
    return do_write(std::move(r), false);
  }
  if (ec) {
    error e =
        make_error(errc::bad_request, "the HTTP request could not be parsed: " + ec.message());
    auto r = api::error_response(e);
    api_.record_error(r);
    return do_write(std::move(r), false);
  }
  auto req = parser_->release();
  version_ = req.version();
  bool keep_alive = req.keep_alive();
  api_request r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  r.authorization = std::string(req[http::field::authorization]);
  r.cookie = std::string(req[http::field::cookie]);
  r.origin = std::string(req[http::field::origin]);
  r.host = std::string(req[http::field::host]);
  r.csrf_token = std::string(req["X-CSRF-Token"]);
  beast::error_code ep_ec;
  auto peer = stream_.socket().remote_endpoint(ep_ec);
  if (!ep_ec) r.remote = peer.address().to_string();
  if (beast::websocket::is_upgrade(req)) return upgrade(std::move(req), std::move(r));
  r.body = std::move(req.body());
  // The API may answer from another thread (the engine's); hop back onto this strand to write.
  auto ex = stream_.get_executor();
  api_.handle(std::move(r), ex, [self = shared_from_this(), ex, keep_alive](api_response resp) {
    asio::post(ex, [self, resp = std::move(resp), keep_alive]() mutable {
      self->do_write(std::move(resp), keep_alive);
    });
  });
}

void http_session::upgrade(http::request<http::string_body> req, api_request r) {
  std::string_view target = r.target;
  if (target.substr(0, target.find('?')) != "/api/v1/ws") {
    auto resp = api::error_response(
        make_error(errc::not_found, "WebSocket upgrades are served at /api/v1/ws only"));
    api_.record_error(resp);
    return do_write(std::move(resp), false);
  }
  // A browser always sends Origin on an upgrade; without this check any web page the operator
  // visits could open the console's socket with their cookie (cross-site WebSocket hijacking).
  if (r.origin.empty() || !api_.origin_allowed(r)) {
    auto resp = api::error_response(make_error(
        errc::bad_origin, r.origin.empty()
                              ? "a WebSocket upgrade must carry an Origin header"
                              : "WebSocket upgrades from " + r.origin + " are not accepted"));
    api_.record_error(resp);
    return do_write(std::move(resp), false);
  }
  auto who = api_.authenticate(r);
  if (auto* e = std::get_if<error>(&who)) {
    auto resp = api::error_response(*e);
    api_.record_error(resp);
    return do_write(std::move(resp), false);
  }
  auto& p = std::get<principal>(who);
  if (!p.via_session) {
    auto resp =
        api::error_response(make_error(errc::forbidden_role,
                                       "the console WebSocket is for signed-in console users; "
                                       "integrations use the inbox or the CAD link"));
    api_.record_error(resp);
    return do_write(std::move(resp), false);
  }
  std::string token = session_token_of(r.cookie);
  std::make_shared<ws_session>(std::move(stream_), api_, std::move(p), std::move(token))
      ->run(std::move(req));
}

void http_session::do_write(api_response r, bool keep_alive) {
  auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(r.status), version_);
  res->set(http::field::server, "bluelink");
  res->set(http::field::content_type, r.content_type);
  res->set(http::field::cache_control, r.cacheable ? "max-age=300" : "no-store");
  for (auto& [name, value] : r.headers) res->insert(name, value);
  res->keep_alive(keep_alive);
  res->body() = std::move(r.body);
  res->prepare_payload();
  stream_.expires_after(write_timeout);
  http::async_write(stream_, *res,
                    [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                      self->on_write(ec, res->need_eof());
                    });
}

void http_session::on_write(beast::error_code ec, bool close) {
  if (ec || close) return do_close();
  do_read();
}

void http_session::do_close() {
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  stream_.socket().close(ec);
}

}  // namespace bl
