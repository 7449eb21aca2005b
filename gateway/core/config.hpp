#pragma once
// Typed gateway configuration, built from one JSON file that has already been validated against
// schemas/config/config.schema.json (so the conversion here trusts shapes and applies defaults).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace bl {

enum class agency_kind { fire, police, ambulance, other };
enum class priority { emergency = 0, urgent = 1, routine = 2 };

std::string_view to_string(agency_kind k);
std::string_view to_string(priority p);
std::optional<priority> priority_from(std::string_view s);

/// Where an agency works, as a circle (WGS84 degrees, km): locations far outside it are
/// questioned before a request is sent (gateway/core/location_check.hpp).
struct area_config {
  double lat = 0;
  double lon = 0;
  double radius_km = 0;
};

/// How long personal data is kept (issue 18, docs/data-protection.md), in days; unset: kept until
/// a period is set. Per agency, over the gateway's defaults.
struct retention_periods {
  std::optional<int>
      transfers_days;  // a transfer's content and original documents, from its last activity
  std::optional<int> calls_days;  // a phone call's note and who logged it, from the call
  std::optional<int> logs_days;   // console sign-in records (sessions), from their end
};

struct agency_config {
  std::string id;
  std::string name;
  agency_kind kind = agency_kind::other;
  std::string phone;  // the control room's number, shown when a transfer falls back to the phone
  int cost_per_call_pence = 400;
  std::optional<area_config> area;  // not set: only locations outside Great Britain are questioned
  // Issue 16: who takes this agency's work while its own room is out (no CAD link up and no
  // console signed in on any node for outage_after_s): another configured agency, its buddy or
  // secondary control room. Empty: none; senders are shown only the phone number.
  std::string fallback_agency;
  std::string fallback_note;  // shown to senders with the buddy ("Kent Fire takes Essex's calls")
  int outage_after_s = 120;
  retention_periods retention;  // over gateway_config::retention
};

struct token_config {
  std::string agency;
  std::string sha256;  // hex SHA-256 of the bearer token; the token itself is never stored
  std::string label;
};

struct priority_config {
  int time_to_delivery_s = 60;
  int time_to_decision_s = 300;
  int default_expiry_s = 900;
};

/// A CAD system allowed on the ZeroMQ link: its CURVE public key and the one agency it speaks for.
struct cad_client_config {
  std::string agency;
  std::string public_key;  // Z85, 40 characters
  std::string label;
};

struct cad_link_config {
  bool enabled = false;
  std::string listen = "tcp://127.0.0.1:5560";
  std::string server_key_file;  // JSON {"public", "secret"} written by `bluelink keys generate`
  int heartbeat_ms = 1000;
  int liveness = 3;
  int window = 256;
  std::vector<cad_client_config> clients;
};

/// Several gateway nodes on one PostgreSQL store (issue 16; docs/architecture.md, "Several
/// nodes"). On SQLite the node is alone and only node_id is used (in logs).
struct cluster_config {
  std::string node_id;      // unique per node; empty: "<hostname>:<listen_port>"
  int heartbeat_ms = 1000;  // how often the node publishes its links and renews its CAD leases
  int node_ttl_ms = 5000;   // a node not heard for this long is gone (its links no longer shown)
  int lease_ttl_ms = 5000;  // a CAD lease not renewed for this long has lapsed
};

/// The browser console and its sign-in sessions (issue 4).
struct console_config {
  std::string dir;  // empty: no console pages are served
  int session_idle_s = 43200;
  int session_max_s = 86400;
  int login_attempts_per_minute = 5;
  std::vector<std::string> allowed_origins;
  std::string tile_url;
  std::string tile_attribution;
  std::size_t ws_max_message_bytes = 64 * 1024;
  std::size_t ws_max_queued = 1000;
};

/// HTTPS for the listener; empty files: plain HTTP.
struct tls_config {
  std::string cert_file;
  std::string key_file;
  bool enabled() const { return !cert_file.empty(); }
};

/// One telephone number of a control room, for importing telephony call records (issue 5).
struct phone_line_config {
  std::string number;  // as written in the config; compared after normalising (see call_import)
  std::string agency;
  bool emergency = false;  // an emergency line: calls to it count as emergency calls
  std::string label;
};

/// How `bluelink calls import` reads a telephony system's CSV export.
struct call_import_config {
  std::string caller_column = "caller";
  std::string called_column = "called";
  std::string start_column = "start";
  std::string duration_column = "duration";
  std::string id_column;  // optional: the telephony system's own call id, used for re-import dedupe
  std::string date_order = "dmy";  // for dates written 03/04/2026: "dmy" (UK), "mdy" or "ymd"
  std::string time_zone = "Europe/London";  // times without an offset: "Europe/London" or "UTC"
  std::vector<phone_line_config> numbers;
};

/// A baseline figure entered by hand: average calls a month before go-live.
struct baseline_figure {
  std::string from_agency;
  std::string to_agency;
  std::string category;           // a call reason, or empty for every category together
  std::optional<bool> emergency;  // nullopt: emergency and non-emergency together
  double calls_per_month = 0;
};

/// Settings for the savings report (issue 5). Cost per call is per receiving agency
/// (agency_config::cost_per_call_pence).
struct savings_config {
  std::string go_live;                       // local date "2026-04-01"; empty: not live yet
  int financial_year_start_month = 4;        // UK financial years start in April
  int comparison_months = 4;                 // the before/after comparison: N months either side
  std::string baseline_method = "imported";  // "imported" (from calls before go-live) or "entered"
  int baseline_months = 12;                  // imported: how many months before go-live to average
  std::vector<baseline_figure> baseline;     // entered
  std::vector<std::string> count_sources = {"console", "api", "import"};  // which calls count
};

// The UCRI2 Client API (docs/protocols/ucri2.md): each agency's UCRI2 address (OID). A
// participant with `client` set speaks the client API: it gets a token with its OID as the
// client id and its Bluelink bearer token as the secret, and receives UCRI2 messages.
struct ucri2_app_config {
  std::string app_id;
  std::string app_version;
  std::vector<std::string> unsupported_messages;
};

struct ucri2_participant_config {
  std::string agency;
  std::string oid;
  bool client = false;
  // What the participant's system supports; empty: every app Bluelink translates.
  std::vector<ucri2_app_config> supported_apps;
};

struct ucri2_config {
  bool enabled = false;
  std::string oid;  // the gateway's own OID (the UCRM)
  int token_ttl_s = 3600;
  std::string support_phone;
  std::string support_email;
  std::vector<ucri2_participant_config> participants;
};

// A partner's identities in the standards it speaks (docs/protocols/cap-edxl.md, "Partners"):
// each maps to `agency`; `default_to` receives what names no Bluelink agency.
struct partner_config {
  std::string agency;
  std::vector<std::string> cap_senders;
  std::vector<std::string> edxl_senders;
  std::vector<std::string> eido_ids;
  std::string default_to;
};

/// Bounds on what outsiders may send or hold open (issue 12, docs/operations.md "Security").
struct edge_limits_config {
  int max_json_depth = 32;
  std::size_t max_connections = 2048;
  std::size_t max_connections_per_address = 256;
  int header_timeout_ms = 10000;
  int agency_submissions_per_second = 50;
  int agency_submission_burst = 200;
  std::int64_t inbox_quota = 2000;
  int thread_stall_s = 20;  // a long-lived thread silent this long is stalled: restart
};

struct retention_config {
  retention_periods defaults;
  int purge_every_s = 3600;  // how often the gateway runs its purge
  int batch = 50;            // transfers (or calls) purged per transaction
};

struct gateway_config {
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  // database: the embedded SQLite file (engine "sqlite", the default) or PostgreSQL ("postgres").
  std::string database_engine = "sqlite";
  std::string database_path = "bluelink.db";
  std::string database_conninfo;       // postgres: libpq connection string, without a password
  std::string database_password_file;  // postgres: where the password is (never logged)
  std::string database_password_env;   // postgres: or the environment variable holding it
  bool synchronous_full = true;
  int busy_timeout_ms = 5000;
  std::vector<agency_config> agencies;
  std::vector<token_config> tokens;
  std::array<priority_config, 3> priorities{};
  std::size_t max_message_bytes = 64 * 1024;
  int http_threads = 2;
  int inbox_batch = 100;
  int max_wait_s = 60;
  edge_limits_config edge;
  std::string metrics_token_sha256;  // empty: GET /metrics is open
  std::string file_group;            // empty: created files are 0600; else 0640 to this group
  cad_link_config cad_link;
  cluster_config cluster;
  console_config console;
  tls_config tls;
  call_import_config call_import;
  savings_config savings;
  ucri2_config ucri2;
  std::vector<partner_config> partners;
  retention_config retention;
  std::string log_level = "info";
  std::string log_file;

  const agency_config* find_agency(std::string_view id) const;
  /// The partner entry of an agency, or nullptr.
  const partner_config* find_partner(std::string_view agency) const;
  const priority_config& limits(priority p) const { return priorities[static_cast<int>(p)]; }
  /// An agency's retention periods: its own, else the gateway's defaults.
  retention_periods retention_of(std::string_view agency) const;
};

/// Converts a schema-valid config document; throws std::invalid_argument naming the JSON pointer
/// for the few rules a schema cannot express (duplicate agency ids, tokens for unknown agencies).
/// Whether a PostgreSQL connection string (keyword=value or URI) carries a password.
bool conninfo_has_password(const std::string& conninfo);

gateway_config config_from_json(const nlohmann::json& doc);

}  // namespace bl
