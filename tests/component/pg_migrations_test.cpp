// The PostgreSQL schema's migrations (gateway/store/postgres/migrations): a fresh database gets
// the latest version once, a foreign or newer one is refused, the audit log cannot be changed.

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "gateway/store/postgres/migrations.hpp"
#include "gateway/store/postgres/pg.hpp"
#include "tools/pg_server/pg_server.hpp"

using bl::store::fault;
using bl::store::store_error;
using namespace bl::store::postgres;

TEST_CASE("an empty PostgreSQL database is migrated to the latest schema once", "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  connection c(pg.conninfo("bl"));
  CHECK(schema_version(c) == 0);
  migrate(c);
  int latest = all_pg_migrations().back().version;
  CHECK(schema_version(c) == latest);
  // Every table of the SQLite schema is there, and the counters that replace its caches.
  for (const char* t :
       {"messages", "transfers", "incident_numbers", "transfer_events", "deliveries", "endpoints",
        "audit", "settings", "users", "sessions", "calls", "call_imports", "phone_claims",
        "agency_seq", "transfer_day_seq", "audit_tail", "bluelink_counters", "pending_counts"})
    CHECK(c.query("SELECT to_regclass($1) IS NOT NULL", {p(t)}).boolean(0, 0));
  for (const char* i : {"calls_report", "calls_linked", "transfers_report", "transfers_due",
                        "messages_by_transfer", "users_username"})
    CHECK(c.query("SELECT to_regclass($1) IS NOT NULL", {p(i)}).boolean(0, 0));
  migrate(c);  // nothing to do the second time
  CHECK(schema_version(c) == latest);
  CHECK(pg.psql("SELECT application || ' ' || version FROM bluelink_schema", "bl") ==
        "bluelink " + std::to_string(latest));
}

TEST_CASE("two gateways migrating one database at once migrate it once", "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      try {
        connection c(pg.conninfo("bl"));
        migrate(c);
      } catch (...) {
        ++failures;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(pg.psql("SELECT count(*) FROM bluelink_schema", "bl") == "1");
}

TEST_CASE("a database that is not a Bluelink store is refused as corrupt", "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("other");
  pg.psql("CREATE TABLE invoices(id int)", "other");
  try {
    connection c(pg.conninfo("other"));
    migrate(c);
    FAIL("a foreign database was adopted");
  } catch (const store_error& e) {
    CHECK(e.kind() == fault::corrupt);
    CHECK_THAT(e.what(), Catch::Contains("not a Bluelink store"));
  }
  // And nothing was created in it.
  CHECK(pg.psql("SELECT to_regclass('bluelink_schema') IS NULL", "other") == "t");
}

TEST_CASE("a database with a newer schema than the gateway knows is refused", "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  connection c(pg.conninfo("bl"));
  migrate(c);
  pg.psql("UPDATE bluelink_schema SET version = version + 1", "bl");
  try {
    migrate(c);
    FAIL("a newer schema was accepted");
  } catch (const store_error& e) {
    CHECK(e.kind() == fault::corrupt);
    CHECK_THAT(e.what(), Catch::Contains("newer than this gateway"));
  }
  CHECK_FALSE(c.in_transaction());
}

TEST_CASE("the PostgreSQL audit log refuses updates, deletes and truncation", "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  connection c(pg.conninfo("bl"));
  migrate(c);
  pg.psql(
      "INSERT INTO audit VALUES (1, 1000, 'fire', 'message.accepted', 'm1', NULL, '{}', "
      "repeat('0', 64), repeat('1', 64))",
      "bl");
  CHECK_THROWS_WITH(pg.psql("UPDATE audit SET actor = 'x'", "bl"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(pg.psql("DELETE FROM audit", "bl"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(pg.psql("TRUNCATE audit", "bl"), Catch::Contains("append-only"));
  CHECK(pg.psql("SELECT count(*) FROM audit", "bl") == "1");
}

TEST_CASE(
    "migration 3 counts the unacknowledged deliveries already stored per recipient and sender",
    "[postgres]") {
  bl::test::pg_server pg(false);
  pg.create_database("bl");
  connection c(pg.conninfo("bl"));
  migrate(c, 2);
  REQUIRE(schema_version(c) == 2);
  // Police has acknowledged up to 2 of 5; fire's queue has never been acknowledged.
  pg.psql(
      "INSERT INTO messages(id, type, from_agency, to_agency, mode, stored_at, doc) VALUES"
      " ('m1', 'transfer.request', 'fire', 'police', 'live', 1, '{}'),"
      " ('m2', 'transfer.request', 'fire', 'police', 'live', 1, '{}'),"
      " ('m3', 'transfer.request', 'fire', 'police', 'live', 1, '{}'),"
      " ('m4', 'transfer.request', 'ambulance', 'police', 'live', 1, '{}'),"
      " ('m5', 'transfer.expired', 'bluelink', 'police', 'live', 1, '{}'),"
      " ('m6', 'transfer.accept', 'police', 'fire', 'live', 1, '{}');"
      "INSERT INTO deliveries(agency, seq, message_id, type, created_at) VALUES"
      " ('police', 1, 'm1', 'transfer.request', 1), ('police', 2, 'm2', 'transfer.request', 1),"
      " ('police', 3, 'm3', 'transfer.request', 1), ('police', 4, 'm4', 'transfer.request', 1),"
      " ('police', 5, 'm5', 'transfer.expired', 1), ('fire', 1, 'm6', 'transfer.accept', 1);"
      "INSERT INTO endpoints(agency, acked_upto) VALUES ('police', 2);",
      "bl");
  migrate(c, 3);
  CHECK(schema_version(c) == 3);
  CHECK(pg.psql("SELECT recipient || ' ' || sender || ' ' || n FROM pending_counts"
                " ORDER BY recipient, sender",
                "bl") == "fire police 1\npolice ambulance 1\npolice bluelink 1\npolice fire 1");
}
