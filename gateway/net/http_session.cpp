#include "gateway/net/http_session.hpp"

#include <chrono>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "gateway/core/metrics.hpp"
#include "gateway/net/api.hpp"
#include "gateway/net/console_session.hpp"
#include "gateway/net/eido_session.hpp"
#include "gateway/net/ws_io.hpp"
#include "gateway/service/accounts.hpp"

namespace bl {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

template <class Stream>
Stream http_session<Stream>::make_stream(asio::ip::tcp::socket socket, asio::ssl::context* ctx) {
  if constexpr (tls)
    return Stream(std::move(socket), *ctx);
  else
    return Stream(std::move(socket));
}

template <class Stream>
http_session<Stream>::http_session(asio::ip::tcp::socket socket, asio::ssl::context* tls_ctx,
                                   api& handler, const http_limits& limits, connection_slot slot)
    : stream_(make_stream(std::move(socket), tls_ctx)),
      api_(handler),
      limits_(limits),
      slot_(std::move(slot)) {}

template <class Stream>
void http_session<Stream>::run() {
  // Start on the connection's strand so that every handler of this session is serialised.
  asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
    if constexpr (tls) {
      // The handshake is part of getting the first request in: the same short bound applies.
      beast::get_lowest_layer(self->stream_).expires_after(self->limits_.header_timeout);
      self->stream_.async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
        if (ec) return self->do_close();
        self->do_read();
      });
    } else {
      self->do_read();
    }
  });
}

template <class Stream>
void http_session<Stream>::do_read() {
  parser_.emplace();
  parser_->body_limit(limits_.body_limit);
  parser_->header_limit(static_cast<std::uint32_t>(limits_.header_limit));
  // A request header (the first, or the next one on an idle kept-alive connection) must arrive
  // whole within the short header timeout: half a header cannot hold a connection for long.
  beast::get_lowest_layer(stream_).expires_after(limits_.header_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                            self->on_read_header(ec);
                          });
}

template <class Stream>
void http_session<Stream>::on_read_header(beast::error_code ec) {
  if (ec == beast::error::timeout && (buffer_.size() > 0 || parser_->got_some()))
    api_.stats().header_timeout();
  if (ec || parser_->is_done()) return on_read(ec);
  // The body may legitimately take longer (a large message on a slow radio link).
  beast::get_lowest_layer(stream_).expires_after(limits_.body_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = this->shared_from_this()](beast::error_code body_ec, std::size_t) {
                     self->on_read(body_ec);
                   });
}

template <class Stream>
void http_session<Stream>::on_read(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
    return do_close();
  // An error reply to a HEAD request carries no body either.
  head_ = parser_->is_header_done() && parser_->get().method() == http::verb::head;
  if (ec == http::error::body_limit) {
    error e =
        make_error(errc::payload_too_large, "the body exceeds the limit of " +
                                                std::to_string(limits_.body_limit) + " bytes");
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
  // HEAD is answered as GET would be, then written without the body (RFC 9110 9.3.2), so every
  // route has it and its headers, Content-Length included, are exactly GET's.
  r.method = head_ ? std::string("GET") : std::string(req.method_string());
  r.target = std::string(req.target());
  r.authorization = std::string(req[http::field::authorization]);
  r.cookie = std::string(req[http::field::cookie]);
  r.origin = std::string(req[http::field::origin]);
  r.host = std::string(req[http::field::host]);
  r.csrf_token = std::string(req["X-CSRF-Token"]);
  beast::error_code ep_ec;
  auto peer = beast::get_lowest_layer(stream_).socket().remote_endpoint(ep_ec);
  if (!ep_ec) r.remote = peer.address().to_string();
  r.tls = tls;
  if (beast::websocket::is_upgrade(req)) return upgrade(std::move(req), std::move(r));
  r.body = std::move(req.body());
  // The API may answer from another thread (the engine's); hop back onto this strand to write.
  auto ex = stream_.get_executor();
  api_.handle(std::move(r), ex,
              [self = this->shared_from_this(), ex, keep_alive](api_response resp) {
                asio::post(ex, [self, resp = std::move(resp), keep_alive]() mutable {
                  self->do_write(std::move(resp), keep_alive);
                });
              });
}

template <class Stream>
void http_session<Stream>::upgrade(http::request<http::string_body> req, api_request r) {
  std::string_view target = r.target;
  auto refuse = [&](const error& e) {
    auto resp = api::error_response(e);
    api_.record_error(resp);
    do_write(std::move(resp), false);
  };
  // EIDO conveyance (docs/protocols/eido.md): a CAD with an agency's bearer token. A CAD sends no
  // Origin; one that does (a browser page) must come from an allowed origin.
  if (target.substr(0, target.find('?')) == eido_ws_path) {
    if (!offers_eido_subprotocol(std::string(req[http::field::sec_websocket_protocol])))
      return refuse(make_error(errc::eido_subprotocol,
                               "an upgrade to /eido/v1 must offer the WebSocket subprotocol "
                               "emergency-ent1.0 in Sec-WebSocket-Protocol"));
    if (!r.origin.empty() && !api_.origin_allowed(r))
      return refuse(make_error(errc::bad_origin,
                               "WebSocket upgrades from " + r.origin + " are not accepted"));
    if (r.authorization.empty())
      return refuse(make_error(errc::missing_token,
                               "EIDO conveyance needs an agency's bearer token: "
                               "Authorization: Bearer <token>"));
    auto who = api_.authenticate(r);
    if (auto* e = std::get_if<error>(&who)) return refuse(*e);
    auto& p = std::get<principal>(who);
    if (p.via_session || p.agency.empty())
      return refuse(make_error(errc::forbidden_role,
                               "EIDO conveyance is for an agency's CAD with its bearer token"));
    // The session owns the connection's slot from now on: a CAD's WebSocket counts against the
    // limits for as long as it is open.
    std::make_shared<eido_session>(make_ws_io(std::move(stream_)), api_.eido_services(), p.agency,
                                   eido_session_limits{}, std::move(slot_))
        ->run(std::move(req));
    return;
  }
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
  std::make_shared<console_session>(make_ws_io(std::move(stream_)), api_.console_services(),
                                    std::move(p), std::move(token), std::move(slot_))
      ->run(std::move(req));
}

template <class Stream>
void http_session<Stream>::do_write(api_response r, bool keep_alive) {
  auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(r.status), version_);
  res->set(http::field::server, "bluelink");
  res->set(http::field::content_type, r.content_type);
  res->set(http::field::cache_control, r.cacheable ? "max-age=300" : "no-store");
  for (auto& [name, value] : r.headers) res->insert(name, value);
  res->keep_alive(keep_alive);
  res->body() = std::move(r.body);
  res->prepare_payload();
  // HEAD: GET's headers, Content-Length of GET's body included, and no body.
  if (head_) res->body().clear();
  beast::get_lowest_layer(stream_).expires_after(limits_.write_timeout);
  http::async_write(stream_, *res,
                    [self = this->shared_from_this(), res](beast::error_code ec, std::size_t) {
                      self->on_write(ec, res->need_eof());
                    });
}

template <class Stream>
void http_session<Stream>::on_write(beast::error_code ec, bool close) {
  if (ec || close) return do_close();
  do_read();
}

template <class Stream>
void http_session<Stream>::do_close() {
  beast::error_code ec;
  if constexpr (tls) {
    // close_notify, then the TCP close; a peer that never answers is cut off by the timeout.
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream_).socket().close(ignored);
    });
    return;
  }
  beast::get_lowest_layer(stream_).socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  beast::get_lowest_layer(stream_).socket().close(ec);
}

template class http_session<beast::tcp_stream>;
template class http_session<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace bl
