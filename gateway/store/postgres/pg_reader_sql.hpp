#pragma once
// The SQL of the PostgreSQL reader's queries (gateway/store/postgres/pg_reader.cpp), in one place
// so that the component tests can ask the server how it runs each one (EXPLAIN) and compare their
// results with the SQLite reader's (gateway/store/sqlite/reader_sql.hpp), whose rows, order and
// fields they reproduce. Internal to the PostgreSQL engine: nothing above gateway/store includes
// it.
//
// Every query an operator or a CAD waits on reads a page: an index range (migration 2) walked in
// the order the page is returned and stopped by its LIMIT, so that its cost is the size of the
// page and not of the history. Ties on a text key are ordered COLLATE "C" (byte order, as SQLite's
// BINARY), whatever the database's locale.
//
// PostgreSQL must know the type of every parameter of a prepared statement, so a query whose
// filters vary is built with only the parameters it uses, numbered in the order that each
// function below states.

#include <string>

namespace bl::store::postgres::sql {

// The columns of a transfer's list row (read by read_transfer_row() in pg_reader.cpp from column
// `first` on), of `transfers t` joined to its request message `rm` (BL_PG_REQUEST_JOIN). The
// summary is body.summary of the request as stored; a document holding the escape \u0000 (valid
// JSON that PostgreSQL's json functions refuse to turn into text, failing the whole query) is
// returned whole in the last column instead, and the reader takes the summary from it.
#define BL_PG_TRANSFER_ROW_COLUMNS                                                             \
  " t.id, t.state, t.version, t.category, t.priority, t.mode, t.requester,"                    \
  " t.responder, t.created_at, t.updated_at, t.expires_at, t.delivery_due,"                    \
  " t.decision_due, t.delivery_alerted, t.decision_alerted,"                                   \
  " (SELECT number FROM incident_numbers n WHERE n.transfer_id = t.id AND"                     \
  "  n.agency = t.requester),"                                                                 \
  " (SELECT number FROM incident_numbers n WHERE n.transfer_id = t.id AND"                     \
  "  n.agency = t.responder),"                                                                 \
  " CASE WHEN strpos(rm.doc, E'\\\\u0000') = 0 THEN rm.doc::json -> 'body' ->> 'summary' END," \
  " CASE WHEN strpos(rm.doc, E'\\\\u0000') > 0 THEN rm.doc END"
#define BL_PG_REQUEST_JOIN " LEFT JOIN messages rm ON rm.id = t.request_message_id"
/// How many columns BL_PG_TRANSFER_ROW_COLUMNS has.
inline constexpr int transfer_row_columns = 19;

/// One page of the transfers an agency is a party to, newest first (updated_at DESC, id DESC).
/// Parameters: $1 the agency; then, only those whose flag is set and in this order, the state,
/// the category and the earliest updated_at (ms); last the page size.
const std::string& list_transfers(bool state, bool category, bool since);

/// Timeline events with $1 < id <= $2, oldest first, at most $3; with `agency`, only those of
/// transfers $4 is a party to. The caller folds the caller's upper bound and the durable mark
/// into $2.
const std::string& events_after(bool agency);

inline constexpr const char* last_event_id = "SELECT COALESCE(max(id), 0) FROM transfer_events";

// transfer_detail: the transfer $1 (its columns in the order of a list row's first 15, then
// request_message_id), then its incident numbers, timeline, messages and audit.
inline constexpr const char* detail_transfer =
    "SELECT id, state, version, category, priority, mode, requester, responder, created_at,"
    " updated_at, expires_at, delivery_due, decision_due, delivery_alerted, decision_alerted,"
    " request_message_id, purged_at FROM transfers WHERE id = $1";
inline constexpr const char* detail_holds =
    "SELECT id, agency, placed_by, placed_at, reason, lifted_by, lifted_at, lift_reason,"
    " transfer_id FROM legal_holds WHERE transfer_id = $1 ORDER BY id";
inline constexpr const char* current_holds =
    "SELECT id, agency, placed_by, placed_at, reason, lifted_by, lifted_at, lift_reason,"
    " transfer_id FROM legal_holds WHERE lifted_at IS NULL ORDER BY id";
// Keyset pages in the order of the partial indexes transfers_purge and calls_purge.
inline constexpr const char* purge_candidates =
    "SELECT id, requester, responder, updated_at FROM transfers"
    " WHERE purged_at IS NULL AND updated_at < $1"
    " AND (updated_at, id COLLATE \"C\") > ($2, $3 COLLATE \"C\")"
    " ORDER BY updated_at, id COLLATE \"C\" LIMIT $4";
inline constexpr const char* call_purge_candidates =
    "SELECT id, from_agency, to_agency, started_at FROM calls"
    " WHERE purged_at IS NULL AND started_at < $1 AND (started_at, id) > ($2, $3)"
    " ORDER BY started_at, id LIMIT $4";
inline constexpr const char* detail_numbers =
    "SELECT agency, number, recorded_at FROM incident_numbers WHERE transfer_id = $1";
inline constexpr const char* detail_timeline =
    "SELECT id, at, kind, actor, message_id, from_state, to_state, version, detail"
    " FROM transfer_events WHERE transfer_id = $1 ORDER BY id";
// stored_order (migration 2) is SQLite's rowid: the order of messages stored in one millisecond.
inline constexpr const char* transfer_of_message =
    "SELECT t.id, t.version FROM messages m JOIN transfers t ON t.id = m.transfer_id"
    " WHERE m.id = $1 AND m.from_agency = $2";
inline constexpr const char* detail_originals =
    "SELECT o.message_id, o.standard, o.media_type, octet_length(o.body), o.received_at"
    " FROM messages m JOIN originals o ON o.message_id = m.id WHERE m.transfer_id = $1"
    " ORDER BY m.stored_at, m.stored_order";
inline constexpr const char* original_of =
    "SELECT COALESCE(t.requester, m.from_agency), COALESCE(t.responder, m.to_agency),"
    " o.standard, o.media_type, o.body, o.received_at, COALESCE(m.transfer_id, '')"
    " FROM originals o"
    " JOIN messages m ON m.id = o.message_id LEFT JOIN transfers t ON t.id = m.transfer_id"
    " WHERE o.message_id = $1";
inline constexpr const char* detail_messages =
    "SELECT doc FROM messages WHERE transfer_id = $1 ORDER BY stored_at, stored_order";
inline constexpr const char* detail_audit =
    "SELECT seq, at, actor, action, message_id, detail, hash FROM audit"
    " WHERE transfer_id = $1 ORDER BY seq";

/// Deliveries to $1 with $2 < seq <= $3, oldest first, at most $4.
inline constexpr const char* inbox =
    "SELECT d.seq, m.doc, d.type FROM deliveries d JOIN messages m ON m.id = d.message_id"
    " WHERE d.agency = $1 AND d.seq > $2 AND d.seq <= $3 ORDER BY d.seq LIMIT $4";

inline constexpr const char* acked_upto = "SELECT acked_upto FROM endpoints WHERE agency = $1";
/// The last delivery queued for $1: the end of its primary key's range, one probe.
inline constexpr const char* last_seq =
    "SELECT COALESCE(max(seq), 0) FROM deliveries WHERE agency = $1";

/// Unacknowledged deliveries per agency, in agency order (the caller leaves out those with none).
/// The agencies are found by skipping through deliveries' primary key (one probe each) and each
/// is counted from its acked_upto on, so that the cost is the backlog, not the history.
inline constexpr const char* queue_depths =
    "WITH RECURSIVE agencies(agency) AS ("
    " SELECT (SELECT min(agency) FROM deliveries)"
    " UNION ALL"
    " SELECT (SELECT min(d.agency) FROM deliveries d WHERE d.agency > a.agency)"
    " FROM agencies a WHERE a.agency IS NOT NULL)"
    " SELECT a.agency, (SELECT count(*) FROM deliveries d WHERE d.agency = a.agency AND d.seq >"
    " COALESCE((SELECT acked_upto FROM endpoints e WHERE e.agency = a.agency), 0))"
    " FROM agencies a WHERE a.agency IS NOT NULL ORDER BY a.agency COLLATE \"C\"";

/// Transfers per state, in state order, states with none left out: the counts that triggers keep
/// (migration 2), not a scan of every transfer.
inline constexpr const char* transfer_states =
    "SELECT state, n FROM transfer_state_counts WHERE n > 0 ORDER BY state COLLATE \"C\"";

/// One page of the audit chain after seq $1, at most $2 rows (verify_audit reads the chain a
/// page at a time, so that a long chain never sits in memory whole).
inline constexpr const char* audit_page =
    "SELECT seq, at, actor, action, COALESCE(message_id, ''), COALESCE(transfer_id, ''),"
    " detail, prev_hash, hash, detail_sha256, erased_by FROM audit WHERE seq > $1 ORDER BY seq"
    " LIMIT $2";
/// The chain's last row as the writers recorded it when they appended it.
inline constexpr const char* audit_tail = "SELECT seq, hash FROM audit_tail";

/// One page of the phone calls to or from $1, newest first (started_at DESC, id DESC); with
/// `since`, $2 is the earliest started_at (ms); last the page size.
const std::string& list_calls(bool since);

/// Subject access: the transfers of $1 last active in [$2, ($3, $4)), newest first, at most $5 (the
/// list's two index ranges); then each one's messages and timeline details.
const std::string& subject_transfers();
inline constexpr const char* subject_messages =
    "SELECT id, doc FROM messages WHERE transfer_id = $1 ORDER BY stored_at, stored_order";
inline constexpr const char* subject_events =
    "SELECT id, detail FROM transfer_events WHERE transfer_id = $1 AND detail IS NOT NULL"
    " ORDER BY id";
/// The calls of $1 started in [$2, ($3, $4)), newest first, at most $5.
const std::string& subject_calls();

}  // namespace bl::store::postgres::sql
