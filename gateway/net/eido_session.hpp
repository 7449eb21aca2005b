#pragma once
// One EIDO conveyance WebSocket (NENA-STA-024 style, subprotocol "emergency-ent1.0"; the wire
// protocol is in docs/protocols/eido.md, "Conveyance over WebSocket"). Created by http_session
// once an upgrade to /eido/v1 offering that subprotocol has been authenticated with an agency's
// bearer token; it then owns the socket.
//
// What it does: a `subscribe` streams the agency's inbox (all of it for "new", one transfer for
// "single") as `event` notifications whose `notification` array holds eido_export() of each
// delivered message; `eventResponse` acknowledges a notification by its transactionId, and the
// highest contiguous acknowledged delivery is acknowledged cumulatively to the engine; the
// requests `requestForService`, `requestAwareness` and `cancelRequest` are translated with
// eido_import() and submitted, and answered only once the engine's receipt says they are stored.
//
// The session reads and acknowledges the agency's deliveries through the delivery stream (the
// same cursor rule as every other edge) and submits through the submit pipeline (the same checks,
// durability and audit as every other edge); it never goes through the HTTP API.
//
// The socket, the bounded write queue (a CAD more than max_queued frames behind is closed with
// 1013), close codes and error handling are ws_connection's.
//
// Ownership: the pending async operations hold the session (shared_from_this); the stream's and
// the engine's callbacks hold only a weak_ptr, so a closed socket frees the session at once.
// Threading: everything runs on the connection's strand; callbacks from the engine thread post
// back onto it.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "adapters/eido/eido_conveyance.hpp"
#include "gateway/core/error.hpp"
#include "gateway/net/ws_connection.hpp"

namespace bl {

struct gateway_config;
class schema_set;
class submit_pipeline;
class delivery_stream;
class link_registry;
namespace store {
class reader;
}

/// The WebSocket subprotocol of NENA-STA-024 EIDO conveyance.
inline constexpr const char* eido_subprotocol = "emergency-ent1.0";
/// Where the gateway serves EIDO conveyance.
inline constexpr const char* eido_ws_path = "/eido/v1";

/// Whether a Sec-WebSocket-Protocol header value offers `emergency-ent1.0` (comma-separated list).
bool offers_eido_subprotocol(std::string_view header_value);

/// Limits of one EIDO session (docs/protocols/eido.md).
struct eido_session_limits {
  std::size_t max_frame_bytes = 1024 * 1024 + 64 * 1024;  // an EIDO of eido_max_bytes plus wrapper
  std::size_t max_queued = 256;             // frames waiting to be written; beyond: close 1013
  std::size_t max_outstanding_events = 64;  // unacknowledged events before the stream pauses
  int batch = 50;                           // deliveries read per inbox poll
  int poll_wait_s = 25;                     // long-poll wait of one inbox read
  int default_expires_s = 3600;             // subscribe without expires
  int min_expires_s = 1;
  int max_expires_s = 86400;
  int max_min_rate_s = 3600;
};

/// What an EIDO session uses, owned elsewhere and outliving it.
struct eido_session_services {
  const gateway_config& cfg;
  const schema_set& schemas;
  submit_pipeline& pipeline;    // requests go in through it, as every edge's submissions do
  delivery_stream& deliveries;  // the agency's deliveries, with the one cursor rule
  spdlog::logger& log;
  metrics& stats;
  link_registry* links = nullptr;  // the agency is heard (kind "eido") while it talks; null: not
  // The originals of partners' EIDOs, relayed as sent to a CAD that speaks EIDO; null: every
  // delivery is exported from the canonical message.
  store::reader* reader = nullptr;
};

class eido_session final : public ws_connection {
 public:
  /// `agency` is the one the connection's bearer token belongs to.
  eido_session(std::unique_ptr<ws_io> io, const eido_session_services& s, std::string agency,
               eido_session_limits limits = {}, connection_slot slot = {});

 private:
  // One subscription (at most one per connection).
  struct subscription {
    std::string id;
    bool single = false;
    std::string transfer_id;  // "single": the one transfer streamed
    int expires_s = 0;
    int min_rate_s = 0;
    std::uint64_t generation = 0;  // bumps on every (re)start so stale poll results are dropped
    std::int64_t cursor = -1;      // last inbox seq read; -1: start at the acknowledged position
    std::chrono::steady_clock::time_point next_event_at{};
    bool polling = false;
  };
  // One event sent and not yet acknowledged.
  struct outstanding_event {
    std::int64_t upto = 0;  // highest delivery seq it carries
    bool acked = false;
  };

  void on_open() override;
  void on_message(std::string text) override;
  void on_closed() override;
  std::string log_fields() const override { return "agency=" + agency_; }

  void on_subscribe(const adapters::conveyance::subscribe& m);
  void on_unsubscribe(const adapters::conveyance::unsubscribe& m);
  void on_event_response(const adapters::conveyance::event_response& m);
  void on_request(const adapters::conveyance::request& m);

  void start_expiry_timer();
  void end_subscription(const std::string& reason);
  /// Reads the next deliveries after the subscription's cursor: now (`wait_s` 0), or when one
  /// follows it, or after `wait_s` seconds, whichever comes first.
  void do_poll(int wait_s);
  // A partner's EIDO as it sent it (with Bluelink's transfer as a RELATED link), when the
  // delivery came from one and its original is kept; nullopt: export the canonical message.
  std::optional<nlohmann::json> relay_as_sent(const nlohmann::json& msg);
  void on_poll(std::uint64_t generation);
  void ack_contiguous();
  std::weak_ptr<eido_session> weak_self() {
    return std::static_pointer_cast<eido_session>(shared_from_this());
  }
  /// Runs `fn` on this session's strand, only while the session lives (for engine callbacks).
  template <class Fn>
  void post_back(Fn fn);

  void send_json(const nlohmann::json& frame);
  /// A response of type `type` (e.g. "subscribeResponse") carrying an error: statusCode from the
  /// error table, statusText, and Bluelink's code, message and pointer.
  void send_error(const std::string& type, const nlohmann::json& correlation, const error& e);
  /// Stops the subscription's timers and its pending wait for deliveries.
  void stop_waiting();
  /// The agency's CAD is there: heard on the link registry (kind "eido"), for its outage.
  void heard();

  eido_session_services s_;
  std::string agency_;
  eido_session_limits limits_;

  std::optional<subscription> sub_;
  std::uint64_t next_generation_ = 1;
  std::uint64_t next_transaction_ = 1;
  std::map<std::string, std::int64_t> transactions_;       // transactionId -> its upto seq
  std::map<std::int64_t, outstanding_event> outstanding_;  // by upto seq, in send order
  std::int64_t acked_upto_ = 0;  // highest seq this session has acknowledged to the engine
  std::int64_t ack_target_ = 0;  // highest contiguous seq acknowledged by the client
  bool ack_in_flight_ = false;

  boost::asio::steady_timer expiry_timer_;
  boost::asio::steady_timer rate_timer_;
  boost::asio::steady_timer poll_timer_;
  std::uint64_t poll_ticket_ = 0;  // delivery_stream::when_available() of the current poll
};

}  // namespace bl
