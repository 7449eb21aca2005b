// ws_connection (gateway/net/ws_connection.hpp), the WebSocket base every WebSocket edge shares,
// on a real socket on 127.0.0.1: the bounded write queue closes a slow consumer with 1013, an
// oversize message is refused with 1009 and counted, an exception in a session becomes 1011 and a
// log line (never a dead process), and on_closed() runs exactly once however the connection ends.

#include <atomic>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch.hpp>

#include "gateway/core/metrics.hpp"
#include "gateway/net/ws_connection.hpp"
#include "gateway/net/ws_io.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// A session that echoes, bursts frames on request, or throws: enough to drive the base.
class probe_session final : public bl::ws_connection {
 public:
  probe_session(std::unique_ptr<bl::ws_io> io, bl::ws_options o, spdlog::logger& log,
                bl::metrics& stats, std::atomic<int>& closed)
      : ws_connection(std::move(io), std::move(o), log, stats), closed_(closed) {}

 private:
  void on_message(std::string text) override {
    if (text.rfind("burst ", 0) == 0) {
      const int n = std::stoi(text.substr(6));
      for (int i = 0; i < n; ++i) send("frame " + std::to_string(i));
      return;
    }
    if (text == "throw") throw std::runtime_error("session bug");
    if (text == "bye") return close(bl::ws_close::normal, "bye");
    send("echo:" + text);
  }
  void on_closed() override { ++closed_; }
  std::string log_fields() const override { return "peer=probe"; }

  std::atomic<int>& closed_;
};

// One server: accepts connections on 127.0.0.1, reads the upgrade request and hands the socket to
// a probe_session, on an I/O thread of its own.
struct probe_server {
  explicit probe_server(bl::ws_options o) : options(std::move(o)) {
    log = std::make_shared<spdlog::logger>(
        "ws-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text));
    acceptor.open(tcp::v4());
    acceptor.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor.listen();
    port = acceptor.local_endpoint().port();
    do_accept();
    thread = std::thread([this] { ioc.run(); });
  }
  ~probe_server() {
    ioc.stop();
    thread.join();
  }

  void do_accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (ec) return;
      auto stream = std::make_shared<beast::tcp_stream>(std::move(s));
      auto buffer = std::make_shared<beast::flat_buffer>();
      auto req = std::make_shared<beast::http::request<beast::http::string_body>>();
      beast::http::async_read(*stream, *buffer, *req,
                              [this, stream, buffer, req](beast::error_code rec, std::size_t) {
                                if (rec) return;
                                std::make_shared<probe_session>(bl::make_ws_io(std::move(*stream)),
                                                                options, *log, stats, closed)
                                    ->run(std::move(*req));
                              });
      do_accept();
    });
  }

  std::string logs() {
    log->flush();
    return log_text.str();
  }

  bl::ws_options options;
  std::ostringstream log_text;
  std::shared_ptr<spdlog::logger> log;
  bl::metrics stats;
  std::atomic<int> closed{0};
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  unsigned short port = 0;
  std::thread thread;
};

struct client {
  explicit client(unsigned short port) : ws(ioc) {
    beast::get_lowest_layer(ws).connect({asio::ip::make_address("127.0.0.1"), port});
    ws.handshake("127.0.0.1", "/");
  }
  std::string read() {
    beast::flat_buffer b;
    ws.read(b);
    return beast::buffers_to_string(b.data());
  }
  // Reads until the server closes; returns the close code it sent.
  int close_code() {
    try {
      for (int i = 0; i < 1000; ++i) read();
    } catch (const beast::system_error&) {
      // websocket::error::closed, or (when the server tears the socket down right after its close
      // frame, as Beast does on a protocol failure) the error of answering it: the close frame
      // has been read either way.
    }
    return static_cast<int>(ws.reason().code);
  }
  asio::io_context ioc;
  websocket::stream<tcp::socket> ws;
};

bl::ws_options small_options() {
  bl::ws_options o;
  o.edge = "probe";
  o.max_message_bytes = 1024;
  o.max_queued = 4;
  o.slow_reason = "too slow: reconnect";
  return o;
}

}  // namespace

TEST_CASE("a WebSocket connection echoes and ends once when the peer closes", "[ws_base]") {
  probe_server server(small_options());
  {
    client c(server.port);
    c.ws.write(asio::buffer(std::string("hello")));
    CHECK(c.read() == "echo:hello");
    c.ws.close(websocket::close_code::normal);
  }
  REQUIRE(bl::test::eventually([&] { return server.closed.load() == 1; }));
  CHECK(server.logs().find("event=ws_disconnected edge=probe peer=probe") != std::string::npos);
  CHECK(server.stats.render({}).find("bluelink_ws_errors_total{") == std::string::npos);
}

TEST_CASE("a consumer more than max_queued frames behind is closed with 1013", "[ws_base]") {
  probe_server server(small_options());
  client c(server.port);
  // Twenty frames at once: one is being written, three wait, the fifth finds the queue full.
  c.ws.write(asio::buffer(std::string("burst 20")));
  CHECK(c.read() == "frame 0");
  CHECK(c.close_code() == 1013);
  CHECK(c.ws.reason().reason == "too slow: reconnect");
  REQUIRE(bl::test::eventually([&] { return server.closed.load() == 1; }));
  CHECK(server.logs().find("event=ws_too_slow edge=probe peer=probe queued=4") !=
        std::string::npos);
}

TEST_CASE("a message over max_message_bytes is refused with 1009, logged and counted",
          "[ws_base]") {
  probe_server server(small_options());
  client c(server.port);
  c.ws.write(asio::buffer(std::string(2000, 'x')));
  CHECK(c.close_code() == 1009);
  REQUIRE(bl::test::eventually([&] { return server.closed.load() == 1; }));
  CHECK(server.logs().find("event=ws_message_too_big edge=probe peer=probe limit_bytes=1024") !=
        std::string::npos);
  CHECK(server.stats.render({}).find("bluelink_errors_total{code=\"bl.request.too_large\"} 1") !=
        std::string::npos);
  // A message within the limit still works on a new connection.
  client again(server.port);
  again.ws.write(asio::buffer(std::string(1000, 'y')));
  CHECK(again.read() == "echo:" + std::string(1000, 'y'));
}

TEST_CASE("an exception in a session closes its connection with 1011, never the process",
          "[ws_base]") {
  probe_server server(small_options());
  client c(server.port);
  c.ws.write(asio::buffer(std::string("throw")));
  CHECK(c.close_code() == 1011);
  REQUIRE(bl::test::eventually([&] { return server.closed.load() == 1; }));
  CHECK(server.logs().find("event=ws_session_failed edge=probe peer=probe op=message "
                           "error=\"session bug\"") != std::string::npos);
  // The server goes on serving.
  client next(server.port);
  next.ws.write(asio::buffer(std::string("still here?")));
  CHECK(next.read() == "echo:still here?");
}

TEST_CASE("a session's own close sends its code and reason after the frame in flight",
          "[ws_base]") {
  probe_server server(small_options());
  client c(server.port);
  c.ws.write(asio::buffer(std::string("one")));
  c.ws.write(asio::buffer(std::string("bye")));
  CHECK(c.read() == "echo:one");
  CHECK(c.close_code() == 1000);
  CHECK(c.ws.reason().reason == "bye");
  REQUIRE(bl::test::eventually([&] { return server.closed.load() == 1; }));
}

TEST_CASE("a peer that vanishes mid-stream ends the connection once, without a warning",
          "[ws_base]") {
  probe_server server(small_options());
  {
    client c(server.port);
    c.ws.write(asio::buffer(std::string("x")));
    CHECK(c.read() == "echo:x");
    beast::get_lowest_layer(c.ws).close();  // no close frame: a lost network
  }
  REQUIRE(bl::test::eventually([&] { return server.closed.load() == 1; }));
  CHECK(server.logs().find("event=ws_disconnected") != std::string::npos);
  CHECK(server.logs().find("event=ws_error") == std::string::npos);
}
