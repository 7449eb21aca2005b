#include "gateway/store/sqlite/reader.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "gateway/store/audit_verify.hpp"
#include "gateway/store/durable_marks.hpp"
#include "gateway/store/sqlite/reader_sql.hpp"
#include "gateway/store/sqlite/sqlite.hpp"
#include "gateway/store/writer.hpp"

namespace bl::store::sqlite {

namespace {
std::optional<std::string> opt_text(const stmt& s, int col) {
  if (s.is_null(col)) return std::nullopt;
  return s.text(col);
}

legal_hold read_hold(const stmt& s, const std::string& transfer_id) {
  legal_hold h;
  h.id = s.int64(0);
  h.transfer_id = transfer_id;
  h.agency = s.text(1);
  h.placed_by = s.text(2);
  h.placed_at = from_ms(s.int64(3));
  h.reason = s.text(4);
  if (!s.is_null(6)) {
    h.lifted_by = s.text(5);
    h.lifted_at = from_ms(s.int64(6));
    h.lift_reason = s.is_null(7) ? std::string() : s.text(7);
  }
  return h;
}
}  // namespace

namespace sql {

// Two arms, each an index range walked in page order and stopped at the page size: the transfers
// the agency requested, and those it is asked for (without any it also requested, so that none
// comes twice). The merged page is the first `?5` of the two; only then are the row's columns
// read, for the page's rows alone. A single WHERE requester = ?1 OR responder = ?1 sorted every
// transfer of the agency's history (1.9 s on 152,000 transfers).
const std::string& list_transfers(bool state, bool category, bool since) {
  static const auto texts = [] {
    std::array<std::string, 8> out;
    for (int i = 0; i < 8; ++i) {
      std::string filters;
      if (i & 1) filters += " AND state = ?2";
      if (i & 2) filters += " AND category = ?3";
      if (i & 4) filters += " AND updated_at >= ?4";
      auto arm = [&](const char* party) {
        return std::string(
                   "SELECT * FROM (SELECT rowid AS r, id, updated_at FROM transfers WHERE ") +
               party + filters + " ORDER BY updated_at DESC, id DESC LIMIT ?5)";
      };
      out[static_cast<std::size_t>(i)] =
          "SELECT" BL_TRANSFER_ROW_COLUMNS " FROM (" + arm("requester = ?1") + " UNION ALL " +
          arm("responder = ?1 AND requester <> ?1") +
          " ORDER BY 3 DESC, 2 DESC LIMIT ?5) p JOIN transfers t ON t.rowid = p.r"
          " ORDER BY p.updated_at DESC, p.id DESC";
    }
    return out;
  }();
  return texts[(state ? 1U : 0U) | (category ? 2U : 0U) | (since ? 4U : 0U)];
}

// The same two arms as list_transfers, over the calls made by and to the agency.
const std::string& list_calls(bool since) {
  static const auto texts = [] {
    std::array<std::string, 2> out;
    for (int i = 0; i < 2; ++i) {
      std::string filters = i ? " AND started_at >= ?2" : "";
      auto arm = [&](const char* party) {
        return std::string("SELECT * FROM (SELECT id, started_at FROM calls WHERE ") + party +
               filters + " ORDER BY started_at DESC, id DESC LIMIT ?3)";
      };
      out[static_cast<std::size_t>(i)] =
          "SELECT c.id, c.source, c.from_agency, c.to_agency, c.started_at, c.duration_s,"
          " c.emergency, c.reason, c.transfer_id, c.logged_by, c.exercise, c.note, c.created_at"
          " FROM (" +
          arm("from_agency = ?1") + " UNION ALL " + arm("to_agency = ?1 AND from_agency <> ?1") +
          " ORDER BY 2 DESC, 1 DESC LIMIT ?3) p JOIN calls c ON c.id = p.id"
          " ORDER BY p.started_at DESC, p.id DESC";
    }
    return out;
  }();
  return texts[since ? 1 : 0];
}

// Subject access: the agency's transfers last active in [?2, (?3, ?4)), newest first, the same two
// index ranges as list_transfers, each stopped at the page (?5).
const std::string& subject_transfers() {
  static const std::string text = [] {
    auto arm = [](const char* party) {
      return std::string("SELECT * FROM (SELECT rowid AS r, id, updated_at FROM transfers WHERE ") +
             party +
             " AND updated_at >= ?2 AND (updated_at, id) < (?3, ?4)"
             " ORDER BY updated_at DESC, id DESC LIMIT ?5)";
    };
    return "SELECT t.id, t.requester, t.responder, t.category, t.state, t.created_at,"
           " t.updated_at, t.purged_at IS NOT NULL FROM (" +
           arm("requester = ?1") + " UNION ALL " + arm("responder = ?1 AND requester <> ?1") +
           " ORDER BY 3 DESC, 2 DESC LIMIT ?5) p JOIN transfers t ON t.rowid = p.r"
           " ORDER BY p.updated_at DESC, p.id DESC";
  }();
  return text;
}

// The same over the agency's calls started in [?2, (?3, ?4)).
const std::string& subject_calls() {
  static const std::string text = [] {
    auto arm = [](const char* party) {
      return std::string("SELECT * FROM (SELECT id, started_at FROM calls WHERE ") + party +
             " AND started_at >= ?2 AND (started_at, id) < (?3, ?4)"
             " ORDER BY started_at DESC, id DESC LIMIT ?5)";
    };
    return "SELECT c.id, c.source, c.from_agency, c.to_agency, c.started_at, c.duration_s,"
           " c.emergency, c.reason, c.transfer_id, c.logged_by, c.exercise, c.note, c.created_at"
           " FROM (" +
           arm("from_agency = ?1") + " UNION ALL " + arm("to_agency = ?1 AND from_agency <> ?1") +
           " ORDER BY 2 DESC, 1 DESC LIMIT ?5) p JOIN calls c ON c.id = p.id"
           " ORDER BY p.started_at DESC, p.id DESC";
  }();
  return text;
}

}  // namespace sql

// Returns the connection to the pool when the query is done, even if it threw.
class reader::lease {
 public:
  explicit lease(reader& r) : r_(r), d_(r.acquire()) {}
  ~lease() { r_.release(std::move(d_)); }
  db& operator*() { return *d_; }

 private:
  reader& r_;
  std::unique_ptr<db> d_;
};

reader::reader(std::string path, std::string vfs) : path_(std::move(path)), vfs_(std::move(vfs)) {}
reader::~reader() = default;

std::unique_ptr<db> reader::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!pool_.empty()) {
      auto d = std::move(pool_.back());
      pool_.pop_back();
      return d;
    }
  }
  auto d = std::make_unique<db>(path_, false, true, vfs_);
  d->exec("PRAGMA busy_timeout = 5000");
  return d;
}

void reader::release(std::unique_ptr<db> d) {
  if (!d) return;
  std::lock_guard lock(mu_);
  if (pool_.size() < 8) pool_.push_back(std::move(d));
}

namespace {
// The columns of `transfers` in the order the queries select them (from column `first` on).
void read_transfer_fields(const stmt& s, int first, transfer_fields& t) {
  auto c = [first](int i) { return first + i; };
  t.id = s.text(c(0));
  t.state = s.text(c(1));
  t.version = s.int64(c(2));
  t.category = s.text(c(3));
  t.priority = s.text(c(4));
  t.mode = s.text(c(5));
  t.requester = s.text(c(6));
  t.responder = s.text(c(7));
  t.created_at = from_ms(s.int64(c(8)));
  t.updated_at = from_ms(s.int64(c(9)));
  t.expires_at = from_ms(s.int64(c(10)));
  t.delivery_due = from_ms(s.int64(c(11)));
  t.decision_due = from_ms(s.int64(c(12)));
  t.delivery_alerted = s.int64(c(13)) != 0;
  t.decision_alerted = s.int64(c(14)) != 0;
}

// A transfer's list row from BL_TRANSFER_ROW_COLUMNS at column `first`.
transfer_row read_transfer_row(const stmt& s, int first) {
  transfer_row t;
  read_transfer_fields(s, first, t);
  t.requester_number = opt_text(s, first + 15);
  t.responder_number = opt_text(s, first + 16);
  t.summary = opt_text(s, first + 17);
  return t;
}

// A timeline event from `id, at, kind, actor, message_id, from_state, to_state, version, detail`
// at column 0.
event_row read_event(const stmt& s, std::string transfer_id) {
  event_row e;
  e.id = s.int64(0);
  e.transfer_id = std::move(transfer_id);
  e.at = from_ms(s.int64(1));
  e.kind = s.text(2);
  e.actor = s.text(3);
  e.message_id = opt_text(s, 4);
  e.from_state = opt_text(s, 5);
  e.to_state = opt_text(s, 6);
  e.version = s.int64(7);
  e.detail = s.text(8);
  return e;
}
}  // namespace

std::vector<transfer_row> reader::list_transfers(const std::string& agency,
                                                 const transfer_filter& f) {
  lease l(*this);
  stmt s(*l, sql::list_transfers(!f.state.empty(), !f.category.empty(), f.since.has_value()),
         borrow);
  s.bind(1, agency).bind(2, f.state).bind(3, f.category);
  if (f.since)
    s.bind(4, to_ms(*f.since));
  else
    s.bind_null(4);
  s.bind(5, f.limit);
  std::vector<transfer_row> out;
  while (s.step()) out.push_back(read_transfer_row(s, 0));
  return out;
}

std::vector<console_event> reader::events_after(std::int64_t after, int limit,
                                                const std::string& agency, std::int64_t upto) {
  lease l(*this);
  stmt s(*l, sql::events_after, borrow);
  s.bind(1, after).bind(2, limit).bind(3, agency).bind(4, upto).bind(5, event_bound());
  std::vector<console_event> out;
  while (s.step()) {
    console_event ev;
    ev.transfer = read_transfer_row(s, 9);
    ev.event = read_event(s, ev.transfer.id);
    out.push_back(std::move(ev));
  }
  return out;
}

std::int64_t reader::last_event_id() {
  lease l(*this);
  stmt s(*l, sql::last_event_id, borrow);
  return std::min(s.step() ? s.int64(0) : 0, event_bound());
}

std::optional<transfer_record> reader::transfer_detail(const std::string& id,
                                                       const std::string& agency, bool& is_party) {
  lease l(*this);
  stmt s(*l, sql::detail_transfer, borrow);
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  is_party = s.text(6) == agency || s.text(7) == agency;
  transfer_record t;
  if (!is_party) return t;
  read_transfer_fields(s, 0, t);
  t.request_message_id = s.text(15);
  if (!s.is_null(16)) t.purged_at = from_ms(s.int64(16));
  s.reset();

  stmt h(*l, sql::detail_holds, borrow);
  h.bind(1, id);
  while (h.step()) t.holds.push_back(read_hold(h, id));

  stmt n(*l, sql::detail_numbers, borrow);
  n.bind(1, id);
  while (n.step()) t.incident_numbers.push_back({n.text(0), n.text(1), from_ms(n.int64(2))});

  stmt e(*l, sql::detail_timeline, borrow);
  e.bind(1, id);
  while (e.step()) t.timeline.push_back(read_event(e, t.id));

  stmt m(*l, sql::detail_messages, borrow);
  m.bind(1, id);
  while (m.step()) t.messages.push_back(m.text(0));

  stmt o(*l, sql::detail_originals, borrow);
  o.bind(1, id);
  while (o.step())
    t.originals.push_back({o.text(0), o.text(1), o.text(2), o.int64(3), from_ms(o.int64(4))});

  stmt a(*l, sql::detail_audit, borrow);
  a.bind(1, id);
  while (a.step())
    t.audit.push_back({a.int64(0), from_ms(a.int64(1)), a.text(2), a.text(3), opt_text(a, 4),
                       a.text(5), a.text(6)});
  return t;
}
std::optional<std::pair<std::string, std::int64_t>> reader::transfer_of_message(
    const std::string& message_id, const std::string& agency) {
  lease l(*this);
  stmt s(*l, sql::transfer_of_message, borrow);
  s.bind(1, message_id).bind(2, agency);
  if (!s.step()) return std::nullopt;
  return std::make_pair(s.text(0), s.int64(1));
}

std::optional<stored_original> reader::original(const std::string& message_id,
                                                const std::string& agency, bool& is_party) {
  lease l(*this);
  stmt s(*l, sql::original_of, borrow);
  s.bind(1, message_id);
  is_party = false;
  if (!s.step()) return std::nullopt;
  is_party = s.text(0) == agency || s.text(1) == agency;
  stored_original out;
  out.message_id = message_id;
  if (!is_party) return out;
  out.doc.standard = s.text(2);
  out.doc.media_type = s.text(3);
  out.doc.body = s.text(4);
  out.received_at_ms = s.int64(5);
  out.transfer_id = s.text(6);
  return out;
}

std::vector<inbox_item> reader::inbox(const std::string& agency, std::int64_t after, int limit) {
  lease l(*this);
  stmt s(*l, sql::inbox, borrow);
  s.bind(1, agency).bind(2, after).bind(3, limit).bind(4, seq_bound(agency));
  std::vector<inbox_item> out;
  while (s.step()) out.push_back({s.int64(0), s.text(1), s.text(2)});
  return out;
}

std::int64_t reader::acked_upto(const std::string& agency) {
  lease l(*this);
  stmt s(*l, sql::acked_upto, borrow);
  s.bind(1, agency);
  return s.step() ? s.int64(0) : 0;
}

std::int64_t reader::last_seq(const std::string& agency) {
  lease l(*this);
  stmt s(*l, sql::last_seq, borrow);
  s.bind(1, agency);
  return std::min(s.step() ? s.int64(0) : 0, seq_bound(agency));
}

void reader::bound_by(std::shared_ptr<const durable_marks> marks) {
  marks_ = std::move(marks);
}

std::int64_t reader::seq_bound(const std::string& agency) const {
  auto m = marks_ ? marks_->seq(agency) : std::nullopt;
  return m.value_or(std::numeric_limits<std::int64_t>::max());
}

std::int64_t reader::event_bound() const {
  auto m = marks_ ? marks_->event_id() : std::nullopt;
  return m.value_or(std::numeric_limits<std::int64_t>::max());
}

std::vector<std::pair<std::string, std::int64_t>> reader::queue_depths() {
  lease l(*this);
  stmt s(*l, sql::queue_depths, borrow);
  std::vector<std::pair<std::string, std::int64_t>> out;
  while (s.step())
    if (s.int64(1) > 0) out.emplace_back(s.text(0), s.int64(1));
  return out;
}

std::vector<std::pair<std::string, std::int64_t>> reader::transfer_states() {
  lease l(*this);
  stmt s(*l, sql::transfer_states, borrow);
  std::vector<std::pair<std::string, std::int64_t>> out;
  while (s.step()) out.emplace_back(s.text(0), s.int64(1));
  return out;
}

namespace {
/// `s`'s current row in the shape audit_chain_row_of reads (a result's row i, cell c).
struct current_row {
  stmt& s;
  std::int64_t int64(int, int c) const { return s.int64(c); }
  std::string text(int, int c) const { return s.text(c); }
  bool is_null(int, int c) const { return s.is_null(c); }
};
}  // namespace

audit_report reader::verify_audit() {
  lease l(*this);
  audit_report r;
  stmt s(*l, std::string("SELECT ") + audit_chain_columns + " FROM audit ORDER BY seq", borrow);
  audit_chain_check chain;
  while (s.step()) {
    ++r.rows;
    if (!chain.next(audit_chain_row_of(current_row{s}, 0), r)) break;
  }
  if (r.ok) chain.finish(r);
  if (r.ok) check_access_log(*l, r);
  return r;
}

namespace {
access_entry access_of(stmt& s, int first) {
  access_entry e;
  e.at = from_ms(s.int64(first));
  e.operation = s.text(first + 1);
  e.agency = s.text(first + 2);
  e.actor = s.text(first + 3);
  e.actor_kind = s.text(first + 4);
  e.channel = s.text(first + 5);
  e.object = s.text(first + 6);
  e.transfer_id = s.text(first + 7);
  e.ref = s.text(first + 8);
  e.recipients = s.text(first + 9);
  e.justification = s.text(first + 10);
  return e;
}
}  // namespace

void reader::check_access_log(db& d, audit_report& r) {
  auto fail = [&](std::int64_t seq, std::string why) {
    r.ok = false;
    r.first_bad_seq = seq;
    r.problem = std::move(why);
  };
  stmt s(d, access_verify_page_sql(false), borrow);
  s.bind(1, std::int64_t{0}).bind(2, std::int64_t{std::numeric_limits<std::int64_t>::max()});
  while (s.step()) {
    std::int64_t seq = s.int64(0);
    if (s.int64(4) != 0)
      return fail(seq, "audit row " + std::to_string(seq) + " has no access-log row");
    access_entry e = access_of(s, 5);
    e.seq = seq;
    if (auto why = access_row_mismatch(e, s.int64(1), s.text(2), s.text(3))) return fail(seq, *why);
  }
  stmt orphan(d, access_orphan_sql, borrow);
  if (orphan.step()) {
    std::int64_t seq = orphan.int64(0);
    fail(seq, "access-log row " + std::to_string(seq) + " has no audit row");
  }
}

std::vector<access_entry> reader::access_log(const access_filter& f) {
  auto q = access_query_of(f, false);
  lease l(*this);
  stmt s(*l, q.sql, borrow);
  for (std::size_t i = 0; i < q.args.size(); ++i) {
    int at = static_cast<int>(i) + 1;
    if (auto* t = std::get_if<std::string>(&q.args[i]))
      s.bind(at, *t);
    else
      s.bind(at, std::get<std::int64_t>(q.args[i]));
  }
  std::vector<access_entry> out;
  while (s.step()) {
    access_entry e = access_of(s, 1);
    e.seq = s.int64(0);
    out.push_back(std::move(e));
  }
  return out;
}

bool reader::ping() {
  lease l(*this);
  stmt s(*l, "SELECT 1 FROM sqlite_master LIMIT 1", borrow);
  s.step();
  return true;
}

std::vector<purge_candidate> reader::purge_candidates(
    time_point before, const std::optional<std::pair<time_point, std::string>>& after, int limit) {
  lease l(*this);
  stmt s(*l, after ? sql::purge_candidates_after : sql::purge_candidates_first, borrow);
  s.bind(1, to_ms(before)).bind(4, limit);
  if (after) s.bind(2, to_ms(after->first)).bind(3, after->second);
  std::vector<purge_candidate> out;
  while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), from_ms(s.int64(3))});
  return out;
}

std::vector<call_candidate> reader::call_purge_candidates(
    time_point before, const std::optional<std::pair<time_point, std::int64_t>>& after, int limit) {
  lease l(*this);
  stmt s(*l, sql::call_purge_candidates, borrow);
  s.bind(1, to_ms(before)).bind(4, limit);
  s.bind(2, after ? to_ms(after->first) : std::numeric_limits<std::int64_t>::min());
  s.bind(3, after ? after->second : std::int64_t{0});
  std::vector<call_candidate> out;
  while (s.step()) out.push_back({s.int64(0), s.text(1), s.text(2), from_ms(s.int64(3))});
  return out;
}

std::vector<legal_hold> reader::current_holds() {
  lease l(*this);
  stmt s(*l, sql::current_holds, borrow);
  std::vector<legal_hold> out;
  while (s.step()) out.push_back(read_hold(s, s.text(8)));
  return out;
}

namespace {
/// A call's row as list_calls and subject_calls select it.
call_row read_call_row(const stmt& s) {
  call_row c;
  c.id = s.int64(0);
  c.source = s.text(1);
  c.from_agency = s.text(2);
  c.to_agency = s.text(3);
  c.started_at = from_ms(s.int64(4));
  if (!s.is_null(5)) c.duration_s = s.int64(5);
  c.emergency = s.int64(6) != 0;
  c.reason = opt_text(s, 7);
  c.transfer_id = opt_text(s, 8);
  c.logged_by = opt_text(s, 9);
  c.exercise = s.int64(10) != 0;
  c.note = opt_text(s, 11);
  c.created_at = from_ms(s.int64(12));
  return c;
}
}  // namespace

std::vector<call_row> reader::list_calls(const std::string& agency, std::optional<time_point> since,
                                         int limit) {
  lease l(*this);
  stmt s(*l, sql::list_calls(since.has_value()), borrow);
  s.bind(1, agency);
  if (since)
    s.bind(2, to_ms(*since));
  else
    s.bind_null(2);
  s.bind(3, limit);
  std::vector<call_row> out;
  while (s.step()) out.push_back(read_call_row(s));
  return out;
}

std::vector<subject_transfer> reader::subject_transfers(
    const std::string& agency, time_point since, const std::pair<time_point, std::string>& before,
    int limit) {
  lease l(*this);
  std::vector<subject_transfer> out;
  {
    stmt s(*l, sql::subject_transfers(), borrow);
    s.bind(1, agency).bind(2, to_ms(since)).bind(3, to_ms(before.first));
    s.bind(4, before.second).bind(5, limit);
    while (s.step()) {
      subject_transfer t;
      t.id = s.text(0);
      t.requester = s.text(1);
      t.responder = s.text(2);
      t.category = s.text(3);
      t.state = s.text(4);
      t.created_at = from_ms(s.int64(5));
      t.updated_at = from_ms(s.int64(6));
      t.purged = s.int64(7) != 0;
      out.push_back(std::move(t));
    }
  }
  // Then each transfer's content (one purged in between shows its tombstones: that is what is
  // held).
  for (auto& t : out) {
    stmt m(*l, sql::subject_messages, borrow);
    m.bind(1, t.id);
    while (m.step()) t.messages.emplace_back(m.text(0), m.text(1));
    stmt e(*l, sql::subject_events, borrow);
    e.bind(1, t.id);
    while (e.step()) t.events.emplace_back(e.int64(0), e.text(1));
  }
  return out;
}

std::vector<call_row> reader::subject_calls(const std::string& agency, time_point since,
                                            const std::pair<time_point, std::int64_t>& before,
                                            int limit) {
  lease l(*this);
  stmt s(*l, sql::subject_calls(), borrow);
  s.bind(1, agency).bind(2, to_ms(since)).bind(3, to_ms(before.first));
  s.bind(4, before.second).bind(5, limit);
  std::vector<call_row> out;
  while (s.step()) out.push_back(read_call_row(s));
  return out;
}

}  // namespace bl::store::sqlite
