#include "tests/support/http_client.hpp"

#include <openssl/evp.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace bl::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {
// Inbox pages and transfer details can be large; the gateway's own limit is on requests only.
constexpr std::uint64_t response_body_limit = 64 * 1024 * 1024;
}  // namespace

std::string http_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (beast::iequals(k, beast::string_view(name.data(), name.size()))) return v;
  return {};
}

struct http_client::connection {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
};

http_client::http_client(unsigned short port)
    : conn_(std::make_unique<connection>()), port_(port) {}

http_client::~http_client() {
  close();
}

void http_client::set_port(unsigned short port) {
  if (port == port_) return;
  close();
  port_ = port;
}

void http_client::close() {
  conn_->buffer.clear();
  if (!connected_) return;
  beast::error_code ec;
  conn_->stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  conn_->stream.close();
  connected_ = false;
}

bool http_client::attempt(std::string_view method, std::string_view target, std::string_view body,
                          std::string_view token, const header_list& headers, http_response& out,
                          std::string& why) {
  // Every step is asynchronous and run to completion here so that tcp_stream's timeout applies.
  auto run = [this] {
    conn_->ioc.restart();
    conn_->ioc.run();
  };
  beast::error_code ec;
  if (!connected_) {
    conn_->buffer.clear();
    conn_->stream.expires_after(timeout_);
    conn_->stream.async_connect(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port_),
                                [&](beast::error_code e) { ec = e; });
    run();
    if (ec) {
      why = "cannot connect to 127.0.0.1:" + std::to_string(port_) + ": " + ec.message();
      conn_->stream.close();
      return false;
    }
    conn_->stream.socket().set_option(asio::ip::tcp::no_delay(true), ec);
    connected_ = true;
  }

  http::request<http::string_body> req;
  req.version(11);
  req.method_string(beast::string_view(method.data(), method.size()));
  req.target(beast::string_view(target.data(), target.size()));
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + std::string(token));
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers) req.insert(name, value);
  req.body() = std::string(body);
  req.keep_alive(true);
  req.prepare_payload();

  beast::error_code write_ec;
  conn_->stream.expires_after(timeout_);
  http::async_write(conn_->stream, req, [&](beast::error_code e, std::size_t) { write_ec = e; });
  run();
  // A server that rejects a request early (413) may reset the connection while the body is still
  // being sent; its answer can still be waiting to be read, so only a timeout ends the attempt.
  if (write_ec == beast::error::timeout) {
    why = "timed out sending " + std::string(method) + " " + std::string(target);
    close();
    return false;
  }

  http::response_parser<http::string_body> parser;
  parser.body_limit(response_body_limit);
  conn_->stream.expires_after(timeout_);
  http::async_read(conn_->stream, conn_->buffer, parser,
                   [&](beast::error_code e, std::size_t) { ec = e; });
  run();
  if (ec) {
    why = (ec == beast::error::timeout ? "timed out waiting for the response to "
                                       : "no response to ") +
          std::string(method) + " " + std::string(target) + ": " + ec.message() +
          (write_ec ? " (after send error: " + write_ec.message() + ")" : "");
    close();
    return false;
  }
  auto res = parser.release();
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  out.json = nlohmann::json::parse(out.body, nullptr, false);
  out.headers.clear();
  for (const auto& f : res)
    out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  if (!res.keep_alive() || write_ec) close();
  return true;
}

std::optional<http_response> http_client::try_request(std::string_view method,
                                                      std::string_view target,
                                                      std::string_view body,
                                                      std::string_view token) {
  return try_with(method, target, body, token, {});
}

http_response http_client::request_with(std::string_view method, std::string_view target,
                                        std::string_view body, const header_list& headers) {
  auto r = try_with(method, target, body, {}, headers);
  if (!r) throw http_error(last_error_);
  return *r;
}

std::optional<http_response> http_client::try_with(std::string_view method, std::string_view target,
                                                   std::string_view body, std::string_view token,
                                                   const header_list& headers) {
  http_response out;
  std::string why;
  const bool reused = connected_;
  if (attempt(method, target, body, token, headers, out, why)) return out;
  // A kept-alive connection may have been closed by the server since its last use: try once more
  // on a fresh one. A fresh connection that fails means the server is not answering.
  if (reused && why.find("timed out") == std::string::npos) {
    close();
    if (attempt(method, target, body, token, headers, out, why)) return out;
  }
  last_error_ = why;
  return std::nullopt;
}

http_response http_client::request(std::string_view method, std::string_view target,
                                   std::string_view body, std::string_view token) {
  auto r = try_request(method, target, body, token);
  if (!r) throw http_error(last_error_);
  return *r;
}

std::string basic_authorization(std::string_view user, std::string_view secret) {
  const std::string in = std::string(user) + ":" + std::string(secret);
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return "Basic " + out;
}

}  // namespace bl::test
