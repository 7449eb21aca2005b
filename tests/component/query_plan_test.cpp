// The queries an operator or a CAD waits on read a page, not the history (issue 15): SQLite's own
// plan for each (EXPLAIN QUERY PLAN) walks an index in page order with no sort over an agency's
// rows, and each returns exactly what the plain query it replaced returned (order, filters,
// limit), on a store written through the real writer.

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/core/lifecycle.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/store/sqlite/migrations.hpp"
#include "gateway/store/sqlite/reader.hpp"
#include "gateway/store/sqlite/reader_sql.hpp"
#include "gateway/store/sqlite/sqlite.hpp"
#include "gateway/store/sqlite/writer.hpp"
#include "tests/support/temp_dir.hpp"

using namespace bl;
using nlohmann::json;
using store::stmt;

namespace {

const std::vector<std::string> agencies = {"essex-fire", "essex-police", "eeast-ambulance",
                                           "herts-fire"};
const std::vector<std::string> categories = {"fire.rescue", "police.traffic_management",
                                             "ambulance.casualty_care", "info.address_risk"};
const std::vector<transfer_state> states = {transfer_state::submitted, transfer_state::delivered,
                                            transfer_state::accepted,  transfer_state::accepted,
                                            transfer_state::closed,    transfer_state::closed,
                                            transfer_state::declined,  transfer_state::expired};

// A few hundred transfers written as the engine writes them (request message, transfer, incident
// number, timeline event, delivery, audit row; then answers that move the state), with many
// transfers sharing an updated_at so that the tie-break on id matters, and a few whose requester
// is also the responder so that the two arms of the list must not both return them.
struct history {
  test::temp_dir dir;
  std::string path = dir.file("bluelink.db");
  time_point t0 = *parse_rfc3339("2026-01-01T00:00:00Z");
  std::vector<std::string> ids;

  explicit history(int transfers = 400) {
    store::sqlite::writer w(store::store_options{path, false, 0, {}});
    std::mt19937 rng(15);
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    w.begin();
    for (int i = 0; i < transfers; ++i) {
      transfer t;
      t.id = w.next_transfer_id(t0);
      std::size_t from = pick(agencies.size());
      std::size_t to =
          i % 97 == 5 ? from : (from + 1 + pick(agencies.size() - 1)) % agencies.size();
      t.requester = agencies[from];
      t.responder = agencies[to];
      t.category = categories[pick(categories.size())];
      t.version = 1;
      t.request_message_id = t.requester + ":m" + std::to_string(i);
      // Minutes apart, and in runs of the same minute: ties on updated_at.
      t.created_at = t0 + std::chrono::minutes(i / 3);
      t.updated_at = t.created_at;
      t.expires_at = t.delivery_due = t.decision_due = t.created_at + std::chrono::hours(1);
      json doc = {{"id", t.request_message_id},
                  {"type", "transfer.request"},
                  {"from", t.requester},
                  {"transfer_id", t.id},
                  {"body", {{"summary", "RTC number " + std::to_string(i)}}}};
      w.insert_message(t.request_message_id, "transfer.request", t.requester, t.responder, t.id, 1,
                       "live", t.created_at, t.created_at, doc.dump(), "{}");
      w.save_transfer(t, true);
      w.record_incident(t.id, t.requester, "INC-" + std::to_string(i), t.created_at);
      w.add_event({t.id, t.created_at, "transfer.request", t.requester, t.request_message_id, "",
                   "submitted", 1, "{}"});
      w.enqueue(t.responder, t.request_message_id, t.id, "transfer.request", t.created_at,
                t.requester);
      w.audit(t.created_at, t.requester, "message.accepted", t.request_message_id, t.id, "{}");
      ids.push_back(t.id);

      // Most are answered later, some in the same minute as a newer request.
      transfer_state s = states[pick(states.size())];
      if (s == transfer_state::submitted) continue;
      t.state = s;
      t.version = 2;
      t.updated_at = t.created_at + std::chrono::minutes(pick(3) == 0 ? 0 : 1 + pick(200));
      std::string answer = t.responder + ":a" + std::to_string(i);
      w.insert_message(answer, "transfer.accept", t.responder, t.requester, t.id, 2, "live",
                       t.updated_at, t.updated_at, json{{"id", answer}}.dump(), "{}");
      w.save_transfer(t, false);
      w.record_incident(t.id, t.responder, "R-" + std::to_string(i), t.updated_at);
      w.add_event({t.id, t.updated_at, "transfer.accept", t.responder, answer, "submitted",
                   std::string(to_string(s)), 2, "{}"});
      w.enqueue(t.requester, answer, t.id, "transfer.accept", t.updated_at, t.responder);
      w.audit(t.updated_at, t.responder, "message.accepted", answer, t.id, "{}");
    }
    w.commit();
    // Two agencies acknowledge part of their queue; the others none of it.
    w.begin();
    w.ack("essex-fire", w.last_seq("essex-fire") - 7, t0);
    w.ack("essex-police", w.last_seq("essex-police"), t0);
    w.commit();
  }
};

// The query list_transfers ran before issue 15: one WHERE over both party columns, sorted.
const char* old_list_transfers =
    "SELECT t.id FROM transfers t WHERE (t.requester = ?1 OR t.responder = ?1)"
    " AND (?2 = '' OR t.state = ?2) AND (?3 = '' OR t.category = ?3)"
    " AND (?4 IS NULL OR t.updated_at >= ?4)"
    " ORDER BY t.updated_at DESC, t.id DESC LIMIT ?5";

std::vector<std::string> reference_ids(const std::string& path, const std::string& agency,
                                       const store::transfer_filter& f) {
  store::db d(path, false, true);
  stmt s(d, old_list_transfers);
  s.bind(1, agency).bind(2, f.state).bind(3, f.category).bind(5, f.limit);
  if (f.since)
    s.bind(4, to_ms(*f.since));
  else
    s.bind_null(4);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

struct plan_node {
  int id;
  int parent;
  std::string detail;
};

std::vector<plan_node> plan_of(const std::string& path, const std::string& sql) {
  store::db d(path, false, true);
  stmt s(d, "EXPLAIN QUERY PLAN " + sql);
  std::vector<plan_node> out;
  while (s.step())
    out.push_back({static_cast<int>(s.int64(0)), static_cast<int>(s.int64(1)), s.text(3)});
  return out;
}

std::string text_of(const std::vector<plan_node>& plan) {
  std::string out;
  for (const auto& n : plan) out += "  " + n.detail + "\n";
  return out;
}

// Whether a plan line reads a table of the store (by name or by the alias the queries give it),
// rather than a subquery's or a CTE's handful of rows.
bool reads_table(const std::string& detail) {
  static const std::set<std::string> names = {
      "transfers",        "t", "transfer_events", "e",     "deliveries", "d",
      "messages",         "m", "audit",           "calls", "c",          "endpoints",
      "incident_numbers", "n"};
  for (const char* verb : {"SCAN ", "SEARCH "}) {
    if (detail.rfind(verb, 0) != 0) continue;
    auto rest = detail.substr(std::string(verb).size());
    return names.count(rest.substr(0, rest.find(' '))) != 0;
  }
  return false;
}

// The two ways a query costs the history: a full scan of a table or index ("SCAN transfers ...")
// and a sort whose outer loop reads a table: "USE TEMP B-TREE FOR ORDER BY" beside a SEARCH of a
// table's index range or a MULTI-INDEX OR, sorting every row the range holds. A sort whose outer
// loop is a subquery's page ("SCAN (subquery-2)", "SCAN p"), with at most a lookup by key per
// row, costs the page only.
std::vector<std::string> history_costs(const std::vector<plan_node>& plan) {
  std::vector<std::string> out;
  for (const auto& n : plan) {
    if (n.detail.rfind("SCAN ", 0) == 0 && reads_table(n.detail))
      out.push_back("full scan: " + n.detail);
    if (n.detail.rfind("USE TEMP B-TREE", 0) != 0) continue;
    for (const auto& sibling : plan) {
      if (sibling.parent != n.parent) continue;
      const auto& d = sibling.detail;
      bool loop = d.rfind("SCAN ", 0) == 0 || d.rfind("SEARCH ", 0) == 0 ||
                  d.rfind("MULTI-INDEX OR", 0) == 0;
      if (!loop) continue;
      if (d.rfind("MULTI-INDEX OR", 0) == 0 || reads_table(d))
        out.push_back(n.detail + " over " + d);
      break;  // the outer loop decides what is sorted
    }
  }
  return out;
}

bool uses(const std::vector<plan_node>& plan, const std::string& fragment) {
  return std::any_of(plan.begin(), plan.end(), [&](const plan_node& n) {
    return n.detail.find(fragment) != std::string::npos;
  });
}

}  // namespace

TEST_CASE("the plan check sees the sort over an agency's history that issue 15 removed",
          "[component][store][query_plan]") {
  history h(10);
  auto plan = plan_of(h.path, old_list_transfers);
  INFO(text_of(plan));
  CHECK_FALSE(history_costs(plan).empty());
  auto states = plan_of(h.path, "SELECT state, COUNT(*) FROM transfers GROUP BY state");
  INFO(text_of(states));
  CHECK_FALSE(history_costs(states).empty());
}

TEST_CASE("every variant of the transfer list walks the page indexes with no sort of the history",
          "[component][store][query_plan]") {
  history h(10);
  for (int i = 0; i < 8; ++i) {
    const auto& sql = store::sqlite::sql::list_transfers((i & 1) != 0, (i & 2) != 0, (i & 4) != 0);
    auto plan = plan_of(h.path, sql);
    INFO("filters " << i << ":\n" << text_of(plan));
    CHECK(history_costs(plan).empty());
    CHECK(uses(plan, "transfers_page_requester"));
    CHECK(uses(plan, "transfers_page_responder"));
    CHECK(uses(plan, "SEARCH t USING INTEGER PRIMARY KEY (rowid=?)"));
    if (i & 1) {
      CHECK(uses(plan, "transfers_page_requester_state (requester=? AND state=?"));
      CHECK(uses(plan, "transfers_page_responder_state (responder=? AND state=?"));
    }
    if (i & 4) CHECK(uses(plan, "updated_at>?"));
  }
}

TEST_CASE("the inbox, the detail, the console's catch-up and the cursors read index ranges only",
          "[component][store][query_plan]") {
  history h(10);
  struct expected {
    const char* name;
    std::string sql;
    std::vector<std::string> fragments;
  };
  const std::vector<expected> queries = {
      {"inbox",
       store::sqlite::sql::inbox,
       {"SEARCH d USING PRIMARY KEY (agency=? AND seq>? AND seq<?)",
        "SEARCH m USING INDEX sqlite_autoindex_messages_1 (id=?)"}},
      {"events_after",
       store::sqlite::sql::events_after,
       {"SEARCH e USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)",
        "SEARCH t USING INDEX sqlite_autoindex_transfers_1 (id=?)"}},
      {"last_event_id", store::sqlite::sql::last_event_id, {"SEARCH transfer_events"}},
      {"last_seq",
       store::sqlite::sql::last_seq,
       {"SEARCH deliveries USING PRIMARY KEY (agency=?)"}},
      {"acked_upto",
       store::sqlite::sql::acked_upto,
       {"SEARCH endpoints USING PRIMARY KEY (agency=?)"}},
      {"detail", store::sqlite::sql::detail_transfer, {"sqlite_autoindex_transfers_1 (id=?)"}},
      {"detail numbers",
       store::sqlite::sql::detail_numbers,
       {"SEARCH incident_numbers USING PRIMARY KEY (transfer_id=?)"}},
      {"detail timeline",
       store::sqlite::sql::detail_timeline,
       {"transfer_events_by_transfer (transfer_id=?)"}},
      {"detail messages",
       store::sqlite::sql::detail_messages,
       {"messages_by_transfer (transfer_id=?)"}},
      {"detail audit", store::sqlite::sql::detail_audit, {"audit_by_transfer (transfer_id=?)"}},
      {"queue depths",
       store::sqlite::sql::queue_depths,
       {"SEARCH d USING PRIMARY KEY (agency=? AND seq>?)", "SEARCH e USING PRIMARY KEY"}},
      {"transfer states", store::sqlite::sql::transfer_states, {"transfer_state_counts"}},
      {"calls", store::sqlite::sql::list_calls(false), {"calls_page_caller", "calls_page_callee"}},
      {"calls since",
       store::sqlite::sql::list_calls(true),
       {"calls_page_caller (from_agency=? AND started_at>?)",
        "calls_page_callee (to_agency=? AND started_at>?)"}},
  };
  for (const auto& q : queries) {
    auto plan = plan_of(h.path, q.sql);
    INFO(q.name << ":\n" << text_of(plan));
    CHECK(history_costs(plan).empty());
    CHECK_FALSE(uses(plan, "TEMP B-TREE FOR GROUP BY"));
    for (const auto& f : q.fragments) CHECK(uses(plan, f));
  }
}

TEST_CASE("the transfer list returns what the plain query returned, for every filter and limit",
          "[component][store][query_plan]") {
  history h;
  store::sqlite::reader rd(h.path);
  std::vector<std::optional<time_point>> sinces = {std::nullopt, h.t0 + std::chrono::minutes(70),
                                                   h.t0 + std::chrono::minutes(100000)};
  std::int64_t compared = 0, rows = 0;
  for (const auto& agency : agencies)
    for (const std::string state : {"", "accepted", "submitted", "deferred"})
      for (const std::string category : {"", "fire.rescue"})
        for (const auto& since : sinces)
          for (int limit : {1, 2, 7, 50, 200, 1000}) {
            store::transfer_filter f{state, category, since, limit};
            auto expect = reference_ids(h.path, agency, f);
            auto got = rd.list_transfers(agency, f);
            std::vector<std::string> got_ids;
            for (const auto& row : got) got_ids.push_back(row.id);
            INFO(agency << " state=" << state << " category=" << category << " limit=" << limit);
            REQUIRE(got_ids == expect);
            ++compared;
            rows += static_cast<std::int64_t>(got.size());
          }
  CHECK(compared == 4 * 4 * 2 * 3 * 6);
  CHECK(rows > 3000);  // the comparisons were not all of empty pages

  // The page's rows are the rows of those transfers: columns read after the merge.
  auto page = rd.list_transfers("essex-police", {});
  REQUIRE(page.size() > 50);
  store::db d(h.path, false, true);
  for (const auto& row : page) {
    stmt s(d,
           "SELECT t.state, t.requester, t.responder, t.updated_at,"
           " json_extract(m.doc, '$.body.summary'), n.number FROM transfers t"
           " JOIN messages m ON m.id = t.request_message_id"
           " LEFT JOIN incident_numbers n ON n.transfer_id = t.id AND n.agency = t.requester"
           " WHERE t.id = ?1");
    s.bind(1, row.id);
    REQUIRE(s.step());
    CHECK(row.state == s.text(0));
    CHECK(row.requester == s.text(1));
    CHECK(row.responder == s.text(2));
    CHECK(to_ms(row.updated_at) == s.int64(3));
    CHECK(row.summary.value_or("") == s.text(4));
    CHECK(row.requester_number.value_or("") == s.text(5));
    CHECK((row.requester == "essex-police" || row.responder == "essex-police"));
  }
}

TEST_CASE("a transfer an agency sent to itself is listed once", "[component][store][query_plan]") {
  history h;
  store::sqlite::reader rd(h.path);
  store::db d(h.path, false, true);
  stmt s(d, "SELECT id, requester FROM transfers WHERE requester = responder LIMIT 1");
  REQUIRE(s.step());
  std::string id = s.text(0), agency = s.text(1);
  auto page = rd.list_transfers(agency, {"", "", std::nullopt, 1000});
  CHECK(std::count_if(page.begin(), page.end(),
                      [&](const store::transfer_row& row) { return row.id == id; }) == 1);
}

TEST_CASE("queue depths and transfers per state are what counting every row gave",
          "[component][store][query_plan]") {
  history h;
  store::sqlite::reader rd(h.path);
  store::db d(h.path, false, true);
  auto reference = [&](const char* sql) {
    std::vector<std::pair<std::string, std::int64_t>> out;
    stmt s(d, sql);
    while (s.step()) out.emplace_back(s.text(0), s.int64(1));
    return out;
  };
  auto depths = rd.queue_depths();
  CHECK(depths == reference("SELECT d.agency, COUNT(*) FROM deliveries d LEFT JOIN endpoints e"
                            " ON e.agency = d.agency WHERE d.seq > COALESCE(e.acked_upto, 0)"
                            " GROUP BY d.agency"));
  // essex-police acknowledged everything: no row, as before. essex-fire has 7 waiting.
  CHECK(std::none_of(depths.begin(), depths.end(),
                     [](const auto& p) { return p.first == "essex-police"; }));
  CHECK(std::count(depths.begin(), depths.end(),
                   std::make_pair(std::string("essex-fire"), std::int64_t{7})) == 1);

  auto by_state = rd.transfer_states();
  CHECK(by_state == reference("SELECT state, COUNT(*) FROM transfers GROUP BY state"));
  std::int64_t total = 0;
  for (const auto& [state, n] : by_state) total += n;
  CHECK(total == 400);

  // A state every transfer leaves disappears from the counts, as it did from GROUP BY.
  {
    store::sqlite::writer w(store::store_options{h.path, false, 0, {}});
    w.begin();
    for (const auto& id : h.ids) {
      auto t = w.load_transfer(id);
      REQUIRE(t);
      if (t->state != transfer_state::submitted) continue;
      t->state = transfer_state::cancelled;
      w.save_transfer(*t, false);
    }
    w.commit();
  }
  auto after = rd.transfer_states();
  CHECK(after == reference("SELECT state, COUNT(*) FROM transfers GROUP BY state"));
  CHECK(std::none_of(after.begin(), after.end(),
                     [](const auto& p) { return p.first == "submitted"; }));
}

TEST_CASE("the console's catch-up for an agency returns the events the plain join returned",
          "[component][store][query_plan]") {
  history h;
  store::sqlite::reader rd(h.path);
  store::db d(h.path, false, true);
  for (const auto& agency : agencies)
    for (std::int64_t after : {0, 100, 500}) {
      for (std::int64_t upto : {0, 650}) {
        std::vector<std::int64_t> expect;
        stmt s(d,
               "SELECT e.id FROM transfer_events e JOIN transfers t ON t.id = e.transfer_id"
               " WHERE e.id > ?1 AND (t.requester = ?2 OR t.responder = ?2)"
               " AND (?3 = 0 OR e.id <= ?3) ORDER BY e.id LIMIT 50");
        s.bind(1, after).bind(2, agency).bind(3, upto);
        while (s.step()) expect.push_back(s.int64(0));
        std::vector<std::int64_t> got;
        for (const auto& ev : rd.events_after(after, 50, agency, upto)) got.push_back(ev.event.id);
        INFO(agency << " after " << after << " upto " << upto);
        CHECK(got == expect);
      }
    }
}

TEST_CASE("the call list returns what the plain query returned", "[component][store][query_plan]") {
  test::temp_dir dir;
  auto path = dir.file("bluelink.db");
  {
    store::sqlite::writer w(store::store_options{path, false, 0, {}});
    std::mt19937 rng(5);
    auto t0 = *parse_rfc3339("2026-01-01T00:00:00Z");
    w.begin();
    for (int i = 0; i < 300; ++i) {
      store::call_record c;
      c.source = "console";
      auto from = rng() % agencies.size();
      auto to = i % 50 == 3 ? from : (from + 1 + rng() % (agencies.size() - 1)) % agencies.size();
      c.from_agency = agencies[from];
      c.to_agency = agencies[to];
      c.agency = c.from_agency;
      c.started_at = t0 + std::chrono::minutes(i / 4);  // ties on started_at
      c.reason = "other";
      c.created_at = c.started_at;
      w.insert_call(c);
    }
    w.commit();
  }
  store::sqlite::reader rd(path);
  store::db d(path, false, true);
  for (const auto& agency : agencies)
    for (std::optional<time_point> since :
         {std::optional<time_point>(), parse_rfc3339("2026-01-01T00:30:00Z")})
      for (int limit : {1, 3, 40, 500}) {
        stmt s(d,
               "SELECT id FROM calls WHERE (from_agency = ?1 OR to_agency = ?1)"
               " AND (?2 IS NULL OR started_at >= ?2) ORDER BY started_at DESC, id DESC LIMIT ?3");
        s.bind(1, agency).bind(3, limit);
        if (since)
          s.bind(2, to_ms(*since));
        else
          s.bind_null(2);
        std::vector<std::int64_t> expect, got;
        while (s.step()) expect.push_back(s.int64(0));
        for (const auto& row : rd.list_calls(agency, since, limit)) got.push_back(row.id);
        INFO(agency << " limit " << limit);
        CHECK(got == expect);
      }
}

TEST_CASE("a version 5 database upgrades to the page indexes with its transfers counted by state",
          "[component][store][query_plan]") {
  test::temp_dir dir;
  const auto path = dir.file("old.db");
  {
    store::db d(path, true, false);
    for (const auto& m : store::all_migrations())
      if (m.version <= 5) d.exec(m.sql);
    d.exec("PRAGMA user_version = 5");
    for (int i = 0; i < 30; ++i)
      d.exec(
          "INSERT INTO transfers(id, state, version, category, priority, mode, requester,"
          " responder, request_message_id, created_at, updated_at, expires_at, delivery_due,"
          " decision_due) VALUES('T-" +
          std::to_string(100 + i) + "', '" + (i % 3 ? "closed" : "accepted") +
          "', 1, 'fire.rescue', 'urgent', 'live', 'essex-fire', 'essex-police', 'm', 1, " +
          std::to_string(i) + ", 1, 1, 1)");
    store::migrate(d);
  }
  store::sqlite::reader rd(path);
  CHECK(rd.transfer_states() ==
        std::vector<std::pair<std::string, std::int64_t>>{{"accepted", 10}, {"closed", 20}});
  auto page = rd.list_transfers("essex-police", {"", "", std::nullopt, 3});
  REQUIRE(page.size() == 3);
  CHECK(page[0].id == "T-129");
  CHECK(page[2].id == "T-127");
  auto plan = plan_of(path, store::sqlite::sql::list_transfers(false, false, false));
  CHECK_FALSE(uses(plan, "transfers_by_requester"));
  CHECK_FALSE(uses(plan, "transfers_by_responder"));
}

TEST_CASE("the last sequence of every agency at start-up is found without reading every delivery",
          "[component][store][query_plan]") {
  history h;
  std::map<std::string, std::int64_t> expect;
  {
    store::db d(h.path, false, true);
    stmt s(d, "SELECT agency, MAX(seq) FROM deliveries GROUP BY agency");
    while (s.step()) expect[s.text(0)] = s.int64(1);
  }
  REQUIRE(expect.size() == agencies.size());
  store::sqlite::writer w(store::store_options{h.path, false, 0, {}});
  CHECK(w.last_seqs() == expect);

  test::temp_dir empty;
  store::sqlite::writer fresh(store::store_options{empty.file("bluelink.db"), false, 0, {}});
  CHECK(fresh.last_seqs().empty());
}
