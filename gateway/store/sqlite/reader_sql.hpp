#pragma once
// The SQL of the reader's queries (gateway/store/sqlite/reader.cpp), in one place so that the
// component tests can ask SQLite how it runs each one (EXPLAIN QUERY PLAN) and compare its rows
// with a plain reference query. Internal to the SQLite engine: nothing above gateway/store
// includes it.
//
// Every query an operator or a CAD waits on reads a page: an index range in the order the page
// is returned, stopped by its LIMIT, so that its cost is the size of the page and not of the
// history (measured in docs/benchmarks.md, "Pages on a million transfers").

#include <string>

namespace bl::store::sqlite::sql {

// The columns of a transfer's list row (read by read_transfer_row() from column `first` on), of
// `transfers t`.
#define BL_TRANSFER_ROW_COLUMNS                                             \
  " t.id, t.state, t.version, t.category, t.priority, t.mode, t.requester," \
  " t.responder, t.created_at, t.updated_at, t.expires_at, t.delivery_due," \
  " t.decision_due, t.delivery_alerted, t.decision_alerted,"                \
  " (SELECT number FROM incident_numbers n WHERE n.transfer_id = t.id AND"  \
  "  n.agency = t.requester),"                                              \
  " (SELECT number FROM incident_numbers n WHERE n.transfer_id = t.id AND"  \
  "  n.agency = t.responder),"                                              \
  " (SELECT json_extract(doc, '$.body.summary') FROM messages m"            \
  "  WHERE m.id = t.request_message_id)"

/// One page of the transfers `?1` is a party to, newest first (updated_at DESC, id DESC), at most
/// `?5`; with `state` only those in state `?2`, with `category` only those of category `?3`, with
/// `since` only those updated at or after `?4` (ms). Only the filters that are set appear in the
/// text, so that SQLite can walk an index that has them (migration 6) in page order.
const std::string& list_transfers(bool state, bool category, bool since);
const std::string& subject_transfers();
const std::string& subject_calls();

/// Timeline events after `?1`, oldest first, at most `?2`; of transfers `?3` is a party to (all
/// when `?3` is empty); none after `?4` (0: no bound) nor after `?5` (the durable mark).
inline constexpr const char* events_after =
    "SELECT e.id, e.at, e.kind, e.actor, e.message_id, e.from_state, e.to_state, e.version,"
    " e.detail," BL_TRANSFER_ROW_COLUMNS
    " FROM transfer_events e JOIN transfers t ON t.id = e.transfer_id"
    " WHERE e.id > ?1 AND (?3 = '' OR t.requester = ?3 OR t.responder = ?3)"
    " AND (?4 = 0 OR e.id <= ?4) AND e.id <= ?5 ORDER BY e.id LIMIT ?2";

inline constexpr const char* last_event_id = "SELECT COALESCE(MAX(id), 0) FROM transfer_events";

// transfer_detail: the transfer `?1` (its columns in the order of a list row's first 15, then
// request_message_id), then its incident numbers, timeline, messages and audit.
inline constexpr const char* detail_transfer =
    "SELECT id, state, version, category, priority, mode, requester, responder, created_at,"
    " updated_at, expires_at, delivery_due, decision_due, delivery_alerted, decision_alerted,"
    " request_message_id, purged_at FROM transfers WHERE id = ?1";
inline constexpr const char* detail_holds =
    "SELECT id, agency, placed_by, placed_at, reason, lifted_by, lifted_at, lift_reason"
    " FROM legal_holds WHERE transfer_id = ?1 ORDER BY id";
inline constexpr const char* current_holds =
    "SELECT id, agency, placed_by, placed_at, reason, lifted_by, lifted_at, lift_reason,"
    " transfer_id FROM legal_holds WHERE lifted_at IS NULL ORDER BY id";
inline constexpr const char* purge_candidates_first =
    "SELECT id, requester, responder, updated_at FROM transfers"
    " WHERE purged_at IS NULL AND updated_at < ?1 ORDER BY updated_at, id LIMIT ?4";
inline constexpr const char* purge_candidates_after =
    "SELECT id, requester, responder, updated_at FROM transfers"
    " WHERE purged_at IS NULL AND updated_at < ?1 AND (updated_at, id) > (?2, ?3)"
    " ORDER BY updated_at, id LIMIT ?4";
inline constexpr const char* call_purge_candidates =
    "SELECT id, from_agency, to_agency, started_at FROM calls"
    " WHERE purged_at IS NULL AND started_at < ?1 AND (started_at, id) > (?2, ?3)"
    " ORDER BY started_at, id LIMIT ?4";
inline constexpr const char* detail_numbers =
    "SELECT agency, number, recorded_at FROM incident_numbers WHERE transfer_id = ?1";
inline constexpr const char* detail_timeline =
    "SELECT id, at, kind, actor, message_id, from_state, to_state, version, detail"
    " FROM transfer_events WHERE transfer_id = ?1 ORDER BY id";
inline constexpr const char* transfer_of_message =
    "SELECT t.id, t.version FROM messages m JOIN transfers t ON t.id = m.transfer_id"
    " WHERE m.id = ?1 AND m.from_agency = ?2";
inline constexpr const char* detail_originals =
    "SELECT o.message_id, o.standard, o.media_type, length(CAST(o.body AS BLOB)), o.received_at"
    " FROM messages m JOIN originals o ON o.message_id = m.id WHERE m.transfer_id = ?1"
    " ORDER BY m.stored_at, m.rowid";
// The parties are the transfer's (a message without one is the sender's and recipient's).
inline constexpr const char* original_of =
    "SELECT COALESCE(t.requester, m.from_agency), COALESCE(t.responder, m.to_agency),"
    " o.standard, o.media_type, o.body, o.received_at, COALESCE(m.transfer_id, '')"
    " FROM originals o"
    " JOIN messages m ON m.id = o.message_id LEFT JOIN transfers t ON t.id = m.transfer_id"
    " WHERE o.message_id = ?1";
inline constexpr const char* subject_messages =
    "SELECT id, doc FROM messages WHERE transfer_id = ?1 ORDER BY stored_at, rowid";
inline constexpr const char* subject_events =
    "SELECT id, detail FROM transfer_events WHERE transfer_id = ?1 AND detail IS NOT NULL"
    " ORDER BY id";
inline constexpr const char* detail_messages =
    "SELECT doc FROM messages WHERE transfer_id = ?1 ORDER BY stored_at, rowid";
inline constexpr const char* detail_audit =
    "SELECT seq, at, actor, action, message_id, detail, hash FROM audit"
    " WHERE transfer_id = ?1 ORDER BY seq";

/// Deliveries to `?1` after sequence `?2` up to `?4`, oldest first, at most `?3`.
inline constexpr const char* inbox =
    "SELECT d.seq, m.doc, d.type FROM deliveries d JOIN messages m ON m.id = d.message_id"
    " WHERE d.agency = ?1 AND d.seq > ?2 AND d.seq <= ?4 ORDER BY d.seq LIMIT ?3";

inline constexpr const char* acked_upto = "SELECT acked_upto FROM endpoints WHERE agency = ?1";
inline constexpr const char* last_seq =
    "SELECT COALESCE(MAX(seq), 0) FROM deliveries WHERE agency = ?1";

/// Unacknowledged deliveries per agency, in agency order (the caller leaves out those with none).
/// The agencies are found by skipping through the primary key (one probe each) and each is counted
/// from its acked_upto on, so that the cost is the backlog, not the history.
inline constexpr const char* queue_depths =
    "WITH RECURSIVE agencies(agency) AS ("
    " SELECT (SELECT MIN(agency) FROM deliveries)"
    " UNION ALL"
    " SELECT (SELECT MIN(d.agency) FROM deliveries d WHERE d.agency > a.agency)"
    " FROM agencies a WHERE a.agency IS NOT NULL)"
    " SELECT a.agency, (SELECT COUNT(*) FROM deliveries d WHERE d.agency = a.agency AND d.seq >"
    " COALESCE((SELECT acked_upto FROM endpoints e WHERE e.agency = a.agency), 0))"
    " FROM agencies a WHERE a.agency IS NOT NULL ORDER BY a.agency";

/// Transfers per state, in state order, states with none left out: the counts that triggers keep
/// (migration 6), not a scan of every transfer.
inline constexpr const char* transfer_states =
    "SELECT state, n FROM transfer_state_counts WHERE n > 0 ORDER BY state";

/// One page of the phone calls to or from `?1`, newest first (started_at DESC, id DESC), at most
/// `?3`; with `since` only those started at or after `?2` (ms).
const std::string& list_calls(bool since);

}  // namespace bl::store::sqlite::sql
