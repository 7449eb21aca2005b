#include "gateway/net/listener.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/strand.hpp>

#include "gateway/net/http_session.hpp"

namespace bl {

namespace asio = boost::asio;

listener::listener(asio::io_context& ioc, const asio::ip::tcp::endpoint& ep, api& handler,
                   std::size_t body_limit, asio::ssl::context* tls)
    : ioc_(ioc),
      acceptor_(asio::make_strand(ioc)),
      api_(handler),
      body_limit_(body_limit),
      tls_(tls) {
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
}

void listener::run() {
  do_accept();
}

void listener::stop() {
  asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
  });
}

void listener::do_accept() {
  // Each connection gets its own strand: its handlers never run concurrently.
  acceptor_.async_accept(
      asio::make_strand(ioc_),
      [self = shared_from_this()](boost::system::error_code ec, asio::ip::tcp::socket socket) {
        if (ec == asio::error::operation_aborted) return;
        if (!ec) {
          socket.set_option(asio::ip::tcp::no_delay(true), ec);
          if (self->tls_)
            std::make_shared<tls_http_session>(std::move(socket), self->tls_, self->api_,
                                               self->body_limit_)
                ->run();
          else
            std::make_shared<plain_http_session>(std::move(socket), nullptr, self->api_,
                                                 self->body_limit_)
                ->run();
        }
        if (self->acceptor_.is_open()) self->do_accept();
      });
}

}  // namespace bl
