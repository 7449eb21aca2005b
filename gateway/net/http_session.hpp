#pragma once
// One HTTP/1.1 connection, plain or TLS. Reads a request, hands it to the API, writes the
// response, repeats while keep-alive holds; hands a WebSocket upgrade to a ws_session. Ownership:
// the pending async operation holds the session alive (shared_from_this). Threading: all work
// runs on the connection's strand.

#include <memory>
#include <optional>
#include <type_traits>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace bl {

class api;
struct api_request;
struct api_response;

/// Stream is boost::beast::tcp_stream (HTTP) or boost::beast::ssl_stream<tcp_stream> (HTTPS).
template <class Stream>
class http_session : public std::enable_shared_from_this<http_session<Stream>> {
 public:
  /// `tls_ctx` is used (and required) for HTTPS only; the TLS handshake then runs first, in run().
  http_session(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context* tls_ctx,
               api& handler, std::size_t body_limit);
  void run();

 private:
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void do_write(api_response r, bool keep_alive);
  /// Hands an authenticated /api/v1/ws upgrade over to a ws_session, or answers with an error.
  void upgrade(boost::beast::http::request<boost::beast::http::string_body> req, api_request r);
  void on_write(boost::beast::error_code ec, bool close);
  void do_close();
  static constexpr bool tls = !std::is_same_v<Stream, boost::beast::tcp_stream>;
  static Stream make_stream(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context* ctx);

  Stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  api& api_;
  std::size_t body_limit_;
  unsigned version_ = 11;
};

using plain_http_session = http_session<boost::beast::tcp_stream>;
using tls_http_session = http_session<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

}  // namespace bl
