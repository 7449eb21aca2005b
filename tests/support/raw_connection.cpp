#include "tests/support/raw_connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <strings.h>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace bl::test {

namespace {
int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}
}  // namespace

std::string raw_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  return {};
}

raw_connection::raw_connection(unsigned short port, const std::string& source,
                               std::chrono::milliseconds timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  auto fail = [&](const char* what) {
    std::string why = std::string(what) + " from " + source + ": " + std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(why);
  };
  // The port is chosen at connect() with the whole address pair in view, so that thousands of
  // connections from one source address do not run out of ports at bind().
  int one = 1;
  setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  if (inet_pton(AF_INET, source.c_str(), &src.sin_addr) != 1) fail("inet_pton");
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) fail("bind");
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    if (errno != EINPROGRESS) fail("connect");
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
      errno = ETIMEDOUT;
      fail("connect");
    }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      errno = err;
      fail("connect");
    }
  }
}

raw_connection::~raw_connection() {
  close();
}

raw_connection& raw_connection::operator=(raw_connection&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = std::exchange(o.fd_, -1);
    in_ = std::move(o.in_);
  }
  return *this;
}

void raw_connection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool raw_connection::send(std::string_view data) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) != 1) return false;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
  return true;
}

bool raw_connection::fill(std::chrono::steady_clock::time_point deadline, bool& eof) {
  eof = false;
  for (;;) {
    char buf[8192];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in_.append(buf, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0) {
      eof = true;
      return false;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      eof = true;  // reset: the peer is gone
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r == 0) return false;
    if (r < 0 && errno != EINTR) return false;
  }
}

std::optional<raw_response> raw_connection::read_response(bool with_body,
                                                          std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool eof = false;
  std::size_t end;
  while ((end = in_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(deadline, eof)) return std::nullopt;
  raw_response r;
  r.head = in_.substr(0, end + 4);
  in_.erase(0, end + 4);
  // "HTTP/1.1 200 OK"
  auto sp = r.head.find(' ');
  if (sp == std::string::npos) return std::nullopt;
  r.status = std::atoi(r.head.c_str() + sp + 1);
  std::size_t pos = r.head.find("\r\n") + 2;
  while (pos < end) {
    auto eol = r.head.find("\r\n", pos);
    auto line = r.head.substr(pos, eol - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers.emplace_back(line.substr(0, colon), value);
    }
    pos = eol + 2;
  }
  if (with_body) {
    std::size_t length = static_cast<std::size_t>(std::atoll(r.header("Content-Length").c_str()));
    while (in_.size() < length)
      if (!fill(deadline, eof)) return std::nullopt;
    r.body = in_.substr(0, length);
    in_.erase(0, length);
  }
  return r;
}

bool raw_connection::closed_within(std::chrono::milliseconds within) {
  auto deadline = std::chrono::steady_clock::now() + within;
  bool eof = false;
  while (!eof) {
    if (!fill(deadline, eof) && !eof) return false;
  }
  return true;
}

std::string raw_connection::take_received() {
  bool eof = false;
  fill(std::chrono::steady_clock::now(), eof);
  return std::exchange(in_, {});
}

}  // namespace bl::test
