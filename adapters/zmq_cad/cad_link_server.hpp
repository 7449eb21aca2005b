#pragma once
// The gateway side of the ZeroMQ CAD link (docs/protocols/cad-link.md): a CURVE-secured ROUTER
// socket, a ZAP handler binding each CAD's public key to one agency, sessions with heartbeats and
// liveness, windowed in-order delivery from the agency's queue with resume, and submissions and
// acknowledgements handed to the engine.
//
// Threading: one thread owns the ROUTER and ZAP sockets and every session; nothing else touches
// them. Engine completions and inbox notifications reach it through a mutex-guarded queue and an
// eventfd that its poll loop watches. Lifetime: start() binds (throws on failure) and starts the
// thread; stop() says goodbye to every session and joins. The services passed in must outlive it.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json_fwd.hpp>

#include "gateway/core/config.hpp"
#include "gateway/core/liveness.hpp"

namespace spdlog {
class logger;
}

namespace bl {
class engine;
class cluster;
class delivery_stream;
class submit_pipeline;
class link_registry;
class metrics;
class schema_set;
namespace store {
class reader;
}
}  // namespace bl

namespace bl::cad {

/// A CURVE key pair as Z85 text.
struct key_pair {
  std::string public_key;
  std::string secret_key;
};

/// Reads {"public": Z85, "secret": Z85} as written by `bluelink keys generate`; throws
/// std::runtime_error naming the file and what is wrong.
key_pair load_key_file(const std::string& path);

struct server_services {
  const gateway_config& cfg;
  const schema_set& schemas;
  engine& eng;                  // audit notes
  submit_pipeline& pipeline;    // every submission goes in through it
  delivery_stream& deliveries;  // the agency's deliveries and their acknowledgements
  store::reader& reader;        // link status
  metrics& stats;
  link_registry& links;
  std::shared_ptr<spdlog::logger> log;
  // Several nodes (gateway/service/cluster.hpp): a session is delivered to only while this node
  // holds the agency's CAD lease, and ends when another node takes it. Null: the node is alone.
  cluster* nodes = nullptr;
};

class cad_link_server {
 public:
  cad_link_server(server_services s, key_pair server_keys);
  ~cad_link_server();
  cad_link_server(const cad_link_server&) = delete;
  cad_link_server& operator=(const cad_link_server&) = delete;

  /// Binds the ZAP handler and the ROUTER endpoint, then starts the link thread.
  void start();
  /// From now on submissions are refused with bl.gateway.shutting_down; receipts for what was
  /// already queued are still sent, so call stop() only after the engine has drained.
  void begin_shutdown();
  /// Sends goodbye to every session, stops the thread, closes the sockets.
  void stop();
  /// The endpoint actually bound (tcp://127.0.0.1:5560).
  std::string endpoint() const;
  /// Called (on the link thread, once) if the link thread ends other than by stop(): the link
  /// is gone for every CAD, so the gateway must stop taking what it cannot deliver and restart.
  /// May be set after start(): a failure that came first is reported as soon as it is set.
  void set_failure_handler(std::function<void(const std::string& why)> fn);
  /// The link thread beats this on every poll (at least every 250 ms). Set before start().
  void set_beat(liveness::beat* b);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace bl::cad
