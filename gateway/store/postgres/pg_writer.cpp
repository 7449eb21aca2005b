#include "gateway/store/postgres/pg_writer.hpp"

#include <cstdio>

#include "gateway/core/digest.hpp"
#include "gateway/store/cluster_store.hpp"
#include "gateway/store/postgres/migrations.hpp"
#include "gateway/store/postgres/pg.hpp"

namespace bl::store::postgres {

namespace {

std::int64_t ms(time_point t) {
  return to_ms(t);
}
param pms(time_point t) {
  return p(to_ms(t));
}

constexpr const char* lock_tail_sql = "SELECT seq, hash FROM audit_tail FOR UPDATE";

// A transfer's columns as load_transfer reads them (transfer_at), its two incident numbers last.
#define BL_PG_TRANSFER_COLUMNS                                             \
  " id, state, version, category, priority, mode, requester, responder,"   \
  " request_message_id, created_at, updated_at, expires_at, delivery_due," \
  " decision_due, delivery_alerted, decision_alerted,"                     \
  " (SELECT number FROM incident_numbers n WHERE n.transfer_id = t.id AND" \
  "  n.agency = t.requester),"                                             \
  " (SELECT number FROM incident_numbers n WHERE n.transfer_id = t.id AND" \
  "  n.agency = t.responder)"

constexpr const char* load_transfer_sql =
    "SELECT" BL_PG_TRANSFER_COLUMNS " FROM transfers t WHERE id = $1";

// load_transfer_sql for many ids, one primary-key probe each (LIMIT keeps the subquery from
// being flattened into a join that could be planned as a scan).
constexpr const char* load_transfers_sql =
    "SELECT x.* FROM unnest($1::text[]) AS k(id) CROSS JOIN LATERAL ("
    "SELECT" BL_PG_TRANSFER_COLUMNS " FROM transfers t WHERE t.id = k.id LIMIT 1) x";

// An agency's next sequence number, its delivery and the inbox quota's count (pending_counts,
// migration 3: one more from the message's sender, unless the delivery is already behind the
// agency's acknowledged position) in one statement: the upsert's row lock makes a second writer
// wait until this transaction ends, then continue from its number.
constexpr const char* enqueue_sql =
    "WITH s AS (INSERT INTO agency_seq(agency, last_seq) VALUES($1, 1)"
    " ON CONFLICT(agency) DO UPDATE SET last_seq = agency_seq.last_seq + 1 RETURNING last_seq),"
    " d AS (INSERT INTO deliveries(agency, seq, message_id, transfer_id, type, created_at)"
    " SELECT $1, last_seq, $2::text, $3::text, $4::text, $5::bigint FROM s RETURNING seq),"
    " p AS (INSERT INTO pending_counts(recipient, sender, n)"
    " SELECT $1, m.from_agency, 1 FROM messages m, d WHERE m.id = $2 AND d.seq > COALESCE("
    "  (SELECT acked_upto FROM endpoints WHERE agency = $1), 0)"
    " ON CONFLICT(recipient, sender) DO UPDATE SET n = pending_counts.n + 1)"
    " SELECT seq FROM d";

constexpr const char* add_event_sql =
    "WITH c AS (UPDATE bluelink_counters SET value = value + 1 WHERE name = 'transfer_events'"
    " RETURNING value)"
    " INSERT INTO transfer_events(id, transfer_id, at, kind, actor, message_id, from_state,"
    " to_state, version, detail) SELECT value, $1::text, $2::bigint, $3::text, $4::text,"
    " $5::text, $6::text, $7::text, $8::bigint, $9::text FROM c"
    " RETURNING id";

}  // namespace

pg_writer::pg_writer(const std::string& conninfo) {
  try {
    c_ = std::make_unique<connection>(conninfo);
    // The gateway's times are UTC epoch milliseconds; nothing here depends on the session's
    // zone, but logs of the server's own now() read better in UTC.
    session_setup();
    migrate(*c_);
  } catch (const store_error& e) {
    throw store_error(e.kind(),
                      "database '" + redact_conninfo(conninfo) + "' is unusable: " + e.what());
  }
}

pg_writer::~pg_writer() = default;

void pg_writer::session_setup() {
  // The gateway's times are UTC epoch milliseconds; nothing here depends on the session's zone,
  // but the server's own now() reads better in UTC.
  c_->exec("SET TIME ZONE 'UTC'");
  // A receipt promises durability: COMMIT must not return before the commit is flushed. A
  // server configured with synchronous_commit=off is overruled for this session; stronger
  // settings (remote_write, remote_apply for a standby) are kept.
  auto r = c_->query("SHOW synchronous_commit");
  if (r.rows() == 1 && r.text(0, 0) == "off") c_->exec("SET synchronous_commit = on");
}

void pg_writer::begin() {
  forget();
  // Between transactions nothing is lost by connecting again: after a server restart or a
  // failover the writer carries on once the server answers (until then: unavailable).
  if (c_->reconnect_if_broken()) session_setup();
  // BEGIN and the audit chain's tail locked, in one round trip: the SQLite engine's BEGIN
  // IMMEDIATE. Another writer's transaction waits here until this one ends, so everything this
  // one reads (a transfer it then updates, a counter) stays as read until COMMIT.
  auto r = c_->exec("BEGIN; " + std::string(lock_tail_sql));
  take_tail(r);
  in_transaction_ = true;
}

namespace {

/// The UTC day of `t` as transfer ids and transfer_day_seq write it: YYYYMMDD.
std::string utc_day(time_point t) {
  std::string stamp = format_rfc3339(t);  // 2026-11-21T...
  return stamp.substr(0, 4) + stamp.substr(5, 2) + stamp.substr(8, 2);
}

/// A text[] parameter in PostgreSQL's array literal form, each element quoted.
param text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char ch : item) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace

void pg_writer::begin_batch(const batch_hint& hint) {
  if (hint.message_ids.empty() && hint.senders.empty()) return begin();
  forget();
  if (c_->reconnect_if_broken()) session_setup();
  // BEGIN, the chain's lock, then the reads, each its own statement in one round trip: a
  // statement's snapshot is taken when it starts, so the reads come after the lock is held and
  // see everything the writer before this one committed.
  c_->send_command("BEGIN");
  c_->send(lock_tail_sql);
  // One primary-key probe per id (LIMIT keeps the subquery from being flattened into a join):
  // `id = ANY($1)` was planned as a scan of every message while the table was young and not
  // yet analysed, and a prepared statement keeps that plan.
  c_->send(
      "SELECT m.id, m.receipt FROM unnest($1::text[]) AS k(id) CROSS JOIN LATERAL"
      " (SELECT id, receipt FROM messages WHERE messages.id = k.id LIMIT 1) m",
      {text_array(hint.message_ids)});
  c_->send("SELECT recipient, sender, n FROM pending_counts WHERE sender = ANY($1::text[])",
           {text_array(hint.senders)});
  const std::string day = hint.now ? utc_day(*hint.now) : std::string();
  c_->send("SELECT last_no FROM transfer_day_seq WHERE day = $1", {p(day)});
  std::vector<result> r;
  try {
    r = c_->flush_all();
  } catch (...) {
    rollback();
    throw;
  }
  in_transaction_ = true;
  take_tail(r.at(1));
  for (const auto& id : hint.message_ids) receipts_.emplace(id, std::nullopt);
  for (int i = 0; i < r.at(2).rows(); ++i) receipts_[r[2].text(i, 0)] = r[2].text(i, 1);
  pending_senders_.insert(hint.senders.begin(), hint.senders.end());
  for (int i = 0; i < r.at(3).rows(); ++i)
    pending_[{r[3].text(i, 0), r[3].text(i, 1)}] = r[3].int64(i, 2);
  // The day's counter, when the day has one (else the first new transfer searches the day's
  // stored ids, next_transfer_id()).
  if (r.at(4).rows() == 1) day_no_ = std::make_pair(day, r[4].int64(0, 0));
}

void pg_writer::write(const char* sql, const params& ps) {
  // Inside a job without a savepoint on the server yet, the write waits here: the job may still
  // be undone without the server ever seeing it (savepoint()).
  if (job_open_ && !job_on_server_) {
    job_writes_.emplace_back(sql, ps);
    return;
  }
  // Inside a transaction a write whose result nobody reads is queued (pipeline mode) and goes
  // with the next statement that waits, at the latest COMMIT: a failure fails the transaction
  // either way. Outside one it runs now, so that it is stored when the call returns.
  c_->send(sql, ps);
  if (!in_transaction_) c_->flush();
}

void pg_writer::job_to_server() {
  if (!job_open_ || job_on_server_) return;
  // The job reads the database: what it wrote so far must be there first, and from now on only
  // a real savepoint can undo it. Queued, with the read's round trip.
  c_->send_command("SAVEPOINT job");
  job_on_server_ = true;
  for (auto& [sql, ps] : job_writes_) c_->send(sql, ps);
  job_writes_.clear();
}

result pg_writer::read(const char* sql, const params& ps) {
  job_to_server();
  return c_->prepared(sql, ps);
}

void pg_writer::announce(const std::string& node, const std::set<std::string>& agencies,
                         bool timeline) {
  if (agencies.empty() && !timeline) return;
  wake w;
  w.node = node;
  w.timeline = timeline;
  w.agencies = agencies;
  c_->send("SELECT pg_notify($1, $2)", {p(cluster_wake_channel), p(encode_wake(w))});
}

void pg_writer::commit() {
  // The chain's tail row moves once, to the transaction's last append, outside any savepoint:
  // updated in each job's savepoint under the lock BEGIN took, every update made a MultiXact.
  if (tail_dirty_ && tail_)
    c_->send("UPDATE audit_tail SET seq = $1, hash = $2", {p(tail_->first), p(tail_->second)});
  forget();
  in_transaction_ = false;
  // COMMIT behind the queued writes, in their round trip; it returns once the server has
  // flushed the commit. COMMIT of a transaction that had already failed answers ROLLBACK, not
  // an error (or, when a queued write failed, that write's error is raised).
  c_->send_command("COMMIT");
  auto r = c_->flush();
  if (r.command_status() != "COMMIT")
    throw store_error(fault::conflict,
                      "PostgreSQL rolled the transaction back at COMMIT (a statement in it had "
                      "failed): nothing of it was stored");
}

void pg_writer::savepoint() {
  job_tail_ = std::make_pair(tail_, tail_dirty_);
  if (!in_transaction_) {
    c_->send_command("SAVEPOINT job");
    c_->flush();
    return;
  }
  // Taken on the server only when the job first reads the database (job_to_server): a job
  // that only writes (a new request whose reads came with BEGIN) keeps its writes here until
  // it ends, and is undone by dropping them. A savepoint per job would cost the server two
  // statements and a subtransaction each, and a batch of more than 64 subtransactions slows
  // every other session's snapshots.
  job_open_ = true;
  job_on_server_ = false;
  job_writes_.clear();
}

void pg_writer::release_savepoint() {
  if (!job_open_) {
    c_->send_command("RELEASE SAVEPOINT job");
    if (!in_transaction_) c_->flush();
    return;
  }
  job_open_ = false;
  if (job_on_server_) {
    c_->send_command("RELEASE SAVEPOINT job");
    return;
  }
  for (auto& [sql, ps] : job_writes_) c_->send(sql, ps);
  job_writes_.clear();
}

void pg_writer::rollback_to_savepoint() {
  // The tail as the job found it: appends the transaction made before the job stay, and the
  // row (moved only at COMMIT) does not say where they end. What else this transaction knew
  // is read again when next needed.
  auto [tail, dirty] = job_tail_;
  const bool on_server = !job_open_ || job_on_server_;
  forget();
  tail_ = std::move(tail);
  tail_dirty_ = dirty;
  if (!on_server) return;  // the job's writes never left: nothing to undo on the server
  // One round trip, with whatever the job had queued (run, then undone: a failure among them
  // is raised, as it would have been when it ran; the row lock taken at begin() stays).
  c_->send_command("ROLLBACK TO SAVEPOINT job");
  c_->send_command("RELEASE SAVEPOINT job");
  c_->flush();
}

void pg_writer::rollback() noexcept {
  forget();
  in_transaction_ = false;
  try {
    // What was queued is read back first (a failure among it changes nothing: all is undone).
    try {
      c_->flush();
    } catch (const store_error&) {
    }
    if (c_->in_transaction()) c_->exec("ROLLBACK");
  } catch (...) {
    // The connection is gone: the server has rolled back.
  }
}

void pg_writer::take_tail(const result& r) {
  if (r.rows() != 1)
    throw store_error(fault::corrupt, "the audit chain's tail row is missing (table audit_tail)");
  tail_ = std::make_pair(r.int64(0, 0), r.text(0, 1));
}

void pg_writer::lock_chain() {
  if (tail_) return;
  // Within a transaction begin() opened the row is locked already; this reads it again after a
  // savepoint rollback undid appends. Outside one (autocommit use) it locks for the statement.
  take_tail(read(lock_tail_sql));
}

std::optional<std::string> pg_writer::find_receipt(const std::string& message_id) {
  if (auto known = receipts_.find(message_id); known != receipts_.end()) return known->second;
  auto r = read("SELECT receipt FROM messages WHERE id = $1", {p(message_id)});
  if (r.rows() == 0) return std::nullopt;
  return r.text(0, 0);
}

std::optional<std::string> pg_writer::message_doc(const std::string& message_id) {
  auto r = read("SELECT doc FROM messages WHERE id = $1", {p(message_id)});
  if (r.rows() == 0) return std::nullopt;
  return r.text(0, 0);
}

namespace {

transfer transfer_at(const result& r, int i) {
  transfer t;
  t.id = r.text(i, 0);
  t.state = transfer_state_from(r.text(i, 1)).value_or(transfer_state::submitted);
  t.version = r.int64(i, 2);
  t.category = r.text(i, 3);
  t.prio = priority_from(r.text(i, 4)).value_or(priority::routine);
  auto mode = r.text(i, 5);
  t.mode = mode == "exercise" ? traffic_mode::exercise
           : mode == "test"   ? traffic_mode::test
                              : traffic_mode::live;
  t.requester = r.text(i, 6);
  t.responder = r.text(i, 7);
  t.request_message_id = r.text(i, 8);
  t.created_at = from_ms(r.int64(i, 9));
  t.updated_at = from_ms(r.int64(i, 10));
  t.expires_at = from_ms(r.int64(i, 11));
  t.delivery_due = from_ms(r.int64(i, 12));
  t.decision_due = from_ms(r.int64(i, 13));
  t.delivery_alerted = r.boolean(i, 14);
  t.decision_alerted = r.boolean(i, 15);
  t.requester_incident = r.text(i, 16);
  t.responder_incident = r.text(i, 17);
  return t;
}

}  // namespace

std::optional<transfer> pg_writer::load_transfer(const std::string& id) {
  if (auto known = transfers_.find(id); known != transfers_.end()) return known->second;
  auto r = read(load_transfer_sql, {p(id)});
  if (r.rows() == 0) return std::nullopt;
  return transfer_at(r, 0);
}

void pg_writer::prefetch_transfers(const std::vector<std::string>& ids) {
  // Kept for this transaction only, whose turn (begin) no other writer can change them in, and
  // only until it changes them itself (save_transfer, record_incident).
  if (!in_transaction_ || ids.empty()) return;
  auto r = read(load_transfers_sql, {text_array(ids)});
  for (int i = 0; i < r.rows(); ++i) {
    transfer t = transfer_at(r, i);
    transfers_[t.id] = std::move(t);
  }
}

void pg_writer::save_transfer(const transfer& t, bool insert) {
  transfers_.erase(t.id);
  auto due = t.next_due();
  param next = due ? pms(*due) : param();
  if (insert) {
    write(
        "INSERT INTO transfers(id, state, version, category, priority, mode, requester,"
        " responder, request_message_id, created_at, updated_at, expires_at, delivery_due,"
        " decision_due, delivery_alerted, decision_alerted, next_due)"
        " VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)",
        {p(t.id), p(std::string(to_string(t.state))), p(t.version), p(t.category),
         p(std::string(to_string(t.prio))), p(std::string(to_string(t.mode))), p(t.requester),
         p(t.responder), p(t.request_message_id), pms(t.created_at), pms(t.updated_at),
         pms(t.expires_at), pms(t.delivery_due), pms(t.decision_due), p(t.delivery_alerted),
         p(t.decision_alerted), next});
    return;
  }
  write(
      "UPDATE transfers SET state=$2, version=$3, priority=$4, updated_at=$5, expires_at=$6,"
      " delivery_due=$7, decision_due=$8, delivery_alerted=$9, decision_alerted=$10,"
      " next_due=$11 WHERE id=$1",
      {p(t.id), p(std::string(to_string(t.state))), p(t.version), p(std::string(to_string(t.prio))),
       pms(t.updated_at), pms(t.expires_at), pms(t.delivery_due), pms(t.decision_due),
       p(t.delivery_alerted), p(t.decision_alerted), next});
}

void pg_writer::insert_message(const std::string& id, const std::string& type,
                               const std::string& from, const std::string& to,
                               const std::string& transfer_id, std::optional<std::int64_t> version,
                               const std::string& mode, std::optional<time_point> sent_at,
                               time_point stored_at, const std::string& doc,
                               const std::string& receipt) {
  write(
      "INSERT INTO messages(id, type, from_agency, to_agency, transfer_id, version, mode,"
      " sent_at, stored_at, doc, receipt) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
      {p(id), p(type), p(from), p_or_null(to), p_or_null(transfer_id), p(version), p(mode),
       sent_at ? pms(*sent_at) : param(), pms(stored_at), p(doc), p_or_null(receipt)});
  if (!in_transaction_) return;
  receipts_[id] = receipt;
  sender_of_[id] = from;
}

void pg_writer::insert_original(const std::string& message_id, const original_document& doc,
                                time_point received_at) {
  write(
      "INSERT INTO originals(message_id, standard, media_type, body, digest, answer,"
      " received_at) VALUES($1,$2,$3,$4,$5,$6,$7)",
      {p(message_id), p(doc.standard), p(doc.media_type), p(doc.body), p_or_null(doc.digest),
       p_or_null(doc.answer), pms(received_at)});
}

std::optional<original_document> pg_writer::find_original(const std::string& message_id) {
  auto r = read(
      "SELECT COALESCE(digest, ''), COALESCE(answer, '') FROM originals"
      " WHERE message_id = $1",
      {p(message_id)});
  if (r.rows() == 0) return std::nullopt;
  original_document o;
  o.digest = r.text(0, 0);
  o.answer = r.text(0, 1);
  return o;
}

void pg_writer::record_incident(const std::string& transfer_id, const std::string& agency,
                                const std::string& number, time_point at) {
  transfers_.erase(transfer_id);
  write(
      "INSERT INTO incident_numbers(transfer_id, agency, number, recorded_at)"
      " VALUES($1,$2,$3,$4) ON CONFLICT(transfer_id, agency)"
      " DO UPDATE SET number = excluded.number, recorded_at = excluded.recorded_at",
      {p(transfer_id), p(agency), p(number), pms(at)});
}

void pg_writer::add_event(const timeline_event& e) {
  lock_chain();
  write(add_event_sql,
        {p(e.transfer_id), pms(e.at), p(e.kind), p(e.actor), p_or_null(e.message_id),
         p_or_null(e.from_state), p_or_null(e.to_state), p(e.version), p_or_null(e.detail)});
}

void pg_writer::counted_enqueue(const std::string& agency, const std::string& message_id) {
  // enqueue_sql adds one to (agency, the message's sender) when the new delivery is after the
  // agency's acknowledged position, which a new sequence number always is (the engine never
  // acknowledges beyond the last number issued). The known count follows; a message this
  // transaction did not store has a sender it does not know, so its counts are read again.
  auto from = sender_of_.find(message_id);
  if (from == sender_of_.end()) {
    pending_senders_.clear();
    pending_.clear();
  } else if (pending_senders_.count(from->second)) {
    ++pending_[{agency, from->second}];
  }
}

std::int64_t pg_writer::enqueue(const std::string& agency, const std::string& message_id,
                                const std::string& transfer_id, const std::string& type,
                                time_point at, const std::string& /*from*/) {
  lock_chain();
  auto r = read(enqueue_sql, {p(agency), p(message_id), p_or_null(transfer_id), p(type), pms(at)});
  counted_enqueue(agency, message_id);
  return r.int64(0, 0);
}

void pg_writer::enqueue_later(const std::string& agency, const std::string& message_id,
                              const std::string& transfer_id, const std::string& type,
                              time_point at, const std::string& /*from*/) {
  lock_chain();
  write(enqueue_sql, {p(agency), p(message_id), p_or_null(transfer_id), p(type), pms(at)});
  counted_enqueue(agency, message_id);
}

std::int64_t pg_writer::pending_from(const std::string& recipient, const std::string& sender) {
  // Read from the row enqueue() and ack() keep (migration 3), never across transactions:
  // another writer may have enqueued or acknowledged since. Within this one (whose turn, taken
  // at begin, keeps the rows as read) a count fetched with BEGIN and kept since is the row.
  if (pending_senders_.count(sender)) {
    auto known = pending_.find({recipient, sender});
    return known == pending_.end() ? 0 : known->second;
  }
  auto r = read("SELECT n FROM pending_counts WHERE recipient = $1 AND sender = $2",
                {p(recipient), p(sender)});
  return r.rows() ? r.int64(0, 0) : 0;
}

std::int64_t pg_writer::last_seq(const std::string& agency) {
  auto r = read("SELECT last_seq FROM agency_seq WHERE agency = $1", {p(agency)});
  return r.rows() ? r.int64(0, 0) : 0;
}

std::int64_t pg_writer::acked_upto(const std::string& agency) {
  auto r = read("SELECT acked_upto FROM endpoints WHERE agency = $1", {p(agency)});
  return r.rows() ? r.int64(0, 0) : 0;
}

std::vector<acked_delivery> pg_writer::ack(const std::string& agency, std::int64_t upto,
                                           time_point at) {
  std::vector<acked_delivery> out;
  // The inbox counts change below by what is acknowledged: read them again when next asked.
  pending_senders_.clear();
  pending_.clear();
  // The endpoint's row, locked: two writers acknowledging for one agency take turns, and the
  // second sees what the first moved.
  auto cur = read(
      "INSERT INTO endpoints(agency, acked_upto) VALUES($1, 0) ON CONFLICT(agency)"
      " DO UPDATE SET acked_upto = endpoints.acked_upto RETURNING acked_upto",
      {p(agency)});
  std::int64_t from = cur.int64(0, 0);
  if (upto <= from) return out;
  // The inbox quota's counts lose what is acknowledged, per sender, in the same statement.
  auto r = read(
      "WITH m AS (UPDATE deliveries SET acked_at = $4 WHERE agency = $1 AND seq > $2 AND"
      " seq <= $3 RETURNING seq, message_id, COALESCE(transfer_id, '') AS transfer_id, type),"
      " e AS (UPDATE endpoints SET acked_upto = $3 WHERE agency = $1),"
      " q AS (UPDATE pending_counts c SET n = c.n - x.n FROM (SELECT g.from_agency, count(*) AS n"
      "  FROM m JOIN messages g ON g.id = m.message_id GROUP BY g.from_agency) x"
      "  WHERE c.recipient = $1 AND c.sender = x.from_agency)"
      " SELECT seq, message_id, transfer_id, type FROM m ORDER BY seq",
      {p(agency), p(from), p(upto), pms(at)});
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.int64(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 3)});
  return out;
}

std::vector<acked_delivery> pg_writer::unacked_requests(const std::string& agency,
                                                        std::int64_t after, std::int64_t upto,
                                                        int limit) {
  std::vector<acked_delivery> out;
  auto r = read(
      "SELECT seq, message_id, COALESCE(transfer_id, ''), type FROM deliveries"
      " WHERE agency = $1 AND seq > GREATEST($2::bigint, COALESCE("
      "  (SELECT acked_upto FROM endpoints WHERE agency = $1), 0)) AND seq <= $3"
      " AND acked_at IS NULL AND type = 'transfer.request' ORDER BY seq LIMIT $4",
      {p(agency), p(after), p(upto), p(std::int64_t{limit})});
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.int64(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 3)});
  return out;
}

void pg_writer::audit(time_point at, const std::string& actor, const std::string& action,
                      const std::string& message_id, const std::string& transfer_id,
                      const std::string& detail_json) {
  lock_chain();
  std::int64_t seq = tail_->first + 1;
  const std::string detail_sha256 = sha256_hex(detail_json);
  std::string hash = audit_hash_erasable(tail_->second, seq, ms(at), actor, action, message_id,
                                         transfer_id, detail_sha256);
  params ps{p(seq),
            pms(at),
            p(actor),
            p(action),
            p_or_null(message_id),
            p_or_null(transfer_id),
            p(detail_json),
            p(tail_->second),
            p(hash),
            p(detail_sha256)};
  if (in_transaction_) {
    // The tail row follows at COMMIT (commit()).
    write(
        "INSERT INTO audit(seq, at, actor, action, message_id, transfer_id, detail, prev_hash,"
        " hash, detail_sha256) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
        ps);
    tail_dirty_ = true;
  } else {
    write(
        "WITH a AS (INSERT INTO audit(seq, at, actor, action, message_id, transfer_id, detail,"
        " prev_hash, hash, detail_sha256) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10))"
        " UPDATE audit_tail SET seq = $1, hash = $9",
        ps);
  }
  tail_ = std::make_pair(seq, std::move(hash));
}

void pg_writer::access(access_entry& e) {
  audit(e.at, e.actor, access_action(e), {}, {}, access_detail_json(e));
  e.seq = tail_->first;
  write(
      "INSERT INTO access_log(seq, at, operation, agency, actor, actor_kind, channel, object,"
      " transfer_id, ref, recipients, justification)"
      " VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
      {p(e.seq), pms(e.at), p(e.operation), p(e.agency), p(e.actor), p(e.actor_kind), p(e.channel),
       p(e.object), p(e.transfer_id), p(e.ref), p(e.recipients), p(e.justification)});
}

std::vector<std::string> pg_writer::due_transfers(time_point now, int limit) {
  std::vector<std::string> ids;
  auto r = read(
      "SELECT id FROM transfers WHERE next_due IS NOT NULL AND next_due <= $1"
      " ORDER BY next_due LIMIT $2",
      {pms(now), p(std::int64_t{limit})});
  for (int i = 0; i < r.rows(); ++i) ids.push_back(r.text(i, 0));
  return ids;
}

std::string pg_writer::next_transfer_id(time_point now) {
  const std::string day = utc_day(now);
  lock_chain();
  // Once this transaction has read the day's counter row, it is the only writer that can move
  // it until COMMIT (the chain's lock): the next number is known, and its update is queued.
  if (in_transaction_ && day_no_ && day_no_->first == day) {
    const std::int64_t no = ++day_no_->second;
    write("UPDATE transfer_day_seq SET last_no = $2 WHERE day = $1", {p(day), p(no)});
    char buf[32];
    std::snprintf(buf, sizeof buf, "T-%s-%06lld", day.c_str(), static_cast<long long>(no));
    return buf;
  }
  // The day's first id continues after any transfer of that day already stored (one written by
  // an import or an older gateway), later ones from the counter row. The search of the day's
  // stored ids runs only when the day has no row yet (an INSERT's VALUES would be computed, a
  // scan of transfers, before ON CONFLICT found the row on every call).
  auto r = read(
      "WITH u AS (UPDATE transfer_day_seq SET last_no = last_no + 1 WHERE day = $1"
      "  RETURNING last_no),"
      " i AS (INSERT INTO transfer_day_seq(day, last_no)"
      "  SELECT $1, 1 + COALESCE((SELECT max(substr(id, 12)::bigint) FROM transfers"
      "   WHERE id ~ ('^T-' || $1 || '-[0-9]{6}$')), 0) WHERE NOT EXISTS (SELECT 1 FROM u)"
      "  ON CONFLICT(day) DO UPDATE SET last_no = transfer_day_seq.last_no + 1"
      "  RETURNING last_no)"
      " SELECT last_no FROM u UNION ALL SELECT last_no FROM i",
      {p(day)});
  const std::int64_t no = r.int64(0, 0);
  if (in_transaction_) day_no_ = std::make_pair(day, no);
  char buf[32];
  std::snprintf(buf, sizeof buf, "T-%s-%06lld", day.c_str(), static_cast<long long>(no));
  return buf;
}

std::int64_t pg_writer::insert_call(const call_record& c) {
  auto r = read(
      "INSERT INTO calls(source, from_agency, to_agency, started_at, duration_s, emergency,"
      " reason, transfer_id, logged_by, exercise, note, created_at)"
      " VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING id",
      {p(c.source), p(c.from_agency), p(c.to_agency), pms(c.started_at), p(c.duration_s),
       p(c.emergency), p(c.reason), p_or_null(c.transfer_id), p(c.logged_by), p(c.exercise),
       p_or_null(c.note), pms(c.created_at)});
  if (r.rows() != 1) throw store_error(fault::unavailable, "storing the phone call returned no id");
  return r.int64(0, 0);
}

std::optional<phone_claim> pg_writer::find_phone_claim(const std::string& transfer_id,
                                                       const std::string& agency,
                                                       const std::string& prompt) {
  auto r = read(
      "SELECT username, display_name, counterpart, claimed_at FROM phone_claims"
      " WHERE transfer_id = $1 AND agency = $2 AND prompt = $3",
      {p(transfer_id), p(agency), p(prompt)});
  if (r.rows() == 0) return std::nullopt;
  return phone_claim{transfer_id,           agency,       prompt,
                     r.text(0, 0),          r.text(0, 1), r.text(0, 2),
                     from_ms(r.int64(0, 3))};
}

void pg_writer::insert_phone_claim(const phone_claim& c) {
  read(
      "INSERT INTO phone_claims(transfer_id, agency, prompt, username, display_name,"
      " counterpart, claimed_at) VALUES($1,$2,$3,$4,$5,$6,$7)",
      {p(c.transfer_id), p(c.agency), p(c.prompt), p(c.username), p(c.display_name),
       p(c.counterpart), pms(c.claimed_at)});
}

std::int64_t pg_writer::last_audit_seq() {
  return tail_ ? tail_->first : 0;
}

std::optional<purge_subject> pg_writer::purge_read(const std::string& id, bool with_content) {
  auto t = read(
      "SELECT requester, responder, updated_at, purged_at IS NOT NULL,"
      " EXISTS(SELECT 1 FROM legal_holds h WHERE h.transfer_id = t.id AND h.lifted_at IS NULL)"
      " FROM transfers t WHERE id = $1 FOR UPDATE",
      {p(id)});
  // FOR UPDATE: another node's purge of the same transfer, or a hold placed on it, waits here,
  // then sees it purged (or held).
  if (t.rows() == 0) return std::nullopt;
  purge_subject s;
  s.transfer_id = id;
  s.requester = t.text(0, 0);
  s.responder = t.text(0, 1);
  s.updated_at = from_ms(t.int64(0, 2));
  s.purged = t.boolean(0, 3);
  s.held = t.boolean(0, 4);
  if (s.purged || s.held || !with_content) return s;
  auto m = read("SELECT id, doc FROM messages WHERE transfer_id = $1", {p(id)});
  for (int i = 0; i < m.rows(); ++i) s.messages.emplace_back(m.text(i, 0), m.text(i, 1));
  auto e = read(
      "SELECT id, kind, detail FROM transfer_events WHERE transfer_id = $1 AND detail IS NOT NULL",
      {p(id)});
  for (int i = 0; i < e.rows(); ++i)
    s.events.push_back({e.int64(i, 0), e.text(i, 1), e.text(i, 2)});
  return s;
}

void pg_writer::purge_write(const purge_rewrite& w) {
  for (const auto& [id, doc] : w.messages)
    write("UPDATE messages SET doc = $2 WHERE id = $1", {p(id), p(doc)});
  for (const auto& e : w.events)
    write("UPDATE transfer_events SET detail = $2 WHERE id = $1", {p(e.id), p(e.detail)});
  write(
      "DELETE FROM originals WHERE message_id IN (SELECT id FROM messages WHERE transfer_id = $1)",
      {p(w.transfer_id)});
  write("UPDATE phone_claims SET username = '', display_name = '' WHERE transfer_id = $1",
        {p(w.transfer_id)});
  write(
      "UPDATE audit SET detail = '', erased_by = $2 WHERE transfer_id = $1"
      " AND detail_sha256 IS NOT NULL AND erased_by IS NULL AND seq < $2"
      " AND action IN ('message.rejected', 'transfer.redirected', 'transfer.redirected_from',"
      " 'phone.claimed')",
      {p(w.transfer_id), p(w.erased_by)});
  write("UPDATE transfers SET purged_at = $2 WHERE id = $1", {p(w.transfer_id), pms(w.at)});
}

std::vector<call_candidate> pg_writer::purge_calls(const std::vector<std::int64_t>& ids,
                                                   time_point at) {
  std::vector<call_candidate> out;
  if (ids.empty()) return out;
  std::string list = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) list += (i ? "," : "") + std::to_string(ids[i]);
  list += "}";
  auto r = read(
      "UPDATE calls SET note = NULL, logged_by = NULL, purged_at = $2"
      " WHERE id = ANY($1::bigint[]) AND purged_at IS NULL"
      " RETURNING id, from_agency, to_agency, started_at",
      {p(list), pms(at)});
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.int64(i, 0), r.text(i, 1), r.text(i, 2), from_ms(r.int64(i, 3))});
  return out;
}

std::optional<legal_hold> pg_writer::current_hold(const std::string& id) {
  auto r = read(
      "SELECT id, agency, placed_by, placed_at, reason FROM legal_holds"
      " WHERE transfer_id = $1 AND lifted_at IS NULL",
      {p(id)});
  if (r.rows() == 0) return std::nullopt;
  legal_hold h;
  h.id = r.int64(0, 0);
  h.transfer_id = id;
  h.agency = r.text(0, 1);
  h.placed_by = r.text(0, 2);
  h.placed_at = from_ms(r.int64(0, 3));
  h.reason = r.text(0, 4);
  return h;
}

std::int64_t pg_writer::place_hold(const legal_hold& h) {
  auto r = read(
      "INSERT INTO legal_holds(transfer_id, agency, placed_by, placed_at, reason)"
      " VALUES($1,$2,$3,$4,$5) RETURNING id",
      {p(h.transfer_id), p(h.agency), p(h.placed_by), pms(h.placed_at), p(h.reason)});
  if (r.rows() != 1) throw store_error(fault::unavailable, "storing the legal hold returned no id");
  return r.int64(0, 0);
}

void pg_writer::lift_hold(std::int64_t id, const std::string& by, time_point at,
                          const std::string& reason) {
  write(
      "UPDATE legal_holds SET lifted_by = $2, lifted_at = $3, lift_reason = $4"
      " WHERE id = $1 AND lifted_at IS NULL",
      {p(id), p(by), pms(at), p(reason)});
}

std::int64_t pg_writer::last_event_id() {
  auto r = read("SELECT value FROM bluelink_counters WHERE name = 'transfer_events'");
  return r.rows() ? r.int64(0, 0) : 0;
}

std::map<std::string, std::int64_t> pg_writer::last_seqs() {
  std::map<std::string, std::int64_t> out;
  auto r = read("SELECT agency, last_seq FROM agency_seq");
  for (int i = 0; i < r.rows(); ++i) out[r.text(i, 0)] = r.int64(i, 1);
  return out;
}

}  // namespace bl::store::postgres
