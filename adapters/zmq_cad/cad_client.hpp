#pragma once
// The client side of the Bluelink CAD link (docs/protocols/cad-link.md), for CAD integrators and
// our own simulator: connect with CURVE, say hello, submit with automatic retry that reuses the
// message id, receive deliveries in sequence order exactly once per message id, acknowledge
// cumulatively, and reconnect with capped exponential back-off, resuming from the last sequence
// processed (kept in a state file so that a restarted CAD resumes too).
//
// Threading: one internal thread owns the ZeroMQ socket. submit() and the accessors may be called
// from any thread. `on_delivery` runs on the internal thread, in sequence order; when it returns
// the delivery counts as processed. Lifetime: start() ... stop(); the destructor stops.

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/zmq_cad/cad_link_server.hpp"
#include "gateway/core/error.hpp"

namespace spdlog {
class logger;
}

namespace bl::cad {

struct client_options {
  std::string endpoint = "tcp://127.0.0.1:5560";
  // Several gateway nodes (issue 16): every node's endpoint, tried in turn. When the session's
  // node stops answering (no heartbeat for `liveness` beats, no welcome, a goodbye) the client
  // moves to the next at once, resumes from its last processed sequence and dedupes as after any
  // reconnect; only once every endpoint has failed in a row does it back off. Empty: `endpoint`.
  std::vector<std::string> endpoints;
  std::string server_public_key;  // the gateway's CURVE public key (Z85)
  key_pair client_keys;           // this CAD's key pair, registered for `agency` on the gateway
  std::string agency;
  std::string client_name = "bluelink-cad-client/1";
  std::string state_file;  // keeps the last processed sequence; empty: memory only
  int window = 256;        // deliveries in flight the gateway may send ahead of our acks
  std::chrono::milliseconds submit_timeout{5000};  // no answer: send again with the same id
                                                   // (then after 2x, 4x, 8x as long)
  std::size_t submit_window = 128;  // submissions sent and not yet answered, at most; the rest
                                    // wait their turn (a backlog never floods a new session)
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::milliseconds hello_timeout{3000};  // no welcome: reconnect
  std::size_t dedupe_memory = 200000;             // recent message ids remembered
};

struct delivery {
  std::int64_t seq = 0;
  nlohmann::json message;
};

/// The receipt object (as the HTTP API's) or a definitive refusal.
using submit_result = std::variant<nlohmann::json, error>;

struct client_counters {
  std::uint64_t delivered = 0;           // deliveries handed to on_delivery
  std::uint64_t duplicates_dropped = 0;  // re-sent deliveries filtered by message id or sequence
  std::uint64_t connects = 0;            // sessions welcomed
  std::uint64_t resent_submits = 0;      // submits sent again (timeout, reconnect, 503)
  std::uint64_t receipts = 0;
  std::uint64_t failovers = 0;  // moves to another endpoint (several gateway nodes)
};

/// The state file exists but cannot be used (unreadable, empty, torn, another agency's). Thrown
/// by the constructor: the application decides (restore it, write the right sequence, or delete
/// it to receive everything again) rather than the client silently starting from 0.
class state_file_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class cad_client {
 public:
  /// Throws state_file_error when opts.state_file exists and cannot be used. `on_delivery` runs
  /// on the client's thread; if it throws, the delivery counts as not processed (it comes again
  /// after a reconnect) and the error is logged.
  cad_client(client_options opts, std::function<void(const delivery&)> on_delivery,
             std::shared_ptr<spdlog::logger> log = nullptr);
  ~cad_client();
  cad_client(const cad_client&) = delete;
  cad_client& operator=(const cad_client&) = delete;

  void start();
  /// Sends goodbye (when connected) and stops the thread; pending submits fail with
  /// bl.gateway.shutting_down.
  void stop();

  /// Submits a message; the future completes with the receipt once the gateway has stored it
  /// (retrying with the same id across timeouts, reconnects and 503-class refusals), or with
  /// the first definitive refusal (a 4xx-class code).
  std::future<submit_result> submit(nlohmann::json message);

  /// True while a session is open (welcome received and the gateway heard within liveness).
  bool connected() const;
  /// The highest sequence processed (and acknowledged or about to be).
  std::int64_t processed_upto() const;
  client_counters counters() const;
  /// Drops the connection as a network failure would; the client reconnects with back-off.
  void drop_connection();
  /// The endpoint the client is connected or connecting to.
  std::string endpoint() const;

  /// True for error codes worth retrying with the same message id (nothing was stored).
  static bool retryable(errc code);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace bl::cad
