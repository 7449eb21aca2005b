// bluelink-bench --mode pages (issue 15): see pages_bench.hpp.
//
//  1. Generates a year of transfers between four control rooms into a SQLite file migrated as the
//     gateway does, each stored with the rows the engine writes for it: the request, the
//     gateway's delivered receipt, the answer and (for most) the close as messages; a timeline
//     event, a delivery (per-agency sequence, acknowledged) and hash-chained audit rows for each
//     step; both incident numbers. The last transfers are still open. Written with prepared
//     statements in transactions of 20,000 transfers, without a journal (a fresh file: a crash
//     only loses the benchmark's data), then switched to WAL as the gateway runs it.
//  2. Times each page through the real bl::store::reader, --runs times (median and max): the
//     transfer list (default, state, category, since), the inbox, a transfer's detail, the
//     console's catch-up, the cursors and the /metrics counts; and, on the same file, the queries
//     they replaced (fewer runs: they take seconds).
//  3. With --engine postgres or both: starts a PostgreSQL server of its own (tools/pg_server),
//     moves the file into it with `bluelink store copy`'s library (verified), VACUUM ANALYZE, and
//     times the same pages through the PostgreSQL reader; both engines must read the same rows.

#include "tools/bench/pages_bench.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gateway/core/time_util.hpp"
#include "gateway/net/reader_json.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/sqlite/reader.hpp"
#include "gateway/store/sqlite/reader_sql.hpp"
#include "gateway/store/sqlite/sqlite.hpp"
#include "gateway/store/sqlite/writer.hpp"
#include "tools/bench/bench_doc.hpp"
#include "tools/bench/pg_copy.hpp"
#include "tools/bench/report_data.hpp"

namespace bl::bench {

namespace {

namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

constexpr const char* begin_marker = "<!-- bluelink-bench-pages:begin -->";
constexpr const char* end_marker = "<!-- bluelink-bench-pages:end -->";

const char* const agencies[4] = {"essex-fire", "essex-police", "eeast-ambulance", "herts-fire"};
const char* const categories[8] = {"police.traffic_management",  "police.scene_security",
                                   "police.violence_threat",     "fire.forced_entry",
                                   "fire.missing_person_search", "fire.rescue",
                                   "ambulance.casualty_care",    "info.address_risk"};
const char* const priorities[4] = {"emergency", "urgent", "urgent", "routine"};
const char* const summaries[4] = {
    "RTC A12 northbound J19-J20, two cars, one person trapped, lane 1 blocked",
    "Concern for welfare, elderly male not seen for two days, neighbours report smell of gas",
    "Fire in a derelict barn, Boreham Road, risk of spread to the stables next door",
    "Assault in progress outside the Chelmsford railway station, ambulance on scene"};

// A year ending at the first of this month, so that the open transfers look like today's.
constexpr std::int64_t day_ms = 86'400'000;
std::int64_t history_end() {
  auto now = bl::to_ms(bl::now_ms());
  return now - now % day_ms;
}

void check(int rc, sqlite3* h, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(h));
}

struct counts {
  std::int64_t transfers = 0, messages = 0, events = 0, deliveries = 0, audit = 0, open = 0;
  double seconds = 0;
};

// The bulk writer: one prepared statement per table, bound by position.
class bulk {
 public:
  explicit bulk(sqlite3* h) : h_(h) {
    prep(msg_,
         "INSERT INTO messages(id, type, from_agency, to_agency, transfer_id, version, mode,"
         " sent_at, stored_at, doc, receipt) VALUES(?1, ?2, ?3, ?4, ?5, ?6, 'live', ?7, ?7, ?8,"
         " ?9)");
    prep(transfer_,
         "INSERT INTO transfers(id, state, version, category, priority, mode, requester,"
         " responder, request_message_id, created_at, updated_at, expires_at, delivery_due,"
         " decision_due, delivery_alerted, decision_alerted, next_due) VALUES(?1, ?2, ?3, ?4, ?5,"
         " 'live', ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, 0, ?14)");
    prep(incident_,
         "INSERT INTO incident_numbers(transfer_id, agency, number, recorded_at)"
         " VALUES(?1, ?2, ?3, ?4)");
    prep(event_,
         "INSERT INTO transfer_events(transfer_id, at, kind, actor, message_id, from_state,"
         " to_state, version, detail) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    prep(delivery_,
         "INSERT INTO deliveries(agency, seq, message_id, transfer_id, type, created_at, acked_at)"
         " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    prep(audit_,
         "INSERT INTO audit(seq, at, actor, action, message_id, transfer_id, detail, prev_hash,"
         " hash) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  }
  ~bulk() {
    for (auto* s : {msg_, transfer_, incident_, event_, delivery_, audit_}) sqlite3_finalize(s);
  }
  bulk(const bulk&) = delete;
  bulk& operator=(const bulk&) = delete;

  void message(const std::string& id, const char* type, const char* from, const char* to,
               const std::string& transfer_id, std::int64_t version, std::int64_t at,
               const std::string& doc, const std::string& receipt) {
    text(msg_, 1, id);
    sqlite3_bind_text(msg_, 2, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(msg_, 3, from, -1, SQLITE_STATIC);
    sqlite3_bind_text(msg_, 4, to, -1, SQLITE_STATIC);
    text(msg_, 5, transfer_id);
    if (version)
      sqlite3_bind_int64(msg_, 6, version);
    else
      sqlite3_bind_null(msg_, 6);
    sqlite3_bind_int64(msg_, 7, at);
    text(msg_, 8, doc);
    if (receipt.empty())
      sqlite3_bind_null(msg_, 9);
    else
      text(msg_, 9, receipt);
    run(msg_, "insert message");
    ++totals_.messages;
  }
  void transfer(const std::string& id, const char* state, std::int64_t version,
                const char* category, const char* priority, const char* from, const char* to,
                const std::string& request_id, std::int64_t created, std::int64_t updated,
                bool open) {
    text(transfer_, 1, id);
    sqlite3_bind_text(transfer_, 2, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(transfer_, 3, version);
    sqlite3_bind_text(transfer_, 4, category, -1, SQLITE_STATIC);
    sqlite3_bind_text(transfer_, 5, priority, -1, SQLITE_STATIC);
    sqlite3_bind_text(transfer_, 6, from, -1, SQLITE_STATIC);
    sqlite3_bind_text(transfer_, 7, to, -1, SQLITE_STATIC);
    text(transfer_, 8, request_id);
    sqlite3_bind_int64(transfer_, 9, created);
    sqlite3_bind_int64(transfer_, 10, updated);
    sqlite3_bind_int64(transfer_, 11, created + 3'600'000);
    sqlite3_bind_int64(transfer_, 12, created + 120'000);
    sqlite3_bind_int64(transfer_, 13, created + 600'000);
    if (open)
      sqlite3_bind_int64(transfer_, 14, created + 120'000);
    else
      sqlite3_bind_null(transfer_, 14);
    run(transfer_, "insert transfer");
    ++totals_.transfers;
  }
  void incident(const std::string& transfer_id, const char* agency, const std::string& number,
                std::int64_t at) {
    text(incident_, 1, transfer_id);
    sqlite3_bind_text(incident_, 2, agency, -1, SQLITE_STATIC);
    text(incident_, 3, number);
    sqlite3_bind_int64(incident_, 4, at);
    run(incident_, "insert incident number");
  }
  void event(const std::string& transfer_id, std::int64_t at, const char* kind, const char* actor,
             const std::string& message_id, const char* from_state, const char* to_state,
             std::int64_t version, const std::string& detail) {
    text(event_, 1, transfer_id);
    sqlite3_bind_int64(event_, 2, at);
    sqlite3_bind_text(event_, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(event_, 4, actor, -1, SQLITE_STATIC);
    text(event_, 5, message_id);
    if (*from_state)
      sqlite3_bind_text(event_, 6, from_state, -1, SQLITE_STATIC);
    else
      sqlite3_bind_null(event_, 6);
    sqlite3_bind_text(event_, 7, to_state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(event_, 8, version);
    text(event_, 9, detail);
    run(event_, "insert event");
    ++totals_.events;
  }
  std::int64_t deliver(int agency, const std::string& message_id, const std::string& transfer_id,
                       const char* type, std::int64_t at, std::int64_t acked_at) {
    std::int64_t seq = ++seq_[agency];
    sqlite3_bind_text(delivery_, 1, agencies[agency], -1, SQLITE_STATIC);
    sqlite3_bind_int64(delivery_, 2, seq);
    text(delivery_, 3, message_id);
    text(delivery_, 4, transfer_id);
    sqlite3_bind_text(delivery_, 5, type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(delivery_, 6, at);
    if (acked_at)
      sqlite3_bind_int64(delivery_, 7, acked_at);
    else
      sqlite3_bind_null(delivery_, 7);
    run(delivery_, "insert delivery");
    ++totals_.deliveries;
    if (acked_at) acked_[agency] = seq;
    return seq;
  }
  void audit(std::int64_t at, const char* actor, const char* action, const std::string& message_id,
             const std::string& transfer_id, const std::string& detail) {
    std::int64_t seq = ++audit_seq_;
    std::string hash =
        bl::store::audit_hash(prev_hash_, seq, at, actor, action, message_id, transfer_id, detail);
    sqlite3_bind_int64(audit_, 1, seq);
    sqlite3_bind_int64(audit_, 2, at);
    sqlite3_bind_text(audit_, 3, actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(audit_, 4, action, -1, SQLITE_STATIC);
    text(audit_, 5, message_id);
    text(audit_, 6, transfer_id);
    text(audit_, 7, detail);
    text(audit_, 8, prev_hash_);
    text(audit_, 9, hash);
    run(audit_, "insert audit row");
    prev_hash_ = std::move(hash);
    ++totals_.audit;
  }
  /// Each agency's acknowledged position (the CADs are a few deliveries behind at the end).
  void endpoints() {
    sqlite3_stmt* s = nullptr;
    prep(s, "INSERT INTO endpoints(agency, acked_upto) VALUES(?1, ?2)");
    for (int a = 0; a < 4; ++a) {
      sqlite3_bind_text(s, 1, agencies[a], -1, SQLITE_STATIC);
      sqlite3_bind_int64(s, 2, acked_[a]);
      run(s, "insert endpoint");
    }
    sqlite3_finalize(s);
  }

  counts& totals() { return totals_; }

 private:
  void prep(sqlite3_stmt*& s, const char* sql) {
    check(sqlite3_prepare_v2(h_, sql, -1, &s, nullptr), h_, sql);
  }
  static void text(sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void run(sqlite3_stmt* s, const char* what) {
    check(sqlite3_step(s), h_, what);
    sqlite3_reset(s);
  }

  sqlite3* h_;
  sqlite3_stmt *msg_ = nullptr, *transfer_ = nullptr, *incident_ = nullptr, *event_ = nullptr,
               *delivery_ = nullptr, *audit_ = nullptr;
  std::int64_t seq_[4] = {0, 0, 0, 0};
  std::int64_t acked_[4] = {0, 0, 0, 0};
  std::int64_t audit_seq_ = 0;
  std::string prev_hash_ = bl::store::genesis_hash;
  counts totals_;
};

std::string rfc(std::int64_t ms) {
  return bl::format_rfc3339(bl::from_ms(ms));
}

// One transfer's rows, in the order the engine writes them over its life.
void store_transfer(bulk& b, std::mt19937_64& rng, std::int64_t i, std::int64_t created,
                    const std::string& id, bool open_at_end) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  int from = pick(4), to = (from + 1 + pick(3)) % 4;
  const char* req = agencies[from];
  const char* resp = agencies[to];
  const char* category = categories[pick(8)];
  const char* priority = priorities[pick(4)];
  const std::string n = std::to_string(i);
  const std::string request_id = std::string(req) + ":" + n;
  const std::string req_number = "INC-" + n;
  std::int64_t version = 1;
  std::int64_t at = created;

  // The request (about 1.2 KB stored, as an operator's or a CAD's request is).
  std::string doc =
      R"({"id":")" + request_id + R"(","type":"transfer.request","from":")" + req + R"(","to":[")" +
      resp + R"("],"sent_at":")" + rfc(at) + R"(","mode":"live","transfer_id":")" + id +
      R"(","version":1,"body":{"category":")" + category + R"(","priority":")" + priority +
      R"(","summary":")" + summaries[pick(4)] + R"(","incident_number":")" + req_number +
      R"(","location":{"text":"A12 northbound between junctions 19 and 20, near Boreham",)"
      R"("easting":573412,"northing":209871,"what3words":"///index.home.raft"},)"
      R"("hazards":["live traffic","fuel spill"],"casualties":{"count":2,"trapped":1},)"
      R"("requested_by":{"name":"Watch Manager A Smith","callsign":"EF-WM1",)"
      R"("phone":"01632960001"},"notes":"Crew on scene request police for traffic )"
      R"(management and scene security; approach from the south, the northbound carriageway )"
      R"(is blocked at the junction 19 exit. Ambulance requested separately.","expires_at":")" +
      rfc(at + 3'600'000) + R"("}})";
  std::string receipt = R"({"message_id":")" + request_id + R"(","status":"stored","at":")" +
                        rfc(at) + R"(","transfer_id":")" + id +
                        R"(","transfer_version":1,"state":"submitted"})";
  b.message(request_id, "transfer.request", req, resp, id, 1, at, doc, receipt);
  b.incident(id, req, req_number, at);
  b.event(id, at, "transfer.request", req, request_id, "", "submitted", 1,
          R"({"summary":"request"})");
  bool last_few = open_at_end;
  std::int64_t ack_at = at + 2'000 + pick(8'000);  // the receiving CAD acknowledges it
  std::int64_t req_seq =
      b.deliver(to, request_id, id, "transfer.request", at, last_few ? 0 : ack_at);
  b.audit(at, req, "message.accepted", request_id, id,
          R"({"type":"transfer.request","to":")" + std::string(resp) +
              R"(","from_state":null,"to_state":"submitted","version":1})");
  const char* state = "submitted";
  std::int64_t updated = at;
  auto finish = [&](bool open) {
    b.transfer(id, state, version, category, priority, req, resp, request_id, created, updated,
               open);
  };
  if (last_few && pick(4) == 0) {
    // Not yet at the receiving CAD.
    ++b.totals().open;
    return finish(true);
  }

  // The receiving CAD acknowledges it (or a console shows it): the transfer is delivered, and
  // the sender is told.
  at = ack_at;
  if (!last_few)
    b.audit(at, resp, "message.delivered", request_id, id,
            R"({"type":"transfer.request","seq":)" + std::to_string(req_seq) + "}");
  ++version;
  b.event(id, at, "delivered", resp, request_id, "submitted", "delivered", version,
          R"({"seq":)" + std::to_string(req_seq) + R"(,"via":"receiving_system"})");
  b.audit(at, resp, "transfer.delivered", request_id, id,
          R"({"from_state":"submitted","to_state":"delivered","via":"receiving_system"})");
  const std::string delivered_id =
      std::string("bluelink:delivered:") + resp + ":" + std::to_string(req_seq);
  b.message(delivered_id, "receipt", "bluelink", req, id, 0, at,
            R"({"id":")" + delivered_id + R"(","type":"receipt","from":"bluelink","to":[")" + req +
                R"("],"sent_at":")" + rfc(at) + R"(","mode":"live","transfer_id":")" + id +
                R"(","body":{"message_id":")" + request_id + R"(","status":"delivered","at":")" +
                rfc(at) + R"(","transfer_id":")" + id +
                R"(","transfer_version":2,"state":"delivered","delivered_to":")" + resp + R"("}})",
            {});
  b.deliver(from, delivered_id, id, "receipt", at, last_few ? 0 : at + 1'000);
  state = "delivered";
  updated = at;
  if (last_few) {
    ++b.totals().open;
    return finish(true);
  }

  // The answer, a few minutes later: mostly accepted, some declined or deferred.
  int r = pick(100);
  const char* answer = r < 78 ? "transfer.accept" : r < 90 ? "transfer.decline" : "transfer.defer";
  const char* to_state = r < 78 ? "accepted" : r < 90 ? "declined" : "deferred";
  at += 30'000 + pick(300'000);
  ++version;
  const std::string answer_id = std::string(resp) + ":" + n;
  const std::string resp_number = "R" + std::to_string(to) + "-" + n;
  b.message(
      answer_id, answer, resp, req, id, version, at,
      R"({"id":")" + answer_id + R"(","type":")" + answer + R"(","from":")" + resp +
          R"(","to":[")" + req + R"("],"sent_at":")" + rfc(at) +
          R"(","mode":"live","transfer_id":")" + id + R"(","version":)" + std::to_string(version) +
          R"(,"body":{"incident_number":")" + resp_number +
          R"(","eta_minutes":12,"resources":["unit 4-21"],"note":"on our way"}})",
      R"({"message_id":")" + answer_id + R"(","status":"stored","transfer_id":")" + id + R"("})");
  if (r < 78) b.incident(id, resp, resp_number, at);
  b.event(id, at, answer, resp, answer_id, "delivered", to_state, version, R"({"note":"answer"})");
  b.deliver(from, answer_id, id, answer, at, at + 1'000);
  b.audit(at, resp, "message.accepted", answer_id, id,
          R"({"type":")" + std::string(answer) + R"(","to":")" + req +
              R"(","from_state":"delivered","to_state":")" + to_state + R"(","version":)" +
              std::to_string(version) + "}");
  b.audit(at + 1'000, req, "message.delivered", answer_id, id, R"({"type":"answer"})");
  state = to_state;
  updated = at;

  // Most accepted transfers are closed by the requester within hours.
  if (r < 70) {
    at += 600'000 + pick(7'200'000);
    ++version;
    const std::string close_id = std::string(req) + ":close:" + n;
    b.message(
        close_id, "transfer.close", req, resp, id, version, at,
        R"({"id":")" + close_id + R"(","type":"transfer.close","from":")" + req + R"(","to":[")" +
            resp + R"("],"sent_at":")" + rfc(at) + R"(","mode":"live","transfer_id":")" + id +
            R"(","version":)" + std::to_string(version) +
            R"(,"body":{"reason":"incident closed"}})",
        R"({"message_id":")" + close_id + R"(","status":"stored","transfer_id":")" + id + R"("})");
    b.event(id, at, "transfer.close", req, close_id, "accepted", "closed", version,
            R"({"reason":"incident closed"})");
    b.deliver(to, close_id, id, "transfer.close", at, at + 1'000);
    b.audit(at, req, "message.accepted", close_id, id,
            R"({"type":"transfer.close","from_state":"accepted","to_state":"closed"})");
    b.audit(at + 1'000, resp, "message.delivered", close_id, id, R"({"type":"close"})");
    state = "closed";
    updated = at;
  }
  finish(false);
}

counts generate_pages(const std::string& path, std::int64_t transfers) {
  auto t0 = steady::now();
  { bl::store::sqlite::writer create(bl::store::store_options{path, false, 5000, {}}); }
  bl::store::db d(path, false, false);
  // A fresh file that only this process writes: no journal, no syncs until the end.
  d.exec("PRAGMA journal_mode = OFF");
  d.exec("PRAGMA synchronous = OFF");
  d.exec("PRAGMA locking_mode = EXCLUSIVE");
  d.exec("PRAGMA cache_size = -524288");
  bulk b(d.handle());
  std::mt19937_64 rng(20261205);
  const std::int64_t end = history_end();
  const std::int64_t start = end - 365 * day_ms;
  const std::int64_t step = (end - start) / std::max<std::int64_t>(transfers, 1);
  progress p("generating transfers", transfers);
  std::string day;
  std::int64_t in_day = 0;
  d.exec("BEGIN");
  for (std::int64_t i = 0; i < transfers; ++i) {
    std::int64_t created =
        start + i * step + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(step));
    // T-YYYYMMDD-NNNNNN, numbered within the UTC day as the engine numbers them.
    std::string stamp = rfc(created);
    std::string today = stamp.substr(0, 4) + stamp.substr(5, 2) + stamp.substr(8, 2);
    if (today != day) {
      day = today;
      in_day = 0;
    }
    char id[32];
    std::snprintf(id, sizeof id, "T-%s-%06lld", day.c_str(), static_cast<long long>(++in_day));
    store_transfer(b, rng, i, created, id, transfers - i <= 40);
    if ((i + 1) % 20000 == 0) {
      d.exec("COMMIT");
      d.exec("BEGIN");
    }
    if (i % 5000 == 0 || i + 1 == transfers) p.update(i + 1);
  }
  b.endpoints();
  d.exec("COMMIT");
  d.exec("PRAGMA journal_mode = WAL");
  b.totals().seconds = std::chrono::duration<double>(steady::now() - t0).count();
  return b.totals();
}

counts counted_pages(const std::string& path) {
  bl::store::db d(path, false, true);
  auto count = [&](const char* sql) {
    bl::store::stmt s(d, sql);
    s.step();
    return s.int64(0);
  };
  counts c;
  c.transfers = count("SELECT count(*) FROM transfers");
  c.messages = count("SELECT count(*) FROM messages");
  c.events = count("SELECT count(*) FROM transfer_events");
  c.deliveries = count("SELECT count(*) FROM deliveries");
  c.audit = count("SELECT count(*) FROM audit");
  c.open = count("SELECT count(*) FROM transfers WHERE next_due IS NOT NULL");
  return c;
}

struct timing {
  std::string what;
  std::vector<double> ms;
  std::size_t rows = 0;
  std::string note;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string fmt_ms(double ms) {
  char buf[32];
  if (ms < 10)
    std::snprintf(buf, sizeof buf, "%.2f ms", ms);
  else if (ms < 1000)
    std::snprintf(buf, sizeof buf, "%.1f ms", ms);
  else
    std::snprintf(buf, sizeof buf, "%.2f s", ms / 1000);
  return buf;
}

std::string with_commas(std::int64_t n) {
  std::string s = std::to_string(n), out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

// Runs `f` (which returns the rows it read) `runs` times.
timing measure(std::string what, int runs, const std::function<std::size_t(int)>& f) {
  timing t{std::move(what), {}, 0, {}};
  for (int i = 0; i < runs; ++i) {
    auto t0 = steady::now();
    t.rows = f(i);
    t.ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - t0).count());
  }
  std::fprintf(stderr, "%-60s median %s max %s (%zu rows)\n", t.what.c_str(),
               fmt_ms(median(t.ms)).c_str(),
               fmt_ms(*std::max_element(t.ms.begin(), t.ms.end())).c_str(), t.rows);
  return t;
}

// Issue 15's target: each page an operator or a CAD waits on, under 50 ms. A list of 1,000 is
// five default pages, and the cursors and /metrics counts are shown for what they cost.
std::string target(const std::string& what) {
  for (const char* p : {"transfer list, limit", "last_seq", "/metrics"})
    if (what.rfind(p, 0) == 0) return "";
  return "< 50 ms";
}

// The queries the reader ran before issue 15, on the same file.
const char* old_list = "SELECT" BL_TRANSFER_ROW_COLUMNS
                       " FROM transfers t WHERE (t.requester = ?1 OR t.responder = ?1)"
                       " AND (?2 = '' OR t.state = ?2) AND (?3 = '' OR t.category = ?3)"
                       " AND (?4 IS NULL OR t.updated_at >= ?4)"
                       " ORDER BY t.updated_at DESC, t.id DESC LIMIT ?5";
const char* old_queue_depths =
    "SELECT d.agency, COUNT(*) FROM deliveries d LEFT JOIN endpoints e ON e.agency ="
    " d.agency WHERE d.seq > COALESCE(e.acked_upto, 0) GROUP BY d.agency";
const char* old_transfer_states = "SELECT state, COUNT(*) FROM transfers GROUP BY state";

std::string plan(bl::store::db& d, const std::string& sql) {
  bl::store::stmt s(d, "EXPLAIN QUERY PLAN " + sql);
  std::string out;
  while (s.step()) out += (out.empty() ? "" : "; ") + s.text(3);
  return out;
}

// Every page an operator or a CAD waits on, read through `rd` for `agency`, each timed with the
// JSON the API shapes from its rows (gateway/net/reader_json), as an operator waits for both.
std::vector<timing> time_pages(bl::store::reader& rd, const std::string& agency,
                               const std::vector<std::string>& detail_ids, int runs) {
  std::vector<timing> out;
  const std::int64_t last_event = rd.last_event_id();
  const auto since = bl::from_ms(history_end() - day_ms);
  auto list = [&](bl::store::transfer_filter f) {
    return [&rd, &agency, f](int) {
      return bl::transfer_list_json(rd.list_transfers(agency, f), agency).size();
    };
  };
  auto catch_up = [&](std::int64_t back) {
    return [&rd, &agency, last_event, back](int) {
      std::size_t n = 0;
      for (const auto& ev : rd.events_after(last_event - back, 500, agency)) {
        auto frame = bl::console_event_json(ev.event);
        frame["transfer"] = bl::transfer_row_json(ev.transfer, agency);
        n += frame.is_object() ? 1 : 0;
      }
      return n;
    };
  };
  out.push_back(measure("transfer list, default page (200)", runs, list({})));
  out.push_back(measure("transfer list, state=accepted", runs, list({"accepted", "", {}, 200})));
  out.push_back(measure("transfer list, state=delivered (open only)", runs,
                        list({"delivered", "", {}, 200})));
  out.push_back(
      measure("transfer list, category=fire.rescue", runs, list({"", "fire.rescue", {}, 200})));
  out.push_back(measure("transfer list, since the last 24 h", runs, list({"", "", since, 200})));
  out.push_back(measure("transfer list, limit=1000", runs, list({"", "", {}, 1000})));
  out.push_back(measure("inbox page (100) after the CAD's acknowledged position", runs,
                        [&](int) { return rd.inbox(agency, rd.acked_upto(agency), 100).size(); }));
  out.push_back(measure("inbox page (100) from the oldest delivery", runs,
                        [&](int) { return rd.inbox(agency, 0, 100).size(); }));
  out.push_back(measure("transfer detail (a random transfer of the year)", runs, [&](int i) {
    bool party = false;
    auto d = rd.transfer_detail(detail_ids[static_cast<std::size_t>(i)], agency, party);
    return d ? bl::transfer_detail_json(*d)["timeline"].size() : std::size_t{0};
  }));
  out.push_back(measure("catch-up: events_after(last - 100, 500, agency)", runs, catch_up(100)));
  out.push_back(
      measure("catch-up: events_after(last - 10,000, 500, agency)", runs, catch_up(10000)));
  out.push_back(measure("last_event_id", runs,
                        [&](int) { return static_cast<std::size_t>(rd.last_event_id() > 0); }));
  out.push_back(measure("last_seq + acked_upto", runs, [&](int) {
    return static_cast<std::size_t>(rd.last_seq(agency) > rd.acked_upto(agency));
  }));
  out.push_back(
      measure("/metrics: queue_depths", runs, [&](int) { return rd.queue_depths().size(); }));
  out.push_back(
      measure("/metrics: transfer_states", runs, [&](int) { return rd.transfer_states().size(); }));
  return out;
}

// The queries the SQLite reader ran before issue 15, on the same file with migration 5's indexes
// in place of migration 6's (inside a transaction that is rolled back, so the file is left as it
// was), and the plans of the old and the new transfer list.
struct before_result {
  std::vector<timing> rows;
  std::string old_plan, new_plan;
  int runs = 0;
};
before_result time_before(const std::string& path, const std::string& agency, int runs) {
  before_result out;
  bl::store::db ro(path, false, true);
  out.new_plan = plan(ro, bl::store::sqlite::sql::list_transfers(false, false, false));
  const auto since = bl::from_ms(history_end() - day_ms);
  bl::store::db v5(path, false, false);
  v5.exec("PRAGMA busy_timeout = 5000");
  v5.exec("PRAGMA cache_size = -32768");  // as the reader's connections: SQLite's default
  v5.exec("BEGIN IMMEDIATE");
  std::fprintf(stderr, "putting back migration 5's indexes (rolled back afterwards)\n");
  for (const char* index : {"transfers_page_requester", "transfers_page_responder",
                            "transfers_page_requester_state", "transfers_page_responder_state"})
    v5.exec(std::string("DROP INDEX ") + index);
  v5.exec("CREATE INDEX transfers_by_requester ON transfers(requester, updated_at)");
  v5.exec("CREATE INDEX transfers_by_responder ON transfers(responder, updated_at)");
  out.runs = std::max(1, std::min(runs, 3));
  auto old_rows = [&](const char* sql, const std::function<void(bl::store::stmt&)>& bind) {
    return [&, sql, bind](int) {
      bl::store::stmt s(v5, sql);
      bind(s);
      std::size_t n = 0;
      while (s.step()) ++n;
      return n;
    };
  };
  auto old_list_bind = [&](bl::store::transfer_filter f) {
    return [&agency, f](bl::store::stmt& s) {
      s.bind(1, agency).bind(2, f.state).bind(3, f.category).bind(5, f.limit);
      if (f.since)
        s.bind(4, bl::to_ms(*f.since));
      else
        s.bind_null(4);
    };
  };
  auto& b = out.rows;
  const int n = out.runs;
  b.push_back(
      measure("transfer list, default page (200)", n, old_rows(old_list, old_list_bind({}))));
  b.push_back(measure("transfer list, state=accepted", n,
                      old_rows(old_list, old_list_bind({"accepted", "", {}, 200}))));
  b.push_back(measure("transfer list, state=delivered (open only)", n,
                      old_rows(old_list, old_list_bind({"delivered", "", {}, 200}))));
  b.push_back(measure("transfer list, category=fire.rescue", n,
                      old_rows(old_list, old_list_bind({"", "fire.rescue", {}, 200}))));
  b.push_back(measure("transfer list, since the last 24 h", n,
                      old_rows(old_list, old_list_bind({"", "", since, 200}))));
  b.push_back(
      measure("/metrics: queue_depths", n, old_rows(old_queue_depths, [](bl::store::stmt&) {})));
  b.push_back(measure("/metrics: transfer_states", n,
                      old_rows(old_transfer_states, [](bl::store::stmt&) {})));
  out.old_plan = plan(v5, old_list);
  v5.exec("ROLLBACK");
  return out;
}

}  // namespace

std::int64_t generate_history(const std::string& path, std::int64_t transfers) {
  return generate_pages(path, transfers).audit;
}

int run_pages(const pages_options& o) {
  try {
    if (o.engine != "sqlite" && o.engine != "postgres" && o.engine != "both")
      throw std::invalid_argument("--engine must be sqlite, postgres or both");
    bool own_dir = o.dir.empty();
    fs::path dir =
        own_dir ? fs::temp_directory_path() / ("bluelink-bench-pages-" + std::to_string(::getpid()))
                : fs::path(o.dir);
    fs::create_directories(dir);
    const std::string path = (dir / "pages.db").string();
    if (o.reuse && (o.dir.empty() || !fs::exists(path)))
      throw std::invalid_argument("--reuse needs --dir with the pages.db of an earlier run");
    if (!o.reuse) {
      for (const char* ext : {"", "-wal", "-shm"}) fs::remove(path + ext);
    }
    counts c = o.reuse ? counted_pages(path) : generate_pages(path, o.transfers);
    if (!o.reuse)
      std::fprintf(stderr, "generated %lld transfers in %.1f s\n",
                   static_cast<long long>(c.transfers), c.seconds);
    // Opening the store as the gateway does (migrations, WAL) before the reader reads it.
    { bl::store::sqlite::writer w(bl::store::store_options{path, true, 5000, {}}); }
    const auto file_bytes = static_cast<std::int64_t>(fs::file_size(path));

    const std::string agency = "essex-police";
    // Random transfers of the year that essex-police is a party to, the same on both engines.
    std::vector<std::string> detail_ids;
    {
      bl::store::db ro(path, false, true);
      std::mt19937_64 rng(7);
      while (static_cast<int>(detail_ids.size()) < o.runs) {
        bl::store::stmt s(ro, "SELECT id, requester, responder FROM transfers WHERE rowid = ?1");
        s.bind(1, static_cast<std::int64_t>(1 + rng() % static_cast<std::uint64_t>(c.transfers)));
        if (s.step() && (s.text(1) == agency || s.text(2) == agency))
          detail_ids.push_back(s.text(0));
      }
    }
    const bool on_sqlite = o.engine != "postgres";
    const bool on_postgres = o.engine != "sqlite";
    std::vector<timing> lite, pgt;
    before_result before;
    if (on_sqlite) {
      std::fprintf(stderr, "pages on SQLite\n");
      bl::store::sqlite::reader rd(path);
      lite = time_pages(rd, agency, detail_ids, o.runs);
      before = time_before(path, agency, o.runs);
    }

    // The same store on PostgreSQL: a server of the bench's own on this machine, the file moved
    // into it with `bluelink store copy`'s library, VACUUM ANALYZE (as autovacuum leaves a
    // settled database), then the same pages through the PostgreSQL reader.
    double copy_s = 0;
    std::int64_t copied_rows = 0;
    std::string pg_version;
    if (on_postgres) {
      auto pg = bl::bench::copy_to_own_postgres(dir, path, "pages");
      pg_version = pg.server->version();
      copy_s = pg.seconds;
      copied_rows = pg.rows;
      bl::store::store_options so;
      so.engine = bl::store::engine_kind::postgres;
      so.conninfo = pg.conninfo;
      std::fprintf(stderr, "pages on PostgreSQL\n");
      auto rd = bl::store::open_reader(so);
      pgt = time_pages(*rd, agency, detail_ids, o.runs);
      // Both readers must have read the same rows, or the figures compare different work.
      for (std::size_t i = 0; i < lite.size() && i < pgt.size(); ++i)
        if (lite[i].rows != pgt[i].rows)
          throw std::runtime_error("\"" + lite[i].what + "\": SQLite read " +
                                   std::to_string(lite[i].rows) + " rows, PostgreSQL " +
                                   std::to_string(pgt[i].rows));
    }

    std::ostringstream md;
    auto date = bl::format_rfc3339(bl::now_ms()).substr(0, 10);
    md << "## Pages on a million transfers (bluelink-bench --mode pages)\n\n";
    md << "Measured " << date << " with `" << o.command << "` (build type " << BL_BUILD_TYPE
       << "), through `bl::store::reader` on one thread, page cache warm (the first of the runs "
          "is in the max).\n\n";
    md << "| machine | |\n|---|---|\n";
    md << "| CPU | " << cpu_model() << ", `nproc` = " << std::thread::hardware_concurrency()
       << " |\n";
    md << "| kernel | " << kernel() << " |\n";
    if (on_postgres)
      md << "| PostgreSQL | " << pg_version
         << ", a server the bench started on the same machine (Unix socket, fsync on, the "
            "server's default shared_buffers) |\n";
    double load[1] = {0};
    if (getloadavg(load, 1) != 1) load[0] = 0;
    char lbuf[32];
    std::snprintf(lbuf, sizeof lbuf, "%.1f", load[0]);
    md << "| load average (1 min) at the end | " << lbuf << " |\n\n";
    md << "Data: " << with_commas(c.transfers) << " transfers over one year between four control "
       << "rooms (" << with_commas(c.open) << " still open at the end), stored as the engine "
       << "stores them: " << with_commas(c.messages) << " messages, " << with_commas(c.events)
       << " timeline events, " << with_commas(c.deliveries) << " deliveries, "
       << with_commas(c.audit) << " hash-chained audit rows; "
       << with_commas(file_bytes / (1024 * 1024)) << " MiB of SQLite";
    if (!o.reuse) md << ", generated in " << static_cast<int>(c.seconds + 0.5) << " s";
    if (on_postgres) {
      char cbuf[32];
      std::snprintf(cbuf, sizeof cbuf, "%.0f", copy_s);
      md << "; moved to PostgreSQL with `bluelink store copy`'s library ("
         << with_commas(copied_rows) << " rows copied and verified in " << cbuf
         << " s), then vacuumed and analysed";
    }
    md << ". Pages read for `" << agency << "` (a party to about half the transfers).\n\n";
    const std::vector<timing>& rows = on_sqlite ? lite : pgt;
    md << "| page | rows |";
    if (on_sqlite) md << " SQLite median | SQLite max |";
    if (on_postgres) md << " PostgreSQL median | PostgreSQL max |";
    md << " target |\n|---|---:|";
    if (on_sqlite) md << "---:|---:|";
    if (on_postgres) md << "---:|---:|";
    md << "---|\n";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      md << "| " << rows[i].what << " | " << rows[i].rows << " |";
      for (const auto* t : {on_sqlite ? &lite : nullptr, on_postgres ? &pgt : nullptr}) {
        if (!t) continue;
        const auto& ms = (*t)[i].ms;
        md << " " << fmt_ms(median(ms)) << " | " << fmt_ms(*std::max_element(ms.begin(), ms.end()))
           << " |";
      }
      md << " " << target(rows[i].what) << " |\n";
    }
    if (on_sqlite) {
      md << "\nThe queries these replaced (the SQLite reader before issue 15), on the same file "
            "with migration 5's indexes (`transfers_by_requester`, `transfers_by_responder`) in "
            "place of migration 6's, "
         << before.runs << " runs each:\n\n";
      md << "| before | rows | median | max |\n|---|---:|---:|---:|\n";
      for (const auto& t : before.rows)
        md << "| " << t.what << " | " << t.rows << " | " << fmt_ms(median(t.ms)) << " | "
           << fmt_ms(*std::max_element(t.ms.begin(), t.ms.end())) << " |\n";
      md << "\nPlan of the transfer list before: `" << before.old_plan << "`.\n\nAnd after: `"
         << before.new_plan << "`.\n\n";
    }
    std::cout << md.str() << std::flush;
    if (!o.write_path.empty()) {
      write_section(o.write_path, md.str(), begin_marker, end_marker);
      std::fprintf(stderr, "wrote %s\n", o.write_path.c_str());
    }
    if (own_dir) fs::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nbluelink-bench --mode pages: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace bl::bench
