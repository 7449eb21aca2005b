#pragma once
// A bare TCP connection for system tests that need what an HTTP library hides: sending half a
// request header and stopping, choosing the loopback source address (127.0.0.2, ...) so that
// per-address limits can be exercised, and seeing exactly which bytes the server sent (a HEAD
// reply must carry no body) and when it closed.
//
// Ownership: owns one socket descriptor, closed on destruction; move-only. Threading: not
// thread-safe; one thread per connection at a time. Every wait takes a timeout; nothing blocks
// forever.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bl::test {

/// One HTTP response as read off the wire.
struct raw_response {
  int status = 0;
  std::string head;  // status line and headers, up to and including the blank line
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // exactly Content-Length bytes (empty when the body was not read)

  /// The first header called `name` (case-insensitive), or "" when there is none.
  std::string header(std::string_view name) const;
};

class raw_connection {
 public:
  /// Connects to 127.0.0.1:`port` from `source` (any 127.x.y.z address); throws
  /// std::runtime_error when the connection cannot be made within `timeout`.
  explicit raw_connection(unsigned short port, const std::string& source = "127.0.0.1",
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~raw_connection();
  raw_connection(raw_connection&& o) noexcept
      : fd_(std::exchange(o.fd_, -1)), in_(std::move(o.in_)) {}
  raw_connection& operator=(raw_connection&& o) noexcept;
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  /// Sends all of `data`; false when the peer has closed or reset the connection.
  bool send(std::string_view data);
  /// Reads a response head and, when `with_body`, Content-Length bytes of body. nullopt when the
  /// connection closed or `timeout` passed first.
  std::optional<raw_response> read_response(
      bool with_body, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Waits up to `within` for the peer to close (EOF or reset); bytes arriving meanwhile are kept
  /// and can be read with read_response() or taken with take_received().
  bool closed_within(std::chrono::milliseconds within);
  /// Whatever has arrived and not been consumed yet, without waiting.
  std::string take_received();
  void close();
  bool open() const { return fd_ >= 0; }

 private:
  // Reads what is available within `timeout`; false on EOF, error or timeout with nothing read.
  bool fill(std::chrono::steady_clock::time_point deadline, bool& eof);

  int fd_ = -1;
  std::string in_;
};

}  // namespace bl::test
