// HTTPS and WSS: with a certificate configured the gateway speaks TLS only, its session cookie is
// marked Secure, and the console WebSocket works over wss://.

#include <cstdlib>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "gateway/core/config.hpp"
#include "gateway/service/accounts.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/sqlite/account_store.hpp"
#include "gateway/store/writer.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"

namespace {

using nlohmann::json;
using namespace bl::test;
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;

const std::string password = "correct horse battery";

// A self-signed certificate for 127.0.0.1 made with the openssl command line.
void make_certificate(const std::filesystem::path& dir) {
  std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1"
      " -addext subjectAltName=IP:127.0.0.1 -keyout '" +
      (dir / "key.pem").string() + "' -out '" + (dir / "cert.pem").string() + "' 2>/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

struct https_reply {
  int status;
  std::string body;
  std::string set_cookie;
};

// One HTTPS request, verifying the gateway's certificate against the test's own.
https_reply https(const gateway_process& gw, http::verb verb, const std::string& target,
                  const std::string& body = {}) {
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file((gw.dir() / "cert.pem").string());
  ctx.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> s(ioc, ctx);
  beast::get_lowest_layer(s).connect(
      asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), gw.port()));
  s.handshake(ssl::stream_base::client);
  std::string host = "127.0.0.1:" + std::to_string(gw.port());
  http::request<http::string_body> req(verb, target, 11);
  req.set(http::field::host, host);
  req.set(http::field::origin, "https://" + host);
  req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  http::write(s, req);
  beast::flat_buffer b;
  http::response<http::string_body> res;
  http::read(s, b, res);
  return {static_cast<int>(res.result_int()), res.body(),
          std::string(res[http::field::set_cookie])};
}

}  // namespace

TEST_CASE("with a certificate the gateway serves HTTPS and WSS only", "[system][tls]") {
  gateway_process gw(json::object(), false);
  make_certificate(gw.dir());
  gw.config()["tls"] = {{"cert_file", (gw.dir() / "cert.pem").string()},
                        {"key_file", (gw.dir() / "key.pem").string()}};
  {
    bl::store::store_options opts;
    opts.path = gw.db_path().string();
    auto create = bl::store::open_writer(opts);
    bl::gateway_config cfg;
    bl::agency_config a;
    a.id = essex_police;
    a.name = "Essex Police";
    cfg.agencies.push_back(a);
    bl::accounts accts(cfg, bl::store::open_sqlite_account_store(bl::store::store_options{
                                gw.db_path().string(), true, cfg.busy_timeout_ms, {}}));
    accts.add_user("police.op", "Police Operator", bl::role::operator_role, essex_police, password);
  }
  gw.start();

  auto health = https(gw, http::verb::get, "/healthz");
  CHECK(health.status == 200);

  // Plain HTTP on the TLS port gets no answer.
  http_client plain(gw.port());
  plain.set_timeout(std::chrono::seconds(3));
  CHECK_FALSE(plain.try_request("GET", "/healthz").has_value());

  // The session cookie may only travel over HTTPS.
  auto login = https(gw, http::verb::post, "/api/v1/session",
                     json{{"username", "police.op"}, {"password", password}}.dump());
  REQUIRE(login.status == 200);
  CHECK(login.set_cookie.find("; Secure") != std::string::npos);
  std::string cookie = login.set_cookie.substr(0, login.set_cookie.find(';'));

  // The console WebSocket over wss://.
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file((gw.dir() / "cert.pem").string());
  ctx.set_verify_mode(ssl::verify_peer);
  beast::websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(ioc, ctx);
  beast::get_lowest_layer(ws).connect(
      asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), gw.port()));
  ws.next_layer().handshake(ssl::stream_base::client);
  std::string host = "127.0.0.1:" + std::to_string(gw.port());
  ws.set_option(beast::websocket::stream_base::decorator([&](beast::websocket::request_type& r) {
    r.set(http::field::cookie, cookie);
    r.set(http::field::origin, "https://" + host);
  }));
  ws.handshake(host, "/api/v1/ws");
  ws.write(asio::buffer(json{{"op", "hello"}}.dump()));
  beast::flat_buffer b;
  ws.read(b);
  auto welcome = json::parse(beast::buffers_to_string(b.data()));
  CHECK(welcome.at("op") == "welcome");
  CHECK(welcome.at("user").at("agency") == essex_police);
}
