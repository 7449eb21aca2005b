#pragma once
// The personal-data access log that DPA 2018 s.62 requires (issue 18): every collection,
// alteration, consultation, disclosure, combination and erasure of a transfer's content, with its
// time, who (a console user, an agency's integration, the gateway itself, or the CLI), for which
// agency, through which channel and, for a disclosure, the recipients.
//
// Each entry is an audit row (action "access.<operation>", no message or transfer id of its own,
// so that it never shows among a transfer's audit rows) whose detail is access_detail_json() of
// the entry: the audit hash chain makes the log append-only and tamper-evident. Table
// `access_log` holds the same fields as columns, keyed by the audit row's seq, so that the
// queries a data-protection officer runs ("who looked at transfer T", "what did user U look at
// last week") use indexes; `bluelink audit verify` checks every access_log row against its audit
// row, both ways. An entry holds ids, never a transfer's content.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/core/time_util.hpp"

namespace bl::store {

/// The most access entries one transaction writes: the engine stops adding jobs to a batch once
/// its entries reach this, and the access queue hands a backlog over in chunks of this size.
inline constexpr std::size_t max_access_batch = 5000;

/// One access-log entry. The operation and object vocabularies are below; every field is text so
/// that both engines store and hash it identically ("" where a field does not apply).
struct access_entry {
  std::int64_t seq = 0;   // the audit row's seq; set by the store
  time_point at{};        // set by the writer's caller (the engine's batch time)
  std::string operation;  // collect, alter, consult, disclose, combine, erase
  /// The agency on whose behalf it was done (the actor's agency); "" for a gateway-wide actor (a
  /// manager, an admin, the CLI). An agency's supervisors see the entries of their agency only.
  std::string agency;
  std::string actor;  // the console user's name, the agency (integration), "bluelink", "cli:<user>"
  std::string actor_kind;  // user, integration, gateway, cli
  std::string channel;     // console, api, cad, eido, ucri2, cli, gateway
  std::string object;  // transfer, transfer_list, message, original, call, call_list, access_log
  std::string transfer_id;
  std::string ref;            // a message id, a call id, or the query an access-log read ran
  std::string recipients;     // for a disclosure: the receiving agencies, comma-separated
  std::string justification;  // why (s.62(2)(a), (3)(a)): given by the reader or set by the gateway
};

namespace access_op {
inline constexpr std::string_view collect = "collect";
inline constexpr std::string_view alter = "alter";
inline constexpr std::string_view consult = "consult";
inline constexpr std::string_view disclose = "disclose";
inline constexpr std::string_view combine = "combine";
inline constexpr std::string_view erase = "erase";
}  // namespace access_op

/// Whether `op` is one of the six operations of s.62(1).
bool known_access_operation(std::string_view op);

/// The audit row's action for `e`: "access.<operation>".
std::string access_action(const access_entry& e);

/// The audit row's detail for `e`: a JSON object of every field but seq and at, keys in one
/// fixed order, so that the same entry always gives the same bytes (verification rebuilds it
/// from the access_log row and compares).
std::string access_detail_json(const access_entry& e);

/// What a data-protection officer's query asks for. Empty strings match anything.
struct access_filter {
  /// Only entries of these agencies: nullopt for every agency (gateway-wide roles).
  std::optional<std::string> agency;
  std::string actor;
  std::string transfer_id;
  std::string operation;
  std::optional<time_point> since;  // at or after
  std::optional<time_point> until;  // before
  std::int64_t before_seq = 0;      // paging: entries older than this seq (0: from the newest)
  int limit = 500;
};

/// The SELECT for `f`, newest first, with its arguments in order: `dollar` numbers them $1, $2
/// (PostgreSQL), otherwise ?1, ?2 (SQLite). Only the conditions `f` sets are in it, so that each
/// query can use the index of its leading condition. Columns: seq, at (ms), operation, agency,
/// actor, actor_kind, channel, object, transfer_id, ref, recipients, justification.
struct access_query {
  std::string sql;
  std::vector<std::variant<std::string, std::int64_t>> args;
};
access_query access_query_of(const access_filter& f, bool dollar);

/// Verification's page of audit rows of action access.* after seq $1/?1 (at most $2/?2), each
/// with its access_log row (NULLs when it has none). Columns: the audit row's seq, at, action and
/// detail, then 1 when the access_log row is missing, then the access_log columns from at on.
std::string access_verify_page_sql(bool dollar);
/// One access_log row with no audit row of action access.* (its seq), or none.
inline constexpr const char* access_orphan_sql =
    "SELECT l.seq FROM access_log l LEFT JOIN audit a ON a.seq = l.seq"
    " WHERE a.seq IS NULL OR a.action NOT LIKE 'access.%' ORDER BY l.seq LIMIT 1";

/// Why the access_log row `row` does not match its audit row (seq, time in ms, action and
/// detail), or nullopt when it does.
std::optional<std::string> access_row_mismatch(const access_entry& row, std::int64_t audit_at_ms,
                                               const std::string& audit_action,
                                               const std::string& audit_detail);

}  // namespace bl::store
