#pragma once
// Accepts TCP connections and starts an http_session for each, on its own strand.
// Ownership: shared; the pending accept holds it alive until stop().

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

namespace bl {

class api;

class listener : public std::enable_shared_from_this<listener> {
 public:
  /// Binds and listens at once so that the chosen port (for port 0) is known; throws on failure.
  /// With `tls` (not null, outliving the listener) every connection speaks HTTPS/WSS only.
  listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& ep, api& handler,
           std::size_t body_limit, boost::asio::ssl::context* tls = nullptr);
  void run();
  void stop();
  unsigned short port() const { return port_; }

 private:
  void do_accept();

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  api& api_;
  std::size_t body_limit_;
  boost::asio::ssl::context* tls_;
  unsigned short port_ = 0;
};

}  // namespace bl
