#pragma once
// One HTTP/1.1 connection, plain or TLS. Reads a request, hands it to the API, writes the
// response, repeats while keep-alive holds; hands a WebSocket upgrade to a console_session or an
// eido_session. Ownership: the pending async operation holds the session alive
// (shared_from_this); the session owns the connection's slot in the connection_limiter and passes
// it on with the socket on an upgrade. Threading: all work runs on the connection's strand.
//
// Timeouts: each request header (the first, and the next on a kept-alive connection) must arrive
// within http_limits::header_timeout; the body then has body_timeout; a response has
// write_timeout. While the API works on a request (an inbox long-poll waits up to max_wait_s) no
// read is pending and no timer runs.

#include <chrono>
#include <memory>
#include <optional>
#include <type_traits>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "gateway/net/connection_limiter.hpp"

namespace bl {

class api;
struct api_request;
struct api_response;

/// Per-connection bounds, from the config's `limits`.
struct http_limits {
  std::size_t body_limit = 64 * 1024;               // limits.max_message_bytes
  std::chrono::milliseconds header_timeout{10000};  // limits.header_timeout_ms
  std::chrono::milliseconds body_timeout{60000};    // the rest of a request after its header
  std::chrono::milliseconds write_timeout{30000};   // one response
  std::size_t header_limit = 16 * 1024;             // bytes of request line and header
};

/// Stream is boost::beast::tcp_stream (HTTP) or boost::beast::ssl_stream<tcp_stream> (HTTPS).
template <class Stream>
class http_session : public std::enable_shared_from_this<http_session<Stream>> {
 public:
  /// `tls_ctx` is used (and required) for HTTPS only; the TLS handshake then runs first, in run().
  /// `slot` is this connection's place in the listener's count, held until the connection (or
  /// the WebSocket session it becomes) is gone.
  http_session(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context* tls_ctx,
               api& handler, const http_limits& limits, connection_slot slot);
  void run();

 private:
  void do_read();
  void on_read_header(boost::beast::error_code ec);
  void on_read(boost::beast::error_code ec);
  void do_write(api_response r, bool keep_alive);
  /// Hands an authenticated /api/v1/ws upgrade over to a console_session, or answers with an error.
  void upgrade(boost::beast::http::request<boost::beast::http::string_body> req, api_request r);
  void on_write(boost::beast::error_code ec, bool close);
  void do_close();
  static constexpr bool tls = !std::is_same_v<Stream, boost::beast::tcp_stream>;
  static Stream make_stream(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context* ctx);

  Stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  api& api_;
  http_limits limits_;
  connection_slot slot_;
  unsigned version_ = 11;
  bool head_ = false;  // the request being answered is HEAD: headers only
};

using plain_http_session = http_session<boost::beast::tcp_stream>;
using tls_http_session = http_session<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

}  // namespace bl
