#include "tests/support/eido_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace bl::test {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using nlohmann::json;

namespace {
asio::ip::tcp::endpoint local(unsigned short port) {
  return {asio::ip::make_address("127.0.0.1"), port};
}
}  // namespace

std::string eido_type_of(const json& message) {
  if (!message.is_object() || message.size() != 1) return {};
  return message.begin().key();
}

eido_client::eido_client(unsigned short port, const std::string& token,
                         const std::string& subprotocol)
    : ws_(ioc_) {
  beast::get_lowest_layer(ws_).connect(local(port));
  ws_.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
    if (!token.empty()) req.set(beast::http::field::authorization, "Bearer " + token);
    if (!subprotocol.empty()) req.set(beast::http::field::sec_websocket_protocol, subprotocol);
  }));
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
  websocket::response_type res;
  beast::error_code ec;
  ws_.handshake(res, "127.0.0.1:" + std::to_string(port), "/eido/v1", ec);
  if (ec)
    throw std::runtime_error("EIDO upgrade refused (" + std::to_string(res.result_int()) +
                             "): " + res.body());
  selected_ = std::string(res[beast::http::field::sec_websocket_protocol]);
  beast::get_lowest_layer(ws_).expires_never();
}

eido_client::~eido_client() {
  beast::error_code ec;
  beast::get_lowest_layer(ws_).socket().close(ec);
}

std::optional<eido_refusal> eido_client::try_upgrade(unsigned short port, const std::string& token,
                                                     const std::string& subprotocol,
                                                     const std::string& origin) {
  // A raw HTTP upgrade request, so that the refusal's status and body can be read.
  asio::io_context ioc;
  beast::tcp_stream s(ioc);
  s.connect(local(port));
  s.expires_after(std::chrono::seconds(10));
  beast::http::request<beast::http::empty_body> req{beast::http::verb::get, "/eido/v1", 11};
  req.set(beast::http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(beast::http::field::upgrade, "websocket");
  req.set(beast::http::field::connection, "upgrade");
  req.set(beast::http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(beast::http::field::sec_websocket_version, "13");
  if (!token.empty()) req.set(beast::http::field::authorization, "Bearer " + token);
  if (!subprotocol.empty()) req.set(beast::http::field::sec_websocket_protocol, subprotocol);
  if (!origin.empty()) req.set(beast::http::field::origin, origin);
  beast::http::write(s, req);
  beast::flat_buffer b;
  beast::http::response<beast::http::string_body> res;
  beast::http::read(s, b, res);
  if (res.result_int() == 101) return std::nullopt;
  eido_refusal r;
  r.status = res.result_int();
  r.body = json::parse(res.body(), nullptr, false);
  return r;
}

void eido_client::send(const json& message) {
  send_text(message.dump());
}

void eido_client::send_text(const std::string& text) {
  // Asynchronous, so that it can share the connection with the read that is kept waiting.
  auto frame = std::make_shared<std::string>(text);
  bool done = false;
  beast::error_code wec;
  ws_.text(true);
  ws_.async_write(asio::buffer(*frame), [&](beast::error_code ec, std::size_t) {
    done = true;
    wec = ec;
  });
  ioc_.restart();
  while (!done && ioc_.run_one() > 0) {
  }
  if (wec) throw std::runtime_error("could not send an EIDO conveyance message: " + wec.message());
}

bool eido_client::pump(std::chrono::steady_clock::time_point deadline) {
  // One read is always outstanding; a timeout leaves it waiting for the next call, so the
  // connection stays usable (a synchronous read cannot time out without breaking it).
  const std::size_t before = pending_.size();
  if (read_error_) throw std::runtime_error("the connection failed: " + read_error_.message());
  if (!read_pending_) {
    read_pending_ = true;
    auto buf = std::make_shared<beast::flat_buffer>();
    ws_.async_read(*buf, [this, buf](beast::error_code ec, std::size_t) {
      read_pending_ = false;
      if (ec) {
        read_error_ = ec;
        return;
      }
      pending_.push_back(json::parse(beast::buffers_to_string(buf->data())));
    });
  }
  ioc_.restart();
  ioc_.run_until(deadline);
  if (read_error_ && pending_.size() == before)
    throw std::runtime_error("the connection failed: " + read_error_.message());
  return pending_.size() > before;
}

json eido_client::next(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pending_.empty())
    if (!pump(deadline) && std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error("no EIDO conveyance message in time");
  json m = std::move(pending_.front());
  pending_.erase(pending_.begin());
  return m;
}

json eido_client::next_of(const std::string& type, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (auto it = pending_.begin(); it != pending_.end(); ++it)
      if (eido_type_of(*it) == type) {
        json m = std::move(*it);
        pending_.erase(it);
        return m;
      }
    if (!pump(deadline) && std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error("no '" + type + "' message in time");
  }
}

bool eido_client::nothing_of(const std::string& type, std::chrono::milliseconds within) {
  try {
    next_of(type, within);
    return false;
  } catch (const std::runtime_error&) {
    return true;
  }
}

json eido_client::subscribe_new(const std::string& request_id, int expires, int min_rate) {
  send(json{{"subscribe",
             {{"requestId", request_id},
              {"requestType", "eido"},
              {"requestSubType", "new"},
              {"expires", expires},
              {"minRate", min_rate}}}});
  return next_of("subscribeResponse");
}

json eido_client::subscribe_single(const std::string& request_id, const std::string& incident_id,
                                   int expires) {
  send(json{{"subscribe",
             {{"requestId", request_id},
              {"requestType", "eido"},
              {"requestSubType", "single"},
              {"incidentId", incident_id},
              {"expires", expires}}}});
  return next_of("subscribeResponse");
}

json eido_client::renew(const std::string& request_id, const std::string& subscription_id,
                        int expires) {
  send(json{{"subscribe",
             {{"requestId", request_id},
              {"requestType", "eido"},
              {"requestSubType", "new"},
              {"subscriptionId", subscription_id},
              {"expires", expires}}}});
  return next_of("subscribeResponse");
}

void eido_client::event_response(const std::string& transaction_id, int status_code) {
  send(json{{"eventResponse",
             {{"transactionId", transaction_id},
              {"statusCode", status_code},
              {"statusText", status_code == 200 ? "OK" : "Refused"}}}});
}

}  // namespace bl::test
