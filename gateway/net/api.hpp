#pragma once
// HTTP API v1 (docs/openapi.yaml) as plain request -> response logic, free of sockets so that it
// can be driven by the Beast session, by tests, and later by other transports.
//
// Thread-safety: handle() may be called from any I/O thread at once. `done` is called exactly once,
// possibly from the engine thread; the caller must hop back to its own strand.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json_fwd.hpp>

#include "gateway/core/config.hpp"
#include "gateway/core/error.hpp"
#include "gateway/core/liveness.hpp"
#include "gateway/net/router.hpp"

namespace spdlog {
class logger;
}

namespace bl {

class access_queue;
class purge_scheduler;
class accounts;
class console_hub;
class delivery_stream;
class engine;
class geo;
struct principal;
class cluster;
class link_registry;
class metrics;
class outage_monitor;
class schema_set;
class submit_pipeline;
struct submitter;
class token_auth;
struct console_session_services;
struct eido_session_services;
namespace store {
class reader;
class report_store;
struct access_entry;
struct transfer_record;
}  // namespace store

/// Everything the API needs, owned elsewhere and outliving it.
struct api_services {
  const gateway_config& cfg;
  const schema_set& schemas;
  const token_auth& auth;
  engine& eng;
  submit_pipeline& pipeline;    // every submission goes in through it
  delivery_stream& deliveries;  // every view of an agency's deliveries comes from it
  store::reader& reader;
  metrics& stats;
  link_registry& links;  // read for GET /api/v1/links; heard() on every token-authenticated call
  std::shared_ptr<spdlog::logger> log;
  accounts& accts;
  store::report_store* reports = nullptr;  // the savings report's reads; null: 503
  const geo* geo_convert = nullptr;  // null when PROJ could not be set up: /api/v1/geo answers 503
  console_hub* hub = nullptr;        // consoles' presence for GET /api/v1/links
  const liveness* live = nullptr;    // the long-lived threads' beats, for /metrics
  const cluster* nodes = nullptr;    // this node's place among several (/healthz, /metrics)
  const outage_monitor* outages = nullptr;  // agencies' own outages (/api/v1/links, /metrics)
  /// Where reads queue their access-log entries (answered at once). Required: without it every
  /// read of personal data is refused.
  access_queue* access = nullptr;
  /// The retention purge's state, for /metrics; null: none runs.
  const purge_scheduler* purger = nullptr;
  /// Runs blocking work (Argon2id password hashing, the savings report) so that the HTTP I/O
  /// threads never wait on it. Empty (tests): such work runs inline.
  boost::asio::any_io_executor workers{};
  int worker_threads = 2;  // the pool's size
};

/// Every configured agency with its CAD link status (null when it has none), its fallback room
/// (null when none) and, when `consoles` is given, how many consoles are signed in for it;
/// when `outages` is given, whether its room is out (null when not).
nlohmann::json links_json(const gateway_config& cfg, const link_registry& links,
                          const std::map<std::string, int>* consoles,
                          const outage_monitor* outages = nullptr);

/// A JSON reply: `body` serialised, Content-Type application/json.
api_response json_response(int status, const nlohmann::json& body);

/// The console's session token from a Cookie header (empty when there is none).
std::string session_token_of(std::string_view cookie_header);

class api {
 public:
  explicit api(api_services s);
  using done_fn = std::function<void(api_response)>;
  /// Handles one request; `ex` runs the long-poll timer of GET /api/v1/inbox.
  void handle(api_request req, boost::asio::any_io_executor ex, done_fn done);
  /// From now on new submissions are refused with bl.gateway.shutting_down.
  void begin_shutdown();
  /// A long-lived part of the gateway (`component`) has failed: /healthz answers 503 naming it,
  /// and submissions are refused with bl.gateway.degraded (the engine refuses them too).
  void set_degraded(const std::string& component, const std::string& why);
  /// The worker pool's liveness: beaten as each job starts and ends, and by beat_idle_workers()
  /// while a worker is free; only jobs stuck on every worker at once stop the beats (the
  /// watchdog's limits.thread_stall_s then applies), never one long report.
  void set_workers_beat(liveness::beat* b) { workers_beat_ = b; }
  /// Beats the worker pool's liveness while a worker is free (called by the I/O beat).
  void beat_idle_workers() {
    if (workers_beat_ && blocking_jobs_.load() < s_.worker_threads) (*workers_beat_)();
  }
  /// Counts an error reply produced outside handle() (e.g. by the HTTP parser).
  void record_error(const api_response& r);

  static api_response error_response(const error& e);

  /// Who sent the request: a bearer token (integrations) or the console's session cookie. For a
  /// cookie, also checks Origin and, on POST/PUT/PATCH/DELETE, the X-CSRF-Token header.
  std::variant<principal, error> authenticate(const api_request& req) const;
  /// Whether `origin` may use the console (its own origin, or one in console.allowed_origins).
  bool origin_allowed(const api_request& req) const;
  /// Security headers every console page and reply carries (CSP without unsafe-inline script).
  void add_security_headers(api_response& r) const;

 private:
  // Console sign-in (gateway/net/api.cpp).
  api_response post_session(const api_request& req);
  api_response get_session(const principal& who);
  api_response delete_session(const api_request& req);
  /// A file from console.dir, or index.html for a console route; nullopt when not served.
  std::optional<api_response> static_file(const std::string& path) const;
  /// For a console asset path (css/, js/, vendor/, img/, sounds/, favicon.ico) with no file: a
  /// plain-text 404 saying what is missing and, for vendor/, what to run; nullopt otherwise.
  std::optional<api_response> console_file_missing(const std::string& path) const;
  // Phone calls, geo conversion and dry-run validation (gateway/net/api_calls.cpp).
  void post_call(const principal& who, const std::string& body, done_fn done);
  void get_calls(const principal& who, const std::string& query, done_fn done);
  /// POST /api/v1/phone-claims: "I'm calling them" on a phone prompt, for the caller's agency.
  void post_phone_claim(const principal& who, const std::string& body, done_fn done);
  /// POST /api/v1/redirects: the caller's pending transfer goes to its recipient's fallback room.
  void post_redirect(const principal& who, const std::string& body, done_fn done);
  /// POST /api/v1/holds (place: the transfer is in the body) or DELETE
  /// /api/v1/holds/{transfer_id} (lift).
  void change_hold(const principal& who, const std::string& transfer_id, const std::string& body,
                   bool place, done_fn done);
  api_response get_retention();
  /// POST /api/v1/subject-access/search: what the officer's agency holds about one person; with
  /// `exporting` (POST /api/v1/subject-access/export), all of what the search finds less what is
  /// left out, third parties redacted, for the answer to the request.
  void subject_access(const principal& who, const std::string& body, bool exporting, done_fn done);
  /// The "retention" part of a transfer's detail as `viewer`'s agency sees it.
  nlohmann::json retention_json(const store::transfer_record& t, const std::string& viewer) const;
  api_response get_geo(const std::string& query) const;
  api_response validate_message(const principal& who, const std::string& body) const;
  // The savings report (gateway/net/api_reports.cpp): managers and admins only.
  api_response get_savings_report(const principal& who, const std::string& query) const;
  // Console user management for supervisors and admins (gateway/net/api_users.cpp).
  api_response get_users(const principal& who);
  api_response post_user(const principal& who, const std::string& body);
  api_response patch_user(const principal& who, const std::string& username,
                          const std::string& body);

  void post_message(const principal& who, const std::string& body, done_fn done);
  void get_transfers(const principal& who, const std::string& query, done_fn done);
  void get_transfer(const principal& who, const std::string& id, done_fn done);
  void get_original(const principal& who, const std::string& message_id, done_fn done);
  // The personal-data access log (gateway/net/api_access.cpp).
  /// GET /api/v1/access-log: supervisors (their agency's entries) and admins.
  void get_access_log(const principal& who, const std::string& query, done_fn done);
  /// An access-log entry of `operation` on `object` by `who` (actor, agency, channel set).
  static store::access_entry access_by(const principal& who, std::string_view operation,
                                       std::string_view object);
  /// Answers `r` once `entries` are in the access log (durable); when they cannot be written,
  /// answers the log's error instead: nothing is shown that the log does not hold.
  void answer_logged(std::vector<store::access_entry> entries, api_response r, done_fn done);
  /// POST /api/v1/documents: a partner's CAP alert or EDXL-DE envelope (api_documents.cpp).
  void post_document(const principal& who, const std::string& query, const std::string& body,
                     done_fn done);
  void get_inbox(const std::string& agency, const std::string& query,
                 boost::asio::any_io_executor ex, done_fn done);
  void post_ack(const std::string& agency, const std::string& body, done_fn done);
  api_response get_links();
  api_response health();

 public:
  /// The gateway's counters (the HTTP session counts header timeouts in them).
  metrics& stats() { return s_.stats; }
  /// What the console's and EIDO's WebSocket sessions use (handed to them explicitly).
  console_session_services console_services() const;
  eido_session_services eido_services() const;
  /// Who submits for `who`: its agency, through the console (session) or the API (token).
  static submitter submitter_of(const principal& who);

 private:
  api_response render_metrics();
  /// A request body read into `doc`: parsed within the edge's JSON limits ("the request body"),
  /// then checked against schema `schema`; the first error found, or nullopt.
  std::optional<error> read_body(const std::string& body, const char* schema,
                                 nlohmann::json& doc) const;
  /// handle() without its guard: finds the route, checks its access, runs it.
  void dispatch(const api_request& req, boost::asio::any_io_executor ex, done_fn done);
  /// The routes under /api/v1 (the handler api_v1_routes registers them).
  void add_v1_routes(route_table& t);
  class api_v1_routes;
  class site_routes;
  /// Runs `work` on the worker pool and answers with its result; bl.gateway.busy when
  /// max_blocking_jobs are already waiting; an exception becomes bl.gateway.internal.
  void blocking(const char* what, std::function<api_response()> work, done_fn done);
  static constexpr int max_blocking_jobs = 64;

  api_services s_;
  std::atomic<int> blocking_jobs_{0};  // queued or running on the worker pool
  liveness::beat* workers_beat_ = nullptr;
  // The handlers: /api/v1 (this class), /ucri2 (ucri2_handler), and the site: /healthz,
  // /metrics and the console's files.
  router router_;
};

}  // namespace bl
