#pragma once
// A small synchronous HTTP/1.1 client for system tests: one keep-alive connection to the gateway
// on 127.0.0.1, reopened transparently when the server has closed it.
//
// Ownership and threading: owns its own io_context and socket; not thread-safe, so give each test
// thread its own client. Lifetime: the connection closes when the client is destroyed.
// Asio and Beast stay in http_client.cpp (the connection is held through a pointer): this header
// is included by most system tests, and Beast's headers would double the time each takes to build.

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace bl::test {

/// One HTTP response. `json` is discarded (is_discarded()) when the body is not JSON.
struct http_response {
  int status = 0;
  std::string body;
  nlohmann::json json;
  /// Every response header in order, names as the server sent them.
  std::vector<std::pair<std::string, std::string>> headers;

  /// The first header called `name` (case-insensitive), or "" when there is none.
  std::string header(std::string_view name) const;
};

/// Request headers beyond Host, Content-Type and Authorization (Cookie, Origin, X-CSRF-Token).
using header_list = std::vector<std::pair<std::string, std::string>>;

/// Raised when no response could be had: the gateway refused the connection, closed it twice in a
/// row, or did not answer within the timeout.
class http_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class http_client {
 public:
  explicit http_client(unsigned short port);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends one request and reads the answer. `token` empty sends no Authorization header.
  /// Throws http_error when there is no answer.
  http_response request(std::string_view method, std::string_view target,
                        std::string_view body = {}, std::string_view token = {});
  /// As request(), but returns nullopt instead of throwing: for tests that kill the gateway.
  std::optional<http_response> try_request(std::string_view method, std::string_view target,
                                           std::string_view body = {}, std::string_view token = {});

  /// As request(), with extra request headers and no bearer token (the console's requests).
  http_response request_with(std::string_view method, std::string_view target,
                             std::string_view body, const header_list& headers);

  http_response get(std::string_view target, std::string_view token) {
    return request("GET", target, {}, token);
  }
  http_response post(std::string_view target, const nlohmann::json& body, std::string_view token) {
    return request("POST", target, body.dump(), token);
  }

  /// Points the client at another port (a restarted gateway); drops the current connection.
  void set_port(unsigned short port);
  unsigned short port() const { return port_; }
  /// Longest wait for connecting, sending and reading one response (long polls need more).
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }
  /// The reason the last try_request() returned nullopt.
  const std::string& last_error() const { return last_error_; }
  void close();

 private:
  // One attempt on the current (or a new) connection; false with `why` set when it failed.
  bool attempt(std::string_view method, std::string_view target, std::string_view body,
               std::string_view token, const header_list& headers, http_response& out,
               std::string& why);
  std::optional<http_response> try_with(std::string_view method, std::string_view target,
                                        std::string_view body, std::string_view token,
                                        const header_list& headers);

  // The io_context, the TCP stream and its read buffer (http_client.cpp).
  struct connection;
  std::unique_ptr<connection> conn_;
  unsigned short port_;
  bool connected_ = false;
  std::chrono::milliseconds timeout_{30000};
  std::string last_error_;
};

/// An HTTP Basic Authorization header value: "Basic " and base64 of "user:secret".
std::string basic_authorization(std::string_view user, std::string_view secret);

}  // namespace bl::test
