#include "gateway/store/sqlite/reader.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "gateway/store/durable_marks.hpp"
#include "gateway/store/sqlite/reader_sql.hpp"
#include "gateway/store/sqlite/sqlite.hpp"
#include "gateway/store/writer.hpp"

namespace bl::store::sqlite {

using nlohmann::json;

namespace {
json opt_text(const stmt& s, int col) {
  return s.is_null(col) ? json() : json(s.text(col));
}
json time_or_null(const stmt& s, int col) {
  return s.is_null(col) ? json() : json(format_rfc3339(from_ms(s.int64(col))));
}
json parse_or_text(const std::string& text) {
  if (text.empty()) return json();
  auto j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json(text) : j;
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
json transfer_row(const stmt& s, int first) {
  auto c = [first](int i) { return first + i; };
  return {{"transfer_id", s.text(c(0))},
          {"state", s.text(c(1))},
          {"version", s.int64(c(2))},
          {"category", s.text(c(3))},
          {"priority", s.text(c(4))},
          {"mode", s.text(c(5))},
          {"from", s.text(c(6))},
          {"to", s.text(c(7))},
          {"created_at", time_or_null(s, c(8))},
          {"updated_at", time_or_null(s, c(9))},
          {"expires_at", time_or_null(s, c(10))},
          {"delivery_due", time_or_null(s, c(11))},
          {"decision_due", time_or_null(s, c(12))},
          {"phone_fallback", s.int64(c(13)) != 0 || s.int64(c(14)) != 0},
          {"incident_numbers",
           {{s.text(c(6)), opt_text(s, c(15))}, {s.text(c(7)), opt_text(s, c(16))}}},
          {"summary", opt_text(s, c(17))}};
}
}  // namespace

json reader::list_transfers(const std::string& agency, const transfer_filter& f) {
  lease l(*this);
  stmt s(*l, sql::list_transfers(!f.state.empty(), !f.category.empty(), f.since.has_value()),
         borrow);
  s.bind(1, agency).bind(2, f.state).bind(3, f.category);
  if (f.since)
    s.bind(4, to_ms(*f.since));
  else
    s.bind_null(4);
  s.bind(5, f.limit);
  json out = json::array();
  while (s.step()) {
    json row = transfer_row(s, 0);
    row["direction"] = s.text(6) == agency ? "outgoing" : "incoming";
    out.push_back(std::move(row));
  }
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
    ev.id = s.int64(0);
    ev.transfer = transfer_row(s, 9);
    ev.requester = s.text(9 + 6);
    ev.responder = s.text(9 + 7);
    ev.event = {{"id", ev.id},
                {"at", time_or_null(s, 1)},
                {"transfer_id", s.text(9)},
                {"kind", s.text(2)},
                {"actor", s.text(3)},
                {"message_id", opt_text(s, 4)},
                {"from_state", opt_text(s, 5)},
                {"to_state", opt_text(s, 6)},
                {"version", s.int64(7)},
                {"detail", parse_or_text(s.text(8))}};
    out.push_back(std::move(ev));
  }
  return out;
}

std::int64_t reader::last_event_id() {
  lease l(*this);
  stmt s(*l, sql::last_event_id, borrow);
  return std::min(s.step() ? s.int64(0) : 0, event_bound());
}

std::optional<json> reader::transfer_detail(const std::string& id, const std::string& agency,
                                            bool& is_party) {
  lease l(*this);
  stmt s(*l, sql::detail_transfer, borrow);
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  is_party = s.text(6) == agency || s.text(7) == agency;
  if (!is_party) return json();
  json t = {{"transfer_id", s.text(0)},
            {"state", s.text(1)},
            {"version", s.int64(2)},
            {"category", s.text(3)},
            {"priority", s.text(4)},
            {"mode", s.text(5)},
            {"from", s.text(6)},
            {"to", s.text(7)},
            {"request_message_id", s.text(8)},
            {"created_at", time_or_null(s, 9)},
            {"updated_at", time_or_null(s, 10)},
            {"expires_at", time_or_null(s, 11)},
            {"delivery_due", time_or_null(s, 12)},
            {"decision_due", time_or_null(s, 13)},
            {"delivery_alerted", s.int64(14) != 0},
            {"decision_alerted", s.int64(15) != 0}};
  s.reset();

  json numbers = json::object();
  stmt n(*l, sql::detail_numbers, borrow);
  n.bind(1, id);
  while (n.step())
    numbers[n.text(0)] = {{"number", n.text(1)}, {"recorded_at", time_or_null(n, 2)}};
  t["incident_numbers"] = numbers;

  json timeline = json::array();
  stmt e(*l, sql::detail_timeline, borrow);
  e.bind(1, id);
  while (e.step())
    timeline.push_back({{"at", time_or_null(e, 0)},
                        {"kind", e.text(1)},
                        {"actor", e.text(2)},
                        {"message_id", opt_text(e, 3)},
                        {"from_state", opt_text(e, 4)},
                        {"to_state", opt_text(e, 5)},
                        {"version", e.int64(6)},
                        {"detail", parse_or_text(e.text(7))}});
  t["timeline"] = timeline;

  json messages = json::array();
  stmt m(*l, sql::detail_messages, borrow);
  m.bind(1, id);
  while (m.step()) messages.push_back(parse_or_text(m.text(0)));
  t["messages"] = messages;

  json audit = json::array();
  stmt a(*l, sql::detail_audit, borrow);
  a.bind(1, id);
  while (a.step())
    audit.push_back({{"seq", a.int64(0)},
                     {"at", time_or_null(a, 1)},
                     {"actor", a.text(2)},
                     {"action", a.text(3)},
                     {"message_id", opt_text(a, 4)},
                     {"detail", parse_or_text(a.text(5))},
                     {"hash", a.text(6)}});
  t["audit"] = audit;
  return t;
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

audit_report reader::verify_audit() {
  lease l(*this);
  audit_report r;
  stmt s(*l,
         "SELECT seq, at, actor, action, COALESCE(message_id, ''), COALESCE(transfer_id, ''),"
         " detail, prev_hash, hash FROM audit ORDER BY seq",
         borrow);
  std::string prev = genesis_hash;
  std::int64_t expect_seq = 1;
  while (s.step()) {
    ++r.rows;
    std::int64_t seq = s.int64(0);
    auto fail = [&](std::string why) {
      r.ok = false;
      r.first_bad_seq = seq;
      r.problem = std::move(why);
    };
    if (seq != expect_seq) {
      fail("row " + std::to_string(expect_seq) + " is missing");
      break;
    }
    if (s.text(7) != prev) {
      fail("row " + std::to_string(seq) + " does not chain to the row before it");
      break;
    }
    std::string h =
        audit_hash(prev, seq, s.int64(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6));
    if (h != s.text(8)) {
      fail("row " + std::to_string(seq) + " was altered: its hash does not match its content");
      break;
    }
    prev = h;
    ++expect_seq;
  }
  return r;
}

bool reader::ping() {
  lease l(*this);
  stmt s(*l, "SELECT 1 FROM sqlite_master LIMIT 1", borrow);
  s.step();
  return true;
}

json reader::list_calls(const std::string& agency, std::optional<time_point> since, int limit) {
  lease l(*this);
  stmt s(*l, sql::list_calls(since.has_value()), borrow);
  s.bind(1, agency);
  if (since)
    s.bind(2, to_ms(*since));
  else
    s.bind_null(2);
  s.bind(3, limit);
  json out = json::array();
  while (s.step()) {
    bool outgoing = s.text(2) == agency;
    out.push_back({{"id", s.int64(0)},
                   {"direction", outgoing ? "outgoing" : "incoming"},
                   {"other_agency", outgoing ? s.text(3) : s.text(2)},
                   {"from_agency", s.text(2)},
                   {"to_agency", s.text(3)},
                   {"started_at", time_or_null(s, 4)},
                   {"duration_s", s.is_null(5) ? json() : json(s.int64(5))},
                   {"emergency", s.int64(6) != 0},
                   {"reason", opt_text(s, 7)},
                   {"transfer_id", opt_text(s, 8)},
                   {"logged_by", opt_text(s, 9)},
                   {"exercise", s.int64(10) != 0},
                   {"note", opt_text(s, 11)},
                   {"source", s.text(1)},
                   {"created_at", time_or_null(s, 12)}});
  }
  return out;
}

}  // namespace bl::store::sqlite
