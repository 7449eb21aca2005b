#pragma once
// HTTP API v1 (docs/openapi.yaml) as plain request -> response logic, free of sockets so that it
// can be driven by the Beast session, by tests, and later by other transports.
//
// Thread-safety: handle() may be called from any I/O thread at once. `done` is called exactly once,
// possibly from the engine thread; the caller must hop back to its own strand.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "gateway/core/config.hpp"
#include "gateway/core/error.hpp"

namespace spdlog {
class logger;
}

namespace bl {

class engine;
class inbox_notifier;
class link_registry;
class metrics;
class schema_set;
class token_auth;
namespace store {
class reader;
}

struct api_request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query
  std::string authorization;
  std::string body;
};

struct api_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string error_id;  // the bl.* code when this is an error reply (for metrics and logs)
};

/// Everything the API needs, owned elsewhere and outliving it.
struct api_services {
  const gateway_config& cfg;
  const schema_set& schemas;
  const token_auth& auth;
  engine& eng;
  store::reader& reader;
  metrics& stats;
  inbox_notifier& notifier;
  const link_registry& links;
  std::shared_ptr<spdlog::logger> log;
};

class api {
 public:
  explicit api(api_services s);
  using done_fn = std::function<void(api_response)>;
  /// Handles one request; `ex` runs the long-poll timer of GET /api/v1/inbox.
  void handle(api_request req, boost::asio::any_io_executor ex, done_fn done);
  /// From now on new submissions are refused with bl.gateway.shutting_down.
  void begin_shutdown();
  /// Counts an error reply produced outside handle() (e.g. by the HTTP parser).
  void record_error(const api_response& r);

  static api_response error_response(const error& e);

 private:
  void post_message(const std::string& agency, const std::string& body, done_fn done);
  void get_transfers(const std::string& agency, const std::string& query, done_fn done);
  void get_transfer(const std::string& agency, const std::string& id, done_fn done);
  void get_inbox(const std::string& agency, const std::string& query,
                 boost::asio::any_io_executor ex, done_fn done);
  void post_ack(const std::string& agency, const std::string& body, done_fn done);
  api_response get_links();
  api_response health();
  api_response render_metrics();

  api_services s_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace bl
