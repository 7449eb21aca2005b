// The PostgreSQL reader's pages cost the page, not the history (issue 15, migration 2): on tens
// of thousands of transfers, calls, events and deliveries, the server's own account of each query
// (EXPLAIN ANALYZE) shows index scans, no sequential scan of a table that grows with history, and
// no step that handles more rows than a few pages' worth. Asserted on plan nodes and the rows each
// one produced or filtered out, not on timings; with the plan PostgreSQL makes for the given
// values, which is the plan the reader runs (its connections set plan_cache_mode =
// force_custom_plan: a generic plan, not knowing the page size, may join a page of calls to the
// whole table).

#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "gateway/store/postgres/migrations.hpp"
#include "gateway/store/postgres/pg.hpp"
#include "gateway/store/postgres/pg_reader_sql.hpp"
#include "tools/pg_server/pg_server.hpp"

using nlohmann::json;
using namespace bl::store::postgres;

namespace {

constexpr int transfers = 40'000;
constexpr int page_size = 50;

// Four agencies, each a party to about half of the transfers; every transfer has its request
// message, the requester's incident number, a timeline event and a delivery to the responder.
void generate(connection& c) {
  c.exec(R"sql(
BEGIN;
CREATE TEMP TABLE agencies(n int PRIMARY KEY, name text NOT NULL);
INSERT INTO agencies VALUES (0, 'essex-fire'), (1, 'essex-police'), (2, 'eeast-ambulance'),
                            (3, 'herts-fire');
CREATE TEMP TABLE g AS
  SELECT i, 'T-2026' || lpad((101 + i / 10000)::text, 4, '0') || '-' || lpad(i::text, 6, '0') AS id,
         (SELECT name FROM agencies WHERE n = i % 4) AS requester,
         (SELECT name FROM agencies WHERE n = (i % 4 + 1 + (i / 4) % 3) % 4) AS responder,
         1767225600000 + i::bigint * 60000 AS at
  FROM generate_series(1, 40000) i;
INSERT INTO messages(id, type, from_agency, to_agency, transfer_id, version, mode, sent_at,
                     stored_at, doc, receipt)
  SELECT requester || ':m' || i, 'transfer.request', requester, responder, id, 1, 'live', at, at,
         '{"id":"' || requester || ':m' || i || '","body":{"summary":"RTC ' || i || '"}}', '{}'
  FROM g;
INSERT INTO transfers(id, state, version, category, priority, mode, requester, responder,
                      request_message_id, created_at, updated_at, expires_at, delivery_due,
                      decision_due)
  SELECT id, (ARRAY['submitted', 'accepted', 'closed', 'declined', 'closed'])[1 + i % 5], 2,
         (ARRAY['fire.rescue', 'police.traffic_management', 'ambulance.casualty_care'])[1 + i % 3],
         'routine', 'live', requester, responder, requester || ':m' || i, at,
         at + (i % 7) * 60000, at + 3600000, at + 120000, at + 600000
  FROM g;
INSERT INTO incident_numbers SELECT id, requester, 'INC-' || i, at FROM g;
INSERT INTO transfer_events(id, transfer_id, at, kind, actor, message_id, to_state, version,
                            detail)
  SELECT i, id, at, 'transfer.request', requester, requester || ':m' || i, 'submitted', 1, '{}'
  FROM g;
UPDATE bluelink_counters SET value = 40000 WHERE name = 'transfer_events';
INSERT INTO deliveries(agency, seq, message_id, transfer_id, type, created_at)
  SELECT responder, row_number() OVER (PARTITION BY responder ORDER BY i),
         requester || ':m' || i, id, 'transfer.request', at
  FROM g;
INSERT INTO agency_seq SELECT agency, max(seq) FROM deliveries GROUP BY agency;
INSERT INTO endpoints SELECT agency, max(seq) - 40 FROM deliveries GROUP BY agency;
INSERT INTO calls(source, from_agency, to_agency, started_at, duration_s, emergency, reason,
                  logged_by, created_at)
  SELECT 'console', requester, responder, at, 60, false, 'other', 'u', at FROM g WHERE i % 2 = 0;
COMMIT;
)sql");
  // As autovacuum would in a live database: statistics, and the visibility map that lets an
  // index answer without visiting the table.
  c.exec("VACUUM ANALYZE");
}

// The plan PostgreSQL runs `sql` with for these values, run.
json explain(connection& c, const std::string& sql, const params& ps) {
  return json::parse(c.query("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, ps).text(0, 0))[0]["Plan"];
}

// Every node of a plan, the subplans (incident numbers, summaries) included.
void walk(const json& node, const std::function<void(const json&)>& f) {
  f(node);
  if (node.contains("Plans"))
    for (const auto& child : node["Plans"]) walk(child, f);
}

double rows_handled(const json& n) {
  double loops = n.value("Actual Loops", 1.0);
  return (n.value("Actual Rows", 0.0) + n.value("Rows Removed by Filter", 0.0) +
          n.value("Rows Removed by Join Filter", 0.0) +
          n.value("Rows Removed by Index Recheck", 0.0)) *
         loops;
}

// The plan reads indexes only (no table that grows with history scanned whole, no bitmap of an
// agency's rows), and no node handles more than `bound` rows.
void reads_a_page(const json& plan, double bound, const std::string& what) {
  static const std::set<std::string> history = {"transfers",  "messages", "transfer_events",
                                                "deliveries", "calls",    "incident_numbers",
                                                "audit"};
  std::ostringstream shape;
  walk(plan, [&](const json& n) {
    shape << n.value("Node Type", "?") << "(" << n.value("Relation Name", "")
          << n.value("Index Name", "") << ": " << rows_handled(n) << ") ";
  });
  INFO(what << ": " << shape.str());
  walk(plan, [&](const json& n) {
    std::string type = n.value("Node Type", "");
    std::string rel = n.value("Relation Name", "");
    if (history.count(rel)) {
      CHECK(type != "Seq Scan");
      CHECK(type != "Bitmap Heap Scan");
    }
    CHECK(rows_handled(n) <= bound);
  });
}

}  // namespace

TEST_CASE("the PostgreSQL reader's pages read index ranges, not an agency's history",
          "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  connection c(pg.conninfo("bl"));
  migrate(c);
  generate(c);
  REQUIRE(c.query("SELECT count(*) FROM transfers").int64(0, 0) == transfers);
  // Each agency is a party to about half of the history: a sort of its rows would handle
  // 20,000 of them.
  const double bound = 3 * page_size + 10;
  const param limit = p(std::int64_t{page_size});
  const param agency = p("essex-police");
  const param since = p(std::int64_t{1767225600000 + 30'000LL * 60000});
  const std::int64_t last_event = 40'000;

  reads_a_page(explain(c, sql::list_transfers(false, false, false), {agency, limit}), bound,
               "transfer list");
  reads_a_page(explain(c, sql::list_transfers(true, false, false), {agency, p("accepted"), limit}),
               bound, "transfer list by state");
  // A category is a third of the transfers: the index range handles about three rows for each
  // one it returns, and checks the category in the index.
  reads_a_page(
      explain(c, sql::list_transfers(false, true, false), {agency, p("fire.rescue"), limit}),
      3 * bound, "transfer list by category");
  reads_a_page(explain(c, sql::list_transfers(true, true, true),
                       {agency, p("closed"), p("fire.rescue"), since, limit}),
               6 * bound, "transfer list by state, category and since");
  reads_a_page(explain(c, sql::list_transfers(false, false, true), {agency, since, limit}), bound,
               "transfer list since");
  reads_a_page(explain(c, sql::inbox,
                       {agency, p(std::int64_t{10'000 - 40}), p(std::int64_t{1'000'000}), limit}),
               bound, "inbox");
  reads_a_page(explain(c, sql::events_after(false),
                       {p(last_event - 200), p(std::int64_t{1'000'000}), limit}),
               bound, "console catch-up");
  reads_a_page(explain(c, sql::events_after(true),
                       {p(last_event - 200), p(std::int64_t{1'000'000}), limit, agency}),
               bound, "console catch-up of one agency");
  reads_a_page(explain(c, sql::list_calls(false), {agency, limit}), bound, "call list");
  reads_a_page(explain(c, sql::list_calls(true), {agency, since, limit}), bound, "call list since");
  reads_a_page(explain(c, sql::last_seq, {agency}), 2, "last_seq");
  reads_a_page(explain(c, sql::last_event_id, {}), 2, "last_event_id");
  // The backlog is 40 per agency: four probes and four counts of 40.
  reads_a_page(explain(c, sql::queue_depths, {}), 200, "queue depths");
  reads_a_page(explain(c, sql::transfer_states, {}), 10, "transfer states");
  // The counts the triggers keep are the counts.
  CHECK(c.query("SELECT string_agg(state || '=' || n, ',' ORDER BY state) FROM"
                " transfer_state_counts")
            .text(0, 0) == c.query("SELECT string_agg(state || '=' || n, ',' ORDER BY state) FROM"
                                   " (SELECT state, count(*) AS n FROM transfers GROUP BY state) s")
                               .text(0, 0));
}
