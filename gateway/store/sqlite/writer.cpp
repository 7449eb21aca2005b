#include "gateway/store/sqlite/writer.hpp"

#include <cstdio>

#include <sqlite3.h>

#include "gateway/core/digest.hpp"
#include "gateway/store/sqlite/migrations.hpp"
#include "gateway/store/sqlite/sqlite.hpp"

namespace bl::store::sqlite {

namespace {
constexpr std::int64_t application_id = 0x424C4E4B;  // "BLNK": refuse to adopt foreign files

std::int64_t ms(time_point t) {
  return to_ms(t);
}

/// The text of the one row `s` finds for `key`, if any; the read is never left open on the
/// writer's connection (see writer::end_open_reads).
std::optional<std::string> one_text(stmt& s, const std::string& key) {
  s.reset().bind(1, key);
  if (!s.step()) return std::nullopt;
  std::string text = s.text(0);
  s.reset();
  return text;
}

}  // namespace

struct writer::statements {
  explicit statements(db& d)
      : begin(d, "BEGIN IMMEDIATE"),
        commit(d, "COMMIT"),
        savepoint(d, "SAVEPOINT job"),
        release(d, "RELEASE job"),
        rollback_to(d, "ROLLBACK TO job"),
        find_receipt(d, "SELECT receipt FROM messages WHERE id = ?1"),
        message_doc(d, "SELECT doc FROM messages WHERE id = ?1"),
        load_transfer(d,
                      "SELECT id, state, version, category, priority, mode, requester, responder,"
                      " request_message_id, created_at, updated_at, expires_at, delivery_due,"
                      " decision_due, delivery_alerted, decision_alerted,"
                      " (SELECT number FROM incident_numbers n WHERE n.transfer_id = t.id AND"
                      "  n.agency = t.requester),"
                      " (SELECT number FROM incident_numbers n WHERE n.transfer_id = t.id AND"
                      "  n.agency = t.responder)"
                      " FROM transfers t WHERE id = ?1"),
        insert_transfer(d,
                        "INSERT INTO transfers(id, state, version, category, priority, mode,"
                        " requester, responder, request_message_id, created_at, updated_at,"
                        " expires_at, delivery_due, decision_due, delivery_alerted,"
                        " decision_alerted, next_due)"
                        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)"),
        update_transfer(d,
                        "UPDATE transfers SET state=?2, version=?3, priority=?5, updated_at=?11,"
                        " expires_at=?12, delivery_due=?13, decision_due=?14,"
                        " delivery_alerted=?15, decision_alerted=?16, next_due=?17 WHERE id=?1"),
        insert_message(d,
                       "INSERT INTO messages(id, type, from_agency, to_agency, transfer_id,"
                       " version, mode, sent_at, stored_at, doc, receipt)"
                       " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"),
        insert_original(d,
                        "INSERT INTO originals(message_id, standard, media_type, body, digest,"
                        " answer, received_at) VALUES(?1,?2,?3,?4,?5,?6,?7)"),
        find_original(d, "SELECT digest, answer FROM originals WHERE message_id = ?1"),
        record_incident(
            d,
            "INSERT INTO incident_numbers(transfer_id, agency, number, recorded_at)"
            " VALUES(?1,?2,?3,?4) ON CONFLICT(transfer_id, agency)"
            " DO UPDATE SET number = excluded.number, recorded_at = excluded.recorded_at"),
        add_event(d,
                  "INSERT INTO transfer_events(transfer_id, at, kind, actor, message_id,"
                  " from_state, to_state, version, detail) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)"),
        enqueue(d,
                "INSERT INTO deliveries(agency, seq, message_id, transfer_id, type, created_at)"
                " VALUES(?1,?2,?3,?4,?5,?6)"),
        last_seq(d, "SELECT COALESCE(MAX(seq), 0) FROM deliveries WHERE agency = ?1"),
        acked_upto(d, "SELECT acked_upto FROM endpoints WHERE agency = ?1"),
        select_unacked(d,
                       "SELECT seq, message_id, COALESCE(transfer_id, ''), type FROM deliveries"
                       " WHERE agency = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq"),
        select_unacked_requests(d,
                                "SELECT seq, message_id, COALESCE(transfer_id, ''), type"
                                " FROM deliveries WHERE agency = ?1 AND seq > ?2 AND seq <= ?3"
                                " AND acked_at IS NULL AND type = 'transfer.request'"
                                " ORDER BY seq LIMIT ?4"),
        mark_acked(d,
                   "UPDATE deliveries SET acked_at = ?4 WHERE agency = ?1 AND seq > ?2 AND"
                   " seq <= ?3"),
        set_acked_upto(d,
                       "INSERT INTO endpoints(agency, acked_upto) VALUES(?1, ?2)"
                       " ON CONFLICT(agency) DO UPDATE SET acked_upto = excluded.acked_upto"),
        audit_tail(d, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"),
        audit_insert(d,
                     "INSERT INTO audit(seq, at, actor, action, message_id, transfer_id, detail,"
                     " prev_hash, hash, detail_sha256) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"),
        access_insert(d,
                      "INSERT INTO access_log(seq, at, operation, agency, actor, actor_kind,"
                      " channel, object, transfer_id, ref, recipients, justification)"
                      " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"),
        due(d,
            "SELECT id FROM transfers WHERE next_due IS NOT NULL AND next_due <= ?1"
            " ORDER BY next_due LIMIT ?2"),
        max_transfer_id(d, "SELECT MAX(id) FROM transfers WHERE id >= ?1 AND id < ?2"),
        pending_from(d,
                     "SELECT count(*) FROM deliveries d JOIN messages m ON m.id = d.message_id"
                     " WHERE d.agency = ?1 AND d.seq > ?2 AND m.from_agency = ?3") {}

  stmt begin, commit, savepoint, release, rollback_to, find_receipt, message_doc, load_transfer,
      insert_transfer, update_transfer, insert_message, insert_original, find_original,
      record_incident, add_event, enqueue, last_seq, acked_upto, select_unacked,
      select_unacked_requests, mark_acked, set_acked_upto, audit_tail, audit_insert, access_insert,
      due, max_transfer_id, pending_from;
};

writer::writer(const store_options& opts)
    : sync_by_caller_(opts.synchronous_full && opts.sync_by_caller) {
  db_ = std::make_unique<db>(opts.path, true, false, opts.vfs);
  try {
    // Before anything else: after a crash the first reader or writer recovers the WAL, and a
    // backup or monitoring reader may be doing so right now; wait for it rather than refuse.
    db_->exec("PRAGMA busy_timeout = " + std::to_string(opts.busy_timeout_ms));
    // Reading the schema forces SQLite to read the header: a corrupt or foreign file fails here.
    db_->exec("SELECT count(*) FROM sqlite_master");
    std::int64_t app = 0, tables = 0;
    {
      stmt s(*db_, "PRAGMA application_id");
      if (s.step()) app = s.int64(0);
      stmt t(*db_, "SELECT count(*) FROM sqlite_master WHERE type = 'table'");
      if (t.step()) tables = t.int64(0);
    }
    if (app != application_id && tables > 0)
      throw sqlite_error(SQLITE_NOTADB,
                         "'" + opts.path + "' is an SQLite database but not a Bluelink store");
    {
      stmt q(*db_, "PRAGMA quick_check(1)");
      if (q.step() && q.text(0) != "ok")
        throw sqlite_error(SQLITE_CORRUPT, "integrity check failed: " + q.text(0));
    }
    db_->exec("PRAGMA busy_timeout = " + std::to_string(opts.busy_timeout_ms));
    {
      stmt wal(*db_, "PRAGMA journal_mode = WAL");
      if (!wal.step() || wal.text(0) != "wal")
        throw sqlite_error(SQLITE_CANTOPEN, "the database could not be switched to WAL mode");
    }
    db_->exec(opts.synchronous_full && !opts.sync_by_caller ? "PRAGMA synchronous = FULL"
                                                            : "PRAGMA synchronous = NORMAL");
    if (app != application_id)
      db_->exec("PRAGMA application_id = " + std::to_string(application_id));
    // Migrations run with foreign keys off, as SQLite's table rebuilds need; migrate() checks
    // them after each step.
    migrate(*db_);
    db_->exec("PRAGMA foreign_keys = ON");
  } catch (const store_error& e) {
    throw store_error(e.kind(), "database '" + opts.path + "' is unusable: " + e.what(),
                      e.native_code());
  }
  st_ = std::make_unique<statements>(*db_);
  db_->exec("PRAGMA cache_size = -32768");  // 32 MiB: the hot indexes stay in memory
  db_->exec("PRAGMA temp_store = MEMORY");  // savepoint journals never touch a temp file
}

writer::~writer() = default;

void writer::begin() {
  end_open_reads();
  st_->begin.reset().run();
  // The chain's tail is read again in each transaction (one indexed row, on the first append):
  // the CLI appends to the chain too (`bluelink access-log query` logs itself) while the gateway
  // runs, serialised with it by BEGIN IMMEDIATE. The other cached counters are the gateway's own.
  audit_tail_.reset();
}
void writer::commit() {
  st_->commit.reset().run();
  end_open_reads();
}

// A SELECT stepped to a row and not reset keeps its read transaction open after COMMIT. The next
// BEGIN IMMEDIATE then fails at once with SQLITE_BUSY_SNAPSHOT ("database is locked", without
// waiting for the busy timeout) whenever another connection (accounts, the call import, the CLI)
// has committed in between, and goes on failing until that statement is reset, which never
// happens because it is only reset when next used inside a transaction. Every statement is reset
// after it is read; this sweep makes sure of it between transactions, and counts what it finds.
void writer::end_open_reads() noexcept {
  sqlite3* h = db_->handle();
  for (sqlite3_stmt* s = sqlite3_next_stmt(h, nullptr); s; s = sqlite3_next_stmt(h, s)) {
    if (!sqlite3_stmt_busy(s)) continue;
    sqlite3_reset(s);
    ++open_reads_ended_;
  }
}
void writer::savepoint() {
  st_->savepoint.reset().run();
}
void writer::release_savepoint() {
  st_->release.reset().run();
}
void writer::rollback_to_savepoint() {
  st_->rollback_to.reset().run();
  st_->release.reset().run();
  // Cached sequence numbers may now point past rows that were undone.
  last_seq_.clear();
  pending_.clear();
  audit_tail_.reset();
  id_day_.clear();
  last_event_id_.reset();
}

void writer::rollback() noexcept {
  try {
    if (!sqlite3_get_autocommit(db_->handle())) db_->exec("ROLLBACK");
  } catch (...) {
    // A failed ROLLBACK leaves SQLite to roll back on the next open; nothing more to do here.
  }
  end_open_reads();
  last_seq_.clear();
  pending_.clear();
  audit_tail_.reset();
  id_day_.clear();
  id_counter_ = 0;
  last_event_id_.reset();
}

std::optional<std::string> writer::find_receipt(const std::string& message_id) {
  return one_text(st_->find_receipt, message_id);
}

std::optional<std::string> writer::message_doc(const std::string& message_id) {
  return one_text(st_->message_doc, message_id);
}

std::optional<transfer> writer::load_transfer(const std::string& id) {
  auto& s = st_->load_transfer.reset().bind(1, id);
  if (!s.step()) return std::nullopt;
  transfer t;
  t.id = s.text(0);
  t.state = transfer_state_from(s.text(1)).value_or(transfer_state::submitted);
  t.version = s.int64(2);
  t.category = s.text(3);
  t.prio = priority_from(s.text(4)).value_or(priority::routine);
  auto mode = s.text(5);
  t.mode = mode == "exercise" ? traffic_mode::exercise
           : mode == "test"   ? traffic_mode::test
                              : traffic_mode::live;
  t.requester = s.text(6);
  t.responder = s.text(7);
  t.request_message_id = s.text(8);
  t.created_at = from_ms(s.int64(9));
  t.updated_at = from_ms(s.int64(10));
  t.expires_at = from_ms(s.int64(11));
  t.delivery_due = from_ms(s.int64(12));
  t.decision_due = from_ms(s.int64(13));
  t.delivery_alerted = s.int64(14) != 0;
  t.decision_alerted = s.int64(15) != 0;
  t.requester_incident = s.text(16);
  t.responder_incident = s.text(17);
  s.reset();
  return t;
}

void writer::save_transfer(const transfer& t, bool insert) {
  auto& s = insert ? st_->insert_transfer : st_->update_transfer;
  s.reset();
  auto due = t.next_due();
  s.bind(1, t.id).bind(2, std::string(to_string(t.state))).bind(3, t.version);
  s.bind(5, std::string(to_string(t.prio))).bind(11, ms(t.updated_at)).bind(12, ms(t.expires_at));
  s.bind(13, ms(t.delivery_due)).bind(14, ms(t.decision_due));
  s.bind(15, t.delivery_alerted ? 1 : 0).bind(16, t.decision_alerted ? 1 : 0);
  if (due)
    s.bind(17, ms(*due));
  else
    s.bind_null(17);
  if (insert) {
    s.bind(4, t.category).bind(6, std::string(to_string(t.mode))).bind(7, t.requester);
    s.bind(8, t.responder).bind(9, t.request_message_id).bind(10, ms(t.created_at));
  }
  s.run();
}

void writer::insert_message(const std::string& id, const std::string& type, const std::string& from,
                            const std::string& to, const std::string& transfer_id,
                            std::optional<std::int64_t> version, const std::string& mode,
                            std::optional<time_point> sent_at, time_point stored_at,
                            const std::string& doc, const std::string& receipt) {
  auto& s = st_->insert_message.reset();
  s.bind(1, id).bind(2, type).bind(3, from);
  if (to.empty())
    s.bind_null(4);
  else
    s.bind(4, to);
  if (transfer_id.empty())
    s.bind_null(5);
  else
    s.bind(5, transfer_id);
  s.bind(6, version).bind(7, mode);
  if (sent_at)
    s.bind(8, ms(*sent_at));
  else
    s.bind_null(8);
  s.bind(9, ms(stored_at)).bind(10, doc);
  if (receipt.empty())
    s.bind_null(11);
  else
    s.bind(11, receipt);
  s.run();
}

void writer::insert_original(const std::string& message_id, const original_document& doc,
                             time_point received_at) {
  auto& s = st_->insert_original.reset();
  s.bind(1, message_id).bind(2, doc.standard).bind(3, doc.media_type).bind(4, doc.body);
  if (doc.digest.empty())
    s.bind_null(5);
  else
    s.bind(5, doc.digest);
  if (doc.answer.empty())
    s.bind_null(6);
  else
    s.bind(6, doc.answer);
  s.bind(7, ms(received_at)).run();
}

std::optional<original_document> writer::find_original(const std::string& message_id) {
  auto& s = st_->find_original.reset().bind(1, message_id);
  if (!s.step()) return std::nullopt;
  original_document o;
  o.digest = s.text(0);
  o.answer = s.text(1);
  s.reset();
  return o;
}

void writer::record_incident(const std::string& transfer_id, const std::string& agency,
                             const std::string& number, time_point at) {
  st_->record_incident.reset()
      .bind(1, transfer_id)
      .bind(2, agency)
      .bind(3, number)
      .bind(4, ms(at))
      .run();
}

void writer::add_event(const timeline_event& e) {
  auto& s = st_->add_event.reset();
  s.bind(1, e.transfer_id).bind(2, ms(e.at)).bind(3, e.kind).bind(4, e.actor);
  if (e.message_id.empty())
    s.bind_null(5);
  else
    s.bind(5, e.message_id);
  if (e.from_state.empty())
    s.bind_null(6);
  else
    s.bind(6, e.from_state);
  if (e.to_state.empty())
    s.bind_null(7);
  else
    s.bind(7, e.to_state);
  s.bind(8, e.version);
  if (e.detail.empty())
    s.bind_null(9);
  else
    s.bind(9, e.detail);
  s.run();
  last_event_id_ = sqlite3_last_insert_rowid(db_->handle());
}

std::int64_t writer::last_seq(const std::string& agency) {
  auto it = last_seq_.find(agency);
  if (it != last_seq_.end()) return it->second;
  auto& s = st_->last_seq.reset().bind(1, agency);
  std::int64_t v = s.step() ? s.int64(0) : 0;
  s.reset();
  last_seq_[agency] = v;
  return v;
}

std::int64_t writer::enqueue(const std::string& agency, const std::string& message_id,
                             const std::string& transfer_id, const std::string& type, time_point at,
                             const std::string& from) {
  std::int64_t seq = last_seq(agency) + 1;
  auto& s = st_->enqueue.reset().bind(1, agency).bind(2, seq).bind(3, message_id);
  if (transfer_id.empty())
    s.bind_null(4);
  else
    s.bind(4, transfer_id);
  s.bind(5, type).bind(6, ms(at)).run();
  last_seq_[agency] = seq;
  if (auto it = pending_.find({agency, from}); it != pending_.end()) ++it->second;
  return seq;
}

std::int64_t writer::pending_from(const std::string& recipient, const std::string& sender) {
  auto key = std::make_pair(recipient, sender);
  if (auto it = pending_.find(key); it != pending_.end()) return it->second;
  std::int64_t acked = acked_upto(recipient);
  auto& s = st_->pending_from.reset().bind(1, recipient).bind(2, acked).bind(3, sender);
  std::int64_t v = s.step() ? s.int64(0) : 0;
  s.reset();  // never leave a read open on the writer's connection
  pending_[key] = v;
  return v;
}

std::int64_t writer::acked_upto(const std::string& agency) {
  auto& s = st_->acked_upto.reset().bind(1, agency);
  std::int64_t v = s.step() ? s.int64(0) : 0;
  s.reset();
  return v;
}

std::vector<acked_delivery> writer::ack(const std::string& agency, std::int64_t upto,
                                        time_point at) {
  std::vector<acked_delivery> out;
  std::int64_t from = acked_upto(agency);
  if (upto <= from) return out;
  auto& sel = st_->select_unacked.reset().bind(1, agency).bind(2, from).bind(3, upto);
  while (sel.step()) out.push_back({sel.int64(0), sel.text(1), sel.text(2), sel.text(3)});
  sel.reset();
  st_->mark_acked.reset().bind(1, agency).bind(2, from).bind(3, upto).bind(4, ms(at)).run();
  st_->set_acked_upto.reset().bind(1, agency).bind(2, upto).run();
  // Which senders those were is not worth a query here: count again when next asked.
  for (auto it = pending_.lower_bound({agency, std::string()});
       it != pending_.end() && it->first.first == agency;)
    it = pending_.erase(it);
  return out;
}

std::vector<acked_delivery> writer::unacked_requests(const std::string& agency, std::int64_t after,
                                                     std::int64_t upto, int limit) {
  std::vector<acked_delivery> out;
  auto& sel = st_->select_unacked_requests.reset()
                  .bind(1, agency)
                  .bind(2, std::max(after, acked_upto(agency)))
                  .bind(3, upto)
                  .bind(4, limit);
  while (sel.step()) out.push_back({sel.int64(0), sel.text(1), sel.text(2), sel.text(3)});
  sel.reset();
  return out;
}

void writer::audit(time_point at, const std::string& actor, const std::string& action,
                   const std::string& message_id, const std::string& transfer_id,
                   const std::string& detail_json) {
  if (!audit_tail_) {
    auto& t = st_->audit_tail.reset();
    if (t.step())
      audit_tail_ = std::make_pair(t.int64(0), t.text(1));
    else
      audit_tail_ = std::make_pair(std::int64_t{0}, genesis_hash);
    t.reset();
  }
  std::int64_t seq = audit_tail_->first + 1;
  const std::string detail_sha256 = sha256_hex(detail_json);
  std::string hash = audit_hash_erasable(audit_tail_->second, seq, ms(at), actor, action,
                                         message_id, transfer_id, detail_sha256);
  auto& s = st_->audit_insert.reset();
  s.bind(1, seq).bind(2, ms(at)).bind(3, actor).bind(4, action);
  if (message_id.empty())
    s.bind_null(5);
  else
    s.bind(5, message_id);
  if (transfer_id.empty())
    s.bind_null(6);
  else
    s.bind(6, transfer_id);
  s.bind(7, detail_json).bind(8, audit_tail_->second).bind(9, hash).bind(10, detail_sha256).run();
  audit_tail_ = std::make_pair(seq, std::move(hash));
}

void writer::access(access_entry& e) {
  audit(e.at, e.actor, access_action(e), {}, {}, access_detail_json(e));
  e.seq = audit_tail_->first;
  st_->access_insert.reset()
      .bind(1, e.seq)
      .bind(2, ms(e.at))
      .bind(3, e.operation)
      .bind(4, e.agency)
      .bind(5, e.actor)
      .bind(6, e.actor_kind)
      .bind(7, e.channel)
      .bind(8, e.object)
      .bind(9, e.transfer_id)
      .bind(10, e.ref)
      .bind(11, e.recipients)
      .bind(12, e.justification)
      .run();
}

std::vector<std::string> writer::due_transfers(time_point now, int limit) {
  std::vector<std::string> ids;
  auto& s = st_->due.reset().bind(1, ms(now)).bind(2, limit);
  while (s.step()) ids.push_back(s.text(0));
  s.reset();
  return ids;
}

std::string writer::next_transfer_id(time_point now) {
  std::string stamp = format_rfc3339(now);  // 2026-11-21T...
  std::string day = stamp.substr(0, 4) + stamp.substr(5, 2) + stamp.substr(8, 2);
  if (day != id_day_) {
    std::string lo = "T-" + day + "-";
    auto& s = st_->max_transfer_id.reset().bind(1, lo).bind(2, "T-" + day + ".");
    std::string max = s.step() && !s.is_null(0) ? s.text(0) : std::string();
    s.reset();
    id_counter_ = max.empty() ? 0 : std::stoll(max.substr(lo.size()));
    id_day_ = day;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "T-%s-%06lld", day.c_str(), static_cast<long long>(++id_counter_));
  return buf;
}

std::int64_t writer::insert_call(const call_record& c) {
  // The connection's cached statement: calls are rare, so they need no slot in `statements`.
  stmt s(*db_,
         "INSERT INTO calls(source, from_agency, to_agency, started_at, duration_s, emergency,"
         " reason, transfer_id, logged_by, exercise, note, created_at)"
         " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12) RETURNING id",
         borrow);
  s.bind(1, c.source).bind(2, c.from_agency).bind(3, c.to_agency).bind(4, ms(c.started_at));
  s.bind(5, c.duration_s).bind(6, c.emergency ? 1 : 0).bind(7, c.reason);
  if (c.transfer_id.empty())
    s.bind_null(8);
  else
    s.bind(8, c.transfer_id);
  s.bind(9, c.logged_by).bind(10, c.exercise ? 1 : 0);
  if (c.note.empty())
    s.bind_null(11);
  else
    s.bind(11, c.note);
  s.bind(12, ms(c.created_at));
  if (!s.step()) throw sqlite_error(SQLITE_ERROR, "storing the phone call returned no id");
  std::int64_t id = s.int64(0);
  // Finish the statement so that the insert is complete before the borrow is given back.
  s.step();
  return id;
}

std::int64_t writer::last_audit_seq() {
  return audit_tail_ ? audit_tail_->first : 0;
}

std::optional<purge_subject> writer::purge_read(const std::string& id, bool with_content) {
  // Purges are rare and small (a batch of transfers at a time): borrowed cached statements.
  stmt t(*db_,
         "SELECT requester, responder, updated_at, purged_at IS NOT NULL,"
         " EXISTS(SELECT 1 FROM legal_holds h WHERE h.transfer_id = t.id AND h.lifted_at IS NULL)"
         " FROM transfers t WHERE id = ?1",
         borrow);
  t.bind(1, id);
  if (!t.step()) return std::nullopt;
  purge_subject p;
  p.transfer_id = id;
  p.requester = t.text(0);
  p.responder = t.text(1);
  p.updated_at = from_ms(t.int64(2));
  p.purged = t.int64(3) != 0;
  p.held = t.int64(4) != 0;
  t.reset();
  if (p.purged || p.held || !with_content) return p;
  stmt m(*db_, "SELECT id, doc FROM messages WHERE transfer_id = ?1", borrow);
  m.bind(1, id);
  while (m.step()) p.messages.emplace_back(m.text(0), m.text(1));
  stmt e(
      *db_,
      "SELECT id, kind, detail FROM transfer_events WHERE transfer_id = ?1 AND detail IS NOT NULL",
      borrow);
  e.bind(1, id);
  while (e.step()) p.events.push_back({e.int64(0), e.text(1), e.text(2)});
  return p;
}

void writer::purge_write(const purge_rewrite& w) {
  {
    stmt s(*db_, "UPDATE messages SET doc = ?2 WHERE id = ?1", borrow);
    for (const auto& [id, doc] : w.messages) s.reset().bind(1, id).bind(2, doc).run();
  }
  {
    stmt s(*db_, "UPDATE transfer_events SET detail = ?2 WHERE id = ?1", borrow);
    for (const auto& e : w.events) s.reset().bind(1, e.id).bind(2, e.detail).run();
  }
  stmt(*db_,
       "DELETE FROM originals WHERE message_id IN (SELECT id FROM messages WHERE transfer_id = ?1)",
       borrow)
      .bind(1, w.transfer_id)
      .run();
  stmt(*db_, "UPDATE phone_claims SET username = '', display_name = '' WHERE transfer_id = ?1",
       borrow)
      .bind(1, w.transfer_id)
      .run();
  stmt(*db_,
       "UPDATE audit SET detail = '', erased_by = ?2 WHERE transfer_id = ?1"
       " AND detail_sha256 IS NOT NULL AND erased_by IS NULL AND seq < ?2"
       " AND action IN ('message.rejected', 'transfer.redirected', 'transfer.redirected_from',"
       " 'phone.claimed')",
       borrow)
      .bind(1, w.transfer_id)
      .bind(2, w.erased_by)
      .run();
  stmt(*db_, "UPDATE transfers SET purged_at = ?2 WHERE id = ?1", borrow)
      .bind(1, w.transfer_id)
      .bind(2, ms(w.at))
      .run();
}

std::vector<call_candidate> writer::purge_calls(const std::vector<std::int64_t>& ids,
                                                time_point at) {
  std::vector<call_candidate> out;
  stmt s(*db_,
         "UPDATE calls SET note = NULL, logged_by = NULL, purged_at = ?2"
         " WHERE id = ?1 AND purged_at IS NULL RETURNING id, from_agency, to_agency, started_at",
         borrow);
  for (auto id : ids) {
    s.reset().bind(1, id).bind(2, ms(at));
    if (s.step()) out.push_back({s.int64(0), s.text(1), s.text(2), from_ms(s.int64(3))});
    while (s.step()) {
    }
  }
  s.reset();
  return out;
}

std::optional<legal_hold> writer::current_hold(const std::string& id) {
  stmt s(*db_,
         "SELECT id, agency, placed_by, placed_at, reason FROM legal_holds"
         " WHERE transfer_id = ?1 AND lifted_at IS NULL",
         borrow);
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  legal_hold h;
  h.id = s.int64(0);
  h.transfer_id = id;
  h.agency = s.text(1);
  h.placed_by = s.text(2);
  h.placed_at = from_ms(s.int64(3));
  h.reason = s.text(4);
  s.reset();
  return h;
}

std::int64_t writer::place_hold(const legal_hold& h) {
  stmt s(*db_,
         "INSERT INTO legal_holds(transfer_id, agency, placed_by, placed_at, reason)"
         " VALUES(?1,?2,?3,?4,?5) RETURNING id",
         borrow);
  s.bind(1, h.transfer_id).bind(2, h.agency).bind(3, h.placed_by).bind(4, ms(h.placed_at));
  s.bind(5, h.reason);
  if (!s.step()) throw sqlite_error(SQLITE_ERROR, "storing the legal hold returned no id");
  std::int64_t id = s.int64(0);
  s.step();
  return id;
}

void writer::lift_hold(std::int64_t id, const std::string& by, time_point at,
                       const std::string& reason) {
  stmt(*db_,
       "UPDATE legal_holds SET lifted_by = ?2, lifted_at = ?3, lift_reason = ?4"
       " WHERE id = ?1 AND lifted_at IS NULL",
       borrow)
      .bind(1, id)
      .bind(2, by)
      .bind(3, ms(at))
      .bind(4, reason)
      .run();
}

std::int64_t writer::last_event_id() {
  if (!last_event_id_) {
    stmt s(*db_, "SELECT COALESCE(MAX(id), 0) FROM transfer_events", borrow);
    last_event_id_ = s.step() ? s.int64(0) : 0;
  }
  return *last_event_id_;
}

std::map<std::string, std::int64_t> writer::last_seqs() {
  std::map<std::string, std::int64_t> out;
  // One probe per agency through the primary key, not a scan of every delivery (at start-up:
  // 1.5 s on a million transfers' deliveries with GROUP BY).
  stmt s(*db_,
         "WITH RECURSIVE agencies(agency) AS ("
         " SELECT (SELECT MIN(agency) FROM deliveries)"
         " UNION ALL"
         " SELECT (SELECT MIN(d.agency) FROM deliveries d WHERE d.agency > a.agency)"
         " FROM agencies a WHERE a.agency IS NOT NULL)"
         " SELECT a.agency, (SELECT MAX(seq) FROM deliveries d WHERE d.agency = a.agency)"
         " FROM agencies a WHERE a.agency IS NOT NULL",
         borrow);
  while (s.step()) out[s.text(0)] = s.int64(1);
  return out;
}

sync_handle writer::sync_point() {
  sqlite3_file* f = nullptr;
  int rc = sqlite3_file_control(db_->handle(), "main", SQLITE_FCNTL_JOURNAL_POINTER, &f);
  if (rc != SQLITE_OK || !f || !f->pMethods)
    throw sqlite_error(rc == SQLITE_OK ? SQLITE_CANTOPEN : rc,
                       "the write-ahead log is not open, so it cannot be synced");
  return sync_handle{f};
}

void writer::sync(sync_handle w) const {
  auto* f = static_cast<sqlite3_file*>(w.file);
  int rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
  if (rc != SQLITE_OK)
    throw sqlite_error(
        rc, "syncing the write-ahead log to disk failed (" + std::string(sqlite3_errstr(rc)) + ")");
}

std::optional<phone_claim> writer::find_phone_claim(const std::string& transfer_id,
                                                    const std::string& agency,
                                                    const std::string& prompt) {
  // Claims are rare (one per prompt a room phones about): a borrowed cached statement.
  stmt s(*db_,
         "SELECT username, display_name, counterpart, claimed_at FROM phone_claims"
         " WHERE transfer_id = ?1 AND agency = ?2 AND prompt = ?3",
         borrow);
  s.bind(1, transfer_id).bind(2, agency).bind(3, prompt);
  if (!s.step()) return std::nullopt;
  phone_claim c{transfer_id, agency, prompt, s.text(0), s.text(1), s.text(2), from_ms(s.int64(3))};
  s.reset();
  return c;
}

void writer::insert_phone_claim(const phone_claim& c) {
  stmt s(*db_,
         "INSERT INTO phone_claims(transfer_id, agency, prompt, username, display_name,"
         " counterpart, claimed_at) VALUES(?1,?2,?3,?4,?5,?6,?7)",
         borrow);
  s.bind(1, c.transfer_id).bind(2, c.agency).bind(3, c.prompt).bind(4, c.username);
  s.bind(5, c.display_name).bind(6, c.counterpart).bind(7, ms(c.claimed_at));
  s.step();
}

}  // namespace bl::store::sqlite
