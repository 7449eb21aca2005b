#include "gateway/store/postgres/pg_reader.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

#include "gateway/store/audit_verify.hpp"
#include "gateway/store/durable_marks.hpp"
#include "gateway/store/postgres/pg.hpp"
#include "gateway/store/postgres/pg_reader_sql.hpp"
#include "gateway/store/writer.hpp"

namespace bl::store::postgres {

namespace sql {

// Two arms, each an index range walked in page order and stopped at the page size: the transfers
// the agency requested, and those it is asked for (without any it also requested, so that none
// comes twice). The merged page is the first of the two; only then are the rows' other columns
// read, for the page's rows alone (as the SQLite engine's list, reader.cpp).
const std::string& list_transfers(bool state, bool category, bool since) {
  static const auto texts = [] {
    std::array<std::string, 8> out;
    for (unsigned i = 0; i < 8; ++i) {
      int next = 2;  // $1 is the agency
      std::string filters;
      if (i & 1U) filters += " AND state = $" + std::to_string(next++);
      if (i & 2U) filters += " AND category = $" + std::to_string(next++);
      if (i & 4U) filters += " AND updated_at >= $" + std::to_string(next++);
      std::string limit = "$" + std::to_string(next);
      auto arm = [&](const char* party) {
        // k: the id in byte order, the order of the index's id column (a UNION's ORDER BY
        // takes output columns only).
        return std::string("(SELECT id COLLATE \"C\" AS k, id, updated_at FROM transfers WHERE ") +
               party + filters + " ORDER BY updated_at DESC, k DESC LIMIT " + limit + ")";
      };
      out[i] = "SELECT" BL_PG_TRANSFER_ROW_COLUMNS " FROM (" + arm("requester = $1") +
               " UNION ALL " + arm("responder = $1 AND requester <> $1") +
               " ORDER BY updated_at DESC, k DESC LIMIT " + limit +
               ") p JOIN transfers t ON t.id = p.id" BL_PG_REQUEST_JOIN
               " ORDER BY p.updated_at DESC, p.k DESC";
    }
    return out;
  }();
  return texts[(state ? 1U : 0U) | (category ? 2U : 0U) | (since ? 4U : 0U)];
}

const std::string& events_after(bool agency) {
  static const std::array<std::string, 2> texts = {
      "SELECT e.id, e.at, e.kind, e.actor, e.message_id, e.from_state, e.to_state, e.version,"
      " e.detail," BL_PG_TRANSFER_ROW_COLUMNS
      " FROM transfer_events e JOIN transfers t ON t.id = e.transfer_id" BL_PG_REQUEST_JOIN
      " WHERE e.id > $1 AND e.id <= $2 ORDER BY e.id LIMIT $3",
      "SELECT e.id, e.at, e.kind, e.actor, e.message_id, e.from_state, e.to_state, e.version,"
      " e.detail," BL_PG_TRANSFER_ROW_COLUMNS
      " FROM transfer_events e JOIN transfers t ON t.id = e.transfer_id" BL_PG_REQUEST_JOIN
      " WHERE e.id > $1 AND e.id <= $2 AND (t.requester = $4 OR t.responder = $4)"
      " ORDER BY e.id LIMIT $3"};
  return texts[agency ? 1 : 0];
}

// The same two arms as list_transfers, over the calls made by and to the agency.
const std::string& list_calls(bool since) {
  static const auto texts = [] {
    std::array<std::string, 2> out;
    for (unsigned i = 0; i < 2; ++i) {
      std::string filters = i ? " AND started_at >= $2" : "";
      std::string limit = i ? "$3" : "$2";
      auto arm = [&](const char* party) {
        return std::string("(SELECT id, started_at FROM calls WHERE ") + party + filters +
               " ORDER BY started_at DESC, id DESC LIMIT " + limit + ")";
      };
      out[i] =
          "SELECT c.id, c.source, c.from_agency, c.to_agency, c.started_at, c.duration_s,"
          " c.emergency, c.reason, c.transfer_id, c.logged_by, c.exercise, c.note, c.created_at"
          " FROM (" +
          arm("from_agency = $1") + " UNION ALL " + arm("to_agency = $1 AND from_agency <> $1") +
          " ORDER BY started_at DESC, id DESC LIMIT " + limit +
          ") p JOIN calls c ON c.id = p.id ORDER BY p.started_at DESC, p.id DESC";
    }
    return out;
  }();
  return texts[since ? 1 : 0];
}

const std::string& subject_transfers() {
  static const std::string text = [] {
    auto arm = [](const char* party) {
      return std::string("(SELECT id COLLATE \"C\" AS k, id, updated_at FROM transfers WHERE ") +
             party +
             " AND updated_at >= $2 AND (updated_at, id COLLATE \"C\") < ($3, $4 COLLATE \"C\")"
             " ORDER BY updated_at DESC, k DESC LIMIT $5)";
    };
    return "SELECT t.id, t.requester, t.responder, t.category, t.state, t.created_at,"
           " t.updated_at, t.purged_at IS NOT NULL FROM (" +
           arm("requester = $1") + " UNION ALL " + arm("responder = $1 AND requester <> $1") +
           " ORDER BY updated_at DESC, k DESC LIMIT $5) p JOIN transfers t ON t.id = p.id"
           " ORDER BY p.updated_at DESC, p.k DESC";
  }();
  return text;
}

const std::string& subject_calls() {
  static const std::string text = [] {
    auto arm = [](const char* party) {
      return std::string("(SELECT id, started_at FROM calls WHERE ") + party +
             " AND started_at >= $2 AND (started_at, id) < ($3, $4)"
             " ORDER BY started_at DESC, id DESC LIMIT $5)";
    };
    return "SELECT c.id, c.source, c.from_agency, c.to_agency, c.started_at, c.duration_s,"
           " c.emergency, c.reason, c.transfer_id, c.logged_by, c.exercise, c.note, c.created_at"
           " FROM (" +
           arm("from_agency = $1") + " UNION ALL " + arm("to_agency = $1 AND from_agency <> $1") +
           " ORDER BY started_at DESC, id DESC LIMIT $5) p JOIN calls c ON c.id = p.id"
           " ORDER BY p.started_at DESC, p.id DESC";
  }();
  return text;
}

}  // namespace sql

namespace {

// Rows of one audit page: enough to keep round trips few, few enough to keep memory small.
constexpr std::int64_t audit_page_rows = 5000;

std::optional<std::string> opt_text(const result& r, int row, int col) {
  if (r.is_null(row, col)) return std::nullopt;
  return r.text(row, col);
}

legal_hold read_hold(const result& r, int i) {
  legal_hold h;
  h.id = r.int64(i, 0);
  h.agency = r.text(i, 1);
  h.placed_by = r.text(i, 2);
  h.placed_at = from_ms(r.int64(i, 3));
  h.reason = r.text(i, 4);
  if (!r.is_null(i, 6)) {
    h.lifted_by = r.text(i, 5);
    h.lifted_at = from_ms(r.int64(i, 6));
    h.lift_reason = r.is_null(i, 7) ? std::string() : r.text(i, 7);
  }
  h.transfer_id = r.text(i, 8);
  return h;
}
// A page size as the SQL takes it: SQLite reads no row for 0 and every row for a negative
// LIMIT; no caller passes one, and here it reads none rather than an agency's whole history.
param page(int limit) {
  return p(std::int64_t{std::max(limit, 0)});
}

// body.summary of a request document that PostgreSQL's json functions could not give (it holds
// the escape \u0000), as SQLite's json_extract gives it: a string up to any NUL, another value
// as JSON text, nothing when absent.
std::optional<std::string> summary_from_doc(const std::string& text) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  auto body = doc.find("body");
  if (body == doc.end() || !body->is_object()) return std::nullopt;
  auto s = body->find("summary");
  if (s == body->end() || s->is_null()) return std::nullopt;
  if (!s->is_string()) return s->dump();
  // SQLite's json_extract gives a string up to its first NUL: the same here, so that both
  // engines show one summary (a NUL is nothing an operator could read anyway).
  auto value = s->get<std::string>();
  return value.substr(0, value.find('\0'));
}

// The columns of `transfers` in the order the queries select them (row `i`, from column `first`
// on): the SQLite reader's read_transfer_fields(), field for field.
void read_transfer_fields(const result& r, int i, int first, transfer_fields& t) {
  auto c = [first](int k) { return first + k; };
  t.id = r.text(i, c(0));
  t.state = r.text(i, c(1));
  t.version = r.int64(i, c(2));
  t.category = r.text(i, c(3));
  t.priority = r.text(i, c(4));
  t.mode = r.text(i, c(5));
  t.requester = r.text(i, c(6));
  t.responder = r.text(i, c(7));
  t.created_at = from_ms(r.int64(i, c(8)));
  t.updated_at = from_ms(r.int64(i, c(9)));
  t.expires_at = from_ms(r.int64(i, c(10)));
  t.delivery_due = from_ms(r.int64(i, c(11)));
  t.decision_due = from_ms(r.int64(i, c(12)));
  t.delivery_alerted = r.boolean(i, c(13));
  t.decision_alerted = r.boolean(i, c(14));
}

// A transfer's list row from BL_PG_TRANSFER_ROW_COLUMNS at column `first`.
transfer_row read_transfer_row(const result& r, int i, int first) {
  transfer_row t;
  read_transfer_fields(r, i, first, t);
  t.requester_number = opt_text(r, i, first + 15);
  t.responder_number = opt_text(r, i, first + 16);
  if (!r.is_null(i, first + 17))
    t.summary = r.text(i, first + 17);
  else if (!r.is_null(i, first + 18))
    t.summary = summary_from_doc(r.text(i, first + 18));
  return t;
}

// A timeline event from `id, at, kind, actor, message_id, from_state, to_state, version, detail`
// (row `i`, from column 0).
event_row read_event(const result& r, int i, std::string transfer_id) {
  event_row e;
  e.id = r.int64(i, 0);
  e.transfer_id = std::move(transfer_id);
  e.at = from_ms(r.int64(i, 1));
  e.kind = r.text(i, 2);
  e.actor = r.text(i, 3);
  e.message_id = opt_text(r, i, 4);
  e.from_state = opt_text(r, i, 5);
  e.to_state = opt_text(r, i, 6);
  e.version = r.int64(i, 7);
  e.detail = r.text(i, 8);
  return e;
}

}  // namespace

pg_reader::pg_reader(pg_reader_config cfg) : cfg_(std::move(cfg)) {
  if (cfg_.pool_size == 0) cfg_.pool_size = 1;
}

pg_reader::~pg_reader() = default;

std::unique_ptr<connection> pg_reader::connect() {
  // Throws store_error(unavailable) naming the server without its password.
  auto c = std::make_unique<connection>(cfg_.conninfo);
  // Read-only: a reader's mistake cannot change the store. The timeouts turn a runaway query or
  // a long lock wait (a migration's DDL) into busy rather than a connection held for ever.
  // Custom plans always: a prepared statement's generic plan, which PostgreSQL may switch to
  // after five runs, does not know the page size ($n in LIMIT) and was seen to join a page of
  // calls to the whole table (a sequential scan of every call) instead of looking up its 50 rows
  // (tests/component/pg_query_plan_test.cpp). Planning these queries takes well under a
  // millisecond.
  c->exec(
      "SET default_transaction_read_only = on; SET TIME ZONE 'UTC';"
      " SET plan_cache_mode = force_custom_plan; SET statement_timeout = " +
      std::to_string(cfg_.statement_timeout.count()) +
      "; SET lock_timeout = " + std::to_string(cfg_.lock_timeout.count()));
  return c;
}

std::unique_ptr<connection> pg_reader::acquire(bool& fresh) {
  std::unique_lock lock(mu_);
  if (!freed_.wait_for(lock, cfg_.pool_wait,
                       [&] { return !idle_.empty() || open_ < cfg_.pool_size; }))
    throw store_error(fault::busy, "all " + std::to_string(cfg_.pool_size) +
                                       " PostgreSQL reader connections stayed in use for " +
                                       std::to_string(cfg_.pool_wait.count()) +
                                       " ms: the database answers too slowly for the load");
  if (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    fresh = false;
    return c;
  }
  // Counted before connecting (outside the lock: it takes a round trip or a timeout), so that
  // the pool never grows past its size.
  ++open_;
  lock.unlock();
  fresh = true;
  try {
    return connect();
  } catch (...) {
    discard();
    throw;
  }
}

void pg_reader::release(std::unique_ptr<connection> c) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(c));
  freed_.notify_one();
}

void pg_reader::discard() {
  std::lock_guard lock(mu_);
  --open_;
  freed_.notify_one();
}

std::size_t pg_reader::open_connections() const {
  std::lock_guard lock(mu_);
  return open_;
}

void pg_reader::with_connection(const std::function<void(connection&)>& f) {
  for (int attempt = 0;; ++attempt) {
    bool fresh = false;
    auto c = acquire(fresh);
    try {
      f(*c);
    } catch (const store_error&) {
      if (c->broken()) {
        c.reset();
        discard();
        // The server dropped the connection while it sat in the pool (a restart, a failover, a
        // terminated backend): the others idle beside it most likely went with it. Close them
        // and run the query once more on a new connection; reads are safe to repeat.
        if (!fresh && attempt == 0) {
          std::vector<std::unique_ptr<connection>> stale;
          {
            std::lock_guard lock(mu_);
            stale.swap(idle_);
            open_ -= stale.size();
          }
          freed_.notify_all();
          continue;
        }
        throw;
      }
      // A failed statement leaves an open transaction aborted: end it before the connection
      // goes back to the pool.
      if (c->in_transaction()) {
        try {
          c->exec("ROLLBACK");
        } catch (...) {
          c.reset();
          discard();
          throw;
        }
      }
      release(std::move(c));
      throw;
    } catch (...) {
      // Not the database's failure (out of memory, say): the connection's state is unknown.
      c.reset();
      discard();
      throw;
    }
    release(std::move(c));
    return;
  }
}

void pg_reader::in_snapshot(const std::function<void(connection&)>& f) {
  with_connection([&](connection& c) {
    c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    f(c);
    c.exec("COMMIT");
  });
}

std::vector<transfer_row> pg_reader::list_transfers(const std::string& agency,
                                                    const transfer_filter& f) {
  params ps{p(agency)};
  if (!f.state.empty()) ps.push_back(p(f.state));
  if (!f.category.empty()) ps.push_back(p(f.category));
  if (f.since) ps.push_back(p(to_ms(*f.since)));
  ps.push_back(page(f.limit));
  const std::string& text =
      sql::list_transfers(!f.state.empty(), !f.category.empty(), f.since.has_value());
  std::vector<transfer_row> out;
  with_connection([&](connection& c) {
    auto r = c.prepared(text, ps);
    out.clear();
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_transfer_row(r, i, 0));
  });
  return out;
}

std::vector<console_event> pg_reader::events_after(std::int64_t after, int limit,
                                                   const std::string& agency, std::int64_t upto) {
  std::int64_t hi = event_bound();
  if (upto != 0) hi = std::min(hi, upto);
  params ps{p(after), p(hi), page(limit)};
  if (!agency.empty()) ps.push_back(p(agency));
  std::vector<console_event> out;
  with_connection([&](connection& c) {
    auto r = c.prepared(sql::events_after(!agency.empty()), ps);
    out.clear();
    for (int i = 0; i < r.rows(); ++i) {
      console_event ev;
      ev.transfer = read_transfer_row(r, i, 9);
      ev.event = read_event(r, i, ev.transfer.id);
      out.push_back(std::move(ev));
    }
  });
  return out;
}

std::int64_t pg_reader::last_event_id() {
  std::int64_t id = 0;
  with_connection([&](connection& c) { id = c.prepared(sql::last_event_id).int64(0, 0); });
  return std::min(id, event_bound());
}

std::optional<transfer_record> pg_reader::transfer_detail(const std::string& id,
                                                          const std::string& agency,
                                                          bool& is_party) {
  std::optional<transfer_record> out;
  bool party = false;
  // One snapshot: the transfer, its timeline, messages and audit rows as of one moment, even
  // while the writer moves the transfer on.
  in_snapshot([&](connection& c) {
    out.reset();
    party = false;
    auto s = c.prepared(sql::detail_transfer, {p(id)});
    if (s.rows() == 0) return;
    party = s.text(0, 6) == agency || s.text(0, 7) == agency;
    transfer_record t;
    if (!party) {
      out = std::move(t);
      return;
    }
    read_transfer_fields(s, 0, 0, t);
    t.request_message_id = s.text(0, 15);
    if (!s.is_null(0, 16)) t.purged_at = from_ms(s.int64(0, 16));

    auto h = c.prepared(sql::detail_holds, {p(id)});
    for (int i = 0; i < h.rows(); ++i) t.holds.push_back(read_hold(h, i));

    auto n = c.prepared(sql::detail_numbers, {p(id)});
    for (int i = 0; i < n.rows(); ++i)
      t.incident_numbers.push_back({n.text(i, 0), n.text(i, 1), from_ms(n.int64(i, 2))});

    auto e = c.prepared(sql::detail_timeline, {p(id)});
    for (int i = 0; i < e.rows(); ++i) t.timeline.push_back(read_event(e, i, t.id));

    auto m = c.prepared(sql::detail_messages, {p(id)});
    for (int i = 0; i < m.rows(); ++i) t.messages.push_back(m.text(i, 0));

    auto o = c.prepared(sql::detail_originals, {p(id)});
    for (int i = 0; i < o.rows(); ++i)
      t.originals.push_back(
          {o.text(i, 0), o.text(i, 1), o.text(i, 2), o.int64(i, 3), from_ms(o.int64(i, 4))});

    auto a = c.prepared(sql::detail_audit, {p(id)});
    for (int i = 0; i < a.rows(); ++i)
      t.audit.push_back({a.int64(i, 0), from_ms(a.int64(i, 1)), a.text(i, 2), a.text(i, 3),
                         opt_text(a, i, 4), a.text(i, 5), a.text(i, 6)});
    out = std::move(t);
  });
  is_party = party;
  return out;
}

std::optional<std::pair<std::string, std::int64_t>> pg_reader::transfer_of_message(
    const std::string& message_id, const std::string& agency) {
  std::optional<std::pair<std::string, std::int64_t>> out;
  with_connection([&](connection& c) {
    out.reset();
    auto r = c.prepared(sql::transfer_of_message, {p(message_id), p(agency)});
    if (r.rows() > 0) out = std::make_pair(r.text(0, 0), r.int64(0, 1));
  });
  return out;
}

std::optional<stored_original> pg_reader::original(const std::string& message_id,
                                                   const std::string& agency, bool& is_party) {
  std::optional<stored_original> out;
  bool party = false;
  with_connection([&](connection& c) {
    out.reset();
    party = false;
    auto r = c.prepared(sql::original_of, {p(message_id)});
    if (r.rows() == 0) return;
    party = r.text(0, 0) == agency || r.text(0, 1) == agency;
    stored_original o;
    o.message_id = message_id;
    if (party) {
      o.doc.standard = r.text(0, 2);
      o.doc.media_type = r.text(0, 3);
      o.doc.body = r.text(0, 4);
      o.received_at_ms = r.int64(0, 5);
      o.transfer_id = r.text(0, 6);
    }
    out = std::move(o);
  });
  is_party = party;
  return out;
}

std::vector<inbox_item> pg_reader::inbox(const std::string& agency, std::int64_t after, int limit) {
  std::vector<inbox_item> out;
  params ps{p(agency), p(after), p(seq_bound(agency)), page(limit)};
  with_connection([&](connection& c) {
    auto r = c.prepared(sql::inbox, ps);
    out.clear();
    for (int i = 0; i < r.rows(); ++i) out.push_back({r.int64(i, 0), r.text(i, 1), r.text(i, 2)});
  });
  return out;
}

std::int64_t pg_reader::acked_upto(const std::string& agency) {
  std::int64_t v = 0;
  with_connection([&](connection& c) {
    auto r = c.prepared(sql::acked_upto, {p(agency)});
    v = r.rows() ? r.int64(0, 0) : 0;
  });
  return v;
}

std::int64_t pg_reader::last_seq(const std::string& agency) {
  std::int64_t v = 0;
  with_connection([&](connection& c) { v = c.prepared(sql::last_seq, {p(agency)}).int64(0, 0); });
  return std::min(v, seq_bound(agency));
}

void pg_reader::bound_by(std::shared_ptr<const durable_marks> marks) {
  marks_ = std::move(marks);
}

std::int64_t pg_reader::seq_bound(const std::string& agency) const {
  auto m = marks_ ? marks_->seq(agency) : std::nullopt;
  return m.value_or(std::numeric_limits<std::int64_t>::max());
}

std::int64_t pg_reader::event_bound() const {
  auto m = marks_ ? marks_->event_id() : std::nullopt;
  return m.value_or(std::numeric_limits<std::int64_t>::max());
}

std::vector<std::pair<std::string, std::int64_t>> pg_reader::queue_depths() {
  std::vector<std::pair<std::string, std::int64_t>> out;
  with_connection([&](connection& c) {
    auto r = c.prepared(sql::queue_depths);
    out.clear();
    for (int i = 0; i < r.rows(); ++i)
      if (r.int64(i, 1) > 0) out.emplace_back(r.text(i, 0), r.int64(i, 1));
  });
  return out;
}

std::vector<std::pair<std::string, std::int64_t>> pg_reader::transfer_states() {
  std::vector<std::pair<std::string, std::int64_t>> out;
  with_connection([&](connection& c) {
    auto r = c.prepared(sql::transfer_states);
    out.clear();
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0), r.int64(i, 1));
  });
  return out;
}

audit_report pg_reader::verify_audit() {
  audit_report rep;
  // One snapshot for the whole chain (rows appended meanwhile are not half-read), a page at a
  // time (a chain of millions of rows never sits in memory whole). The checks and messages are
  // the SQLite reader's, row for row.
  in_snapshot([&](connection& c) {
    rep = audit_report{};
    audit_chain_check chain;
    for (;;) {
      auto r = c.prepared(sql::audit_page, {p(chain.next_seq() - 1), p(audit_page_rows)});
      for (int i = 0; i < r.rows(); ++i) {
        ++rep.rows;
        if (!chain.next(audit_chain_row_of(r, i), rep)) return;
      }
      if (r.rows() < audit_page_rows) break;
    }
    chain.finish(rep);
    if (!rep.ok) return;
    const std::int64_t expect_seq = chain.next_seq();
    const std::string& prev = chain.last_hash();
    // Every writer moves the tail in the statement that appends a row (pg_writer::audit), so in
    // one snapshot the chain ends at the tail. A chain that ends before it lost its last rows,
    // which the hashes alone cannot show.
    auto tail = c.prepared(sql::audit_tail);
    if (tail.rows() != 1) {
      rep.ok = false;
      rep.first_bad_seq = expect_seq;
      rep.problem = "the audit chain's tail row (table audit_tail) is missing";
      return;
    }
    std::int64_t last = expect_seq - 1;
    if (tail.int64(0, 0) != last || tail.text(0, 1) != prev) {
      rep.ok = false;
      rep.first_bad_seq = last + 1;
      rep.problem = "the chain ends at row " + std::to_string(last) +
                    " but the store recorded row " + std::to_string(tail.int64(0, 0)) +
                    " as its last: rows were removed from its end";
      return;
    }
    check_access_log(c, rep);
  });
  return rep;
}

namespace {
access_entry access_of(const result& r, int i, int first) {
  access_entry e;
  e.at = from_ms(r.int64(i, first));
  e.operation = r.text(i, first + 1);
  e.agency = r.text(i, first + 2);
  e.actor = r.text(i, first + 3);
  e.actor_kind = r.text(i, first + 4);
  e.channel = r.text(i, first + 5);
  e.object = r.text(i, first + 6);
  e.transfer_id = r.text(i, first + 7);
  e.ref = r.text(i, first + 8);
  e.recipients = r.text(i, first + 9);
  e.justification = r.text(i, first + 10);
  return e;
}
}  // namespace

void pg_reader::check_access_log(connection& c, audit_report& rep) {
  auto fail = [&](std::int64_t seq, std::string why) {
    rep.ok = false;
    rep.first_bad_seq = seq;
    rep.problem = std::move(why);
  };
  static const std::string page_sql = access_verify_page_sql(true);
  std::int64_t after = 0;
  for (;;) {
    auto r = c.prepared(page_sql, {p(after), p(audit_page_rows)});
    for (int i = 0; i < r.rows(); ++i) {
      std::int64_t seq = r.int64(i, 0);
      if (r.int64(i, 4) != 0)
        return fail(seq, "audit row " + std::to_string(seq) + " has no access-log row");
      access_entry e = access_of(r, i, 5);
      e.seq = seq;
      if (auto why = access_row_mismatch(e, r.int64(i, 1), r.text(i, 2), r.text(i, 3)))
        return fail(seq, *why);
      after = seq;
    }
    if (r.rows() < audit_page_rows) break;
  }
  auto orphan = c.prepared(access_orphan_sql);
  if (orphan.rows() == 1) {
    std::int64_t seq = orphan.int64(0, 0);
    fail(seq, "access-log row " + std::to_string(seq) + " has no audit row");
  }
}

std::vector<access_entry> pg_reader::access_log(const access_filter& f) {
  auto q = access_query_of(f, true);
  params ps;
  for (const auto& a : q.args) {
    if (auto* t = std::get_if<std::string>(&a))
      ps.push_back(p(*t));
    else
      ps.push_back(p(std::get<std::int64_t>(a)));
  }
  std::vector<access_entry> out;
  with_connection([&](connection& c) {
    auto r = c.query(q.sql, ps);
    out.clear();
    for (int i = 0; i < r.rows(); ++i) {
      access_entry e = access_of(r, i, 1);
      e.seq = r.int64(i, 0);
      out.push_back(std::move(e));
    }
  });
  return out;
}

bool pg_reader::ping() {
  with_connection([&](connection& c) { c.prepared("SELECT 1"); });
  return true;
}

std::vector<purge_candidate> pg_reader::purge_candidates(
    time_point before, const std::optional<std::pair<time_point, std::string>>& after, int limit) {
  std::vector<purge_candidate> out;
  with_connection([&](connection& c) {
    out.clear();
    auto r = c.prepared(sql::purge_candidates,
                        {p(to_ms(before)),
                         p(after ? to_ms(after->first) : std::numeric_limits<std::int64_t>::min()),
                         p(after ? after->second : std::string()), p(std::int64_t{limit})});
    for (int i = 0; i < r.rows(); ++i)
      out.push_back({r.text(i, 0), r.text(i, 1), r.text(i, 2), from_ms(r.int64(i, 3))});
  });
  return out;
}

std::vector<call_candidate> pg_reader::call_purge_candidates(
    time_point before, const std::optional<std::pair<time_point, std::int64_t>>& after, int limit) {
  std::vector<call_candidate> out;
  with_connection([&](connection& c) {
    out.clear();
    auto r = c.prepared(sql::call_purge_candidates,
                        {p(to_ms(before)),
                         p(after ? to_ms(after->first) : std::numeric_limits<std::int64_t>::min()),
                         p(after ? after->second : std::int64_t{0}), p(std::int64_t{limit})});
    for (int i = 0; i < r.rows(); ++i)
      out.push_back({r.int64(i, 0), r.text(i, 1), r.text(i, 2), from_ms(r.int64(i, 3))});
  });
  return out;
}

std::vector<legal_hold> pg_reader::current_holds() {
  std::vector<legal_hold> out;
  with_connection([&](connection& c) {
    out.clear();
    auto r = c.prepared(sql::current_holds);
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_hold(r, i));
  });
  return out;
}

namespace {
/// Row `i` of a call as list_calls and subject_calls select it.
call_row read_call_row(const result& r, int i) {
  call_row row;
  row.id = r.int64(i, 0);
  row.source = r.text(i, 1);
  row.from_agency = r.text(i, 2);
  row.to_agency = r.text(i, 3);
  row.started_at = from_ms(r.int64(i, 4));
  if (!r.is_null(i, 5)) row.duration_s = r.int64(i, 5);
  row.emergency = r.boolean(i, 6);
  row.reason = opt_text(r, i, 7);
  row.transfer_id = opt_text(r, i, 8);
  row.logged_by = opt_text(r, i, 9);
  row.exercise = r.boolean(i, 10);
  row.note = opt_text(r, i, 11);
  row.created_at = from_ms(r.int64(i, 12));
  return row;
}
}  // namespace

std::vector<call_row> pg_reader::list_calls(const std::string& agency,
                                            std::optional<time_point> since, int limit) {
  params ps{p(agency)};
  if (since) ps.push_back(p(to_ms(*since)));
  ps.push_back(page(limit));
  std::vector<call_row> out;
  with_connection([&](connection& c) {
    auto r = c.prepared(sql::list_calls(since.has_value()), ps);
    out.clear();
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_call_row(r, i));
  });
  return out;
}

std::vector<subject_transfer> pg_reader::subject_transfers(
    const std::string& agency, time_point since, const std::pair<time_point, std::string>& before,
    int limit) {
  std::vector<subject_transfer> out;
  with_connection([&](connection& c) {
    out.clear();
    auto r = c.prepared(
        sql::subject_transfers(),
        {p(agency), p(to_ms(since)), p(to_ms(before.first)), p(before.second), page(limit)});
    for (int i = 0; i < r.rows(); ++i) {
      subject_transfer t;
      t.id = r.text(i, 0);
      t.requester = r.text(i, 1);
      t.responder = r.text(i, 2);
      t.category = r.text(i, 3);
      t.state = r.text(i, 4);
      t.created_at = from_ms(r.int64(i, 5));
      t.updated_at = from_ms(r.int64(i, 6));
      t.purged = r.boolean(i, 7);
      out.push_back(std::move(t));
    }
    for (auto& t : out) {
      auto m = c.prepared(sql::subject_messages, {p(t.id)});
      for (int i = 0; i < m.rows(); ++i) t.messages.emplace_back(m.text(i, 0), m.text(i, 1));
      auto e = c.prepared(sql::subject_events, {p(t.id)});
      for (int i = 0; i < e.rows(); ++i) t.events.emplace_back(e.int64(i, 0), e.text(i, 1));
    }
  });
  return out;
}

std::vector<call_row> pg_reader::subject_calls(const std::string& agency, time_point since,
                                               const std::pair<time_point, std::int64_t>& before,
                                               int limit) {
  std::vector<call_row> out;
  with_connection([&](connection& c) {
    out.clear();
    auto r = c.prepared(sql::subject_calls(), {p(agency), p(to_ms(since)), p(to_ms(before.first)),
                                               p(before.second), page(limit)});
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_call_row(r, i));
  });
  return out;
}

}  // namespace bl::store::postgres
