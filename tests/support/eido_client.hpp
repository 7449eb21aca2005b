#pragma once
// A small blocking NENA-STA-024-style EIDO conveyance client for system tests, written from the
// protocol description (docs/protocols/eido.md), not from the gateway's code: a WebSocket with the
// subprotocol emergency-ent1.0 and an agency's bearer token, whose messages are JSON objects with
// one member named after their type ({"subscribe":{...}}, {"event":{...}}, ...).
//
// Ownership and threading: owns its io_context and socket; not thread-safe. Lifetime: the
// connection closes (without a close handshake) when the client is destroyed, as a CAD that
// crashes would.

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <nlohmann/json.hpp>

namespace bl::test {

/// What an upgrade attempt got back when the gateway refused it.
struct eido_refusal {
  int status = 0;
  nlohmann::json body;  // the gateway's {"error":{code,message}} (discarded when not JSON)
};

class eido_client {
 public:
  /// Connects to 127.0.0.1:`port` at /eido/v1 with `token` (empty: no Authorization header) and
  /// `subprotocol` (empty: none offered). Throws std::runtime_error when the upgrade is refused.
  eido_client(unsigned short port, const std::string& token,
              const std::string& subprotocol = "emergency-ent1.0");
  ~eido_client();
  eido_client(const eido_client&) = delete;
  eido_client& operator=(const eido_client&) = delete;

  /// Tries the upgrade only, returning the refusal (status and body), or nullopt if it succeeded.
  static std::optional<eido_refusal> try_upgrade(unsigned short port, const std::string& token,
                                                 const std::string& subprotocol,
                                                 const std::string& origin = {});

  /// The subprotocol the server selected in its 101 answer.
  const std::string& selected_subprotocol() const { return selected_; }

  void send(const nlohmann::json& message);
  void send_text(const std::string& text);
  /// The next message; throws std::runtime_error if none arrives within `timeout`.
  nlohmann::json next(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// The next message whose type (its one member) is `type`; others are kept for later reads.
  /// Throws after `timeout`.
  nlohmann::json next_of(const std::string& type,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Whether a message of `type` arrives within `within` (false: none did).
  bool nothing_of(const std::string& type, std::chrono::milliseconds within);

  // The protocol's messages, as a CAD would build them.
  nlohmann::json subscribe_new(const std::string& request_id, int expires, int min_rate = 0);
  nlohmann::json subscribe_single(const std::string& request_id, const std::string& incident_id,
                                  int expires);
  nlohmann::json renew(const std::string& request_id, const std::string& subscription_id,
                       int expires);
  void event_response(const std::string& transaction_id, int status_code = 200);

 private:
  /// Runs the connection until a message arrives or `deadline`; true if one arrived.
  bool pump(std::chrono::steady_clock::time_point deadline);

  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  std::string selected_;
  std::vector<nlohmann::json> pending_;  // read and not yet taken, in arrival order
  bool read_pending_ = false;
  boost::beast::error_code read_error_;
};

/// The member name of a conveyance message ("event", "subscribeResponse", ...).
std::string eido_type_of(const nlohmann::json& message);

}  // namespace bl::test
