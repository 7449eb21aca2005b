// `bluelink store copy` (gateway/store/store_copy): a SQLite store holding every kind of row,
// copied into a real PostgreSQL server, compared table by table and row by row; a PostgreSQL
// writer opened on the copy continues its numbers where the SQLite store stopped; a non-empty
// target is refused; a copy interrupted half-way leaves the target empty and a re-run succeeds.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "gateway/store/audit_verify.hpp"
#include "gateway/store/postgres/pg.hpp"
#include "gateway/store/postgres/pg_writer.hpp"
#include "gateway/store/sqlite/account_store.hpp"
#include "gateway/store/sqlite/call_store.hpp"
#include "gateway/store/sqlite/migrations.hpp"
#include "gateway/store/sqlite/sqlite.hpp"
#include "gateway/store/sqlite/writer.hpp"
#include "gateway/store/store_copy.hpp"
#include "tests/support/temp_dir.hpp"
#include "tools/pg_server/pg_server.hpp"

using bl::from_ms;
using bl::store::fault;
using bl::store::store_error;
using bl::store::postgres::connection;
using bl::store::postgres::pg_writer;

namespace {

const bl::time_point t0 = from_ms(1'764'900'000'000);  // 2025-12-05T02:00:00Z

bl::transfer make_transfer(const std::string& id, bl::time_point at) {
  bl::transfer t;
  t.id = id;
  t.version = 1;
  t.category = "traffic_management";
  t.requester = "fire";
  t.responder = "police";
  t.request_message_id = "fire:req-" + id;
  t.created_at = t.updated_at = at;
  t.expires_at = at + std::chrono::hours(1);
  t.delivery_due = at + std::chrono::minutes(2);
  t.decision_due = at + std::chrono::minutes(10);
  return t;
}

// Text that COPY must escape, and text that it must not touch.
const std::string awkward =
    "{\"text\":\"tab\\there\",\"raw\":\"line one\nline two\\r\\n\\\\N back\\\\slash "
    "\\u00e9 \xc3\xa9 \xe2\x80\x94 'quoted'\"}";

// A store with every kind of row the gateway writes, through the SQLite writer and the account
// and call stores, as a site that has run for a while would have.
void fill_sqlite(const std::string& path, int transfers) {
  bl::store::store_options opts(path);
  {
    bl::store::sqlite::writer w(opts);
    w.begin();
    for (int i = 0; i < transfers; ++i) {
      bl::time_point at = t0 + std::chrono::minutes(i);
      std::string id = w.next_transfer_id(at);
      auto t = make_transfer(id, at);
      if (i % 3 == 1) t.delivery_alerted = true;
      w.save_transfer(t, true);
      w.insert_message(t.request_message_id, "transfer.request", "fire", "police", id, 1, "live",
                       at, at, i == 0 ? awkward : "{\"n\":" + std::to_string(i) + "}",
                       "{\"ok\":true,\"transfer_id\":\"" + id + "\"}");
      // Some came as a partner's document (with and without a digest and a first answer).
      if (i % 3 == 0)
        w.insert_original(t.request_message_id,
                          {"CAP 1.2", "application/cap+xml",
                           i == 0 ? awkward : "<alert>Übung " + std::to_string(i) + "</alert>",
                           i % 2 ? "" : "digest-" + std::to_string(i), i % 2 ? "{\"a\":1}" : ""},
                          at);
      w.record_incident(id, "fire", "F-" + std::to_string(1000 + i), at);
      if (i % 2 == 0) w.record_incident(id, "police", "P/" + std::to_string(i), at);
      w.add_event({id, at, "transfer.request", "fire", t.request_message_id, "", "submitted", 1,
                   i == 0 ? awkward : "{}"});
      w.enqueue("police", t.request_message_id, id, "transfer.request", at, "fire");
      if (i % 4 == 0)
        w.enqueue("ambulance", t.request_message_id, id, "transfer.request", at, "fire");
      w.audit(at, "fire", "message.in", t.request_message_id, id,
              i == 0 ? awkward : "{\"i\":" + std::to_string(i) + "}");
    }
    w.audit(t0, "bluelink", "gateway.start", "", "", "{}");
    w.ack("police", transfers / 2, t0 + std::chrono::hours(1));
    bl::store::call_record c;
    c.source = "console";
    c.agency = c.from_agency = "fire";
    c.to_agency = "police";
    c.started_at = c.created_at = t0;
    c.duration_s = 95;
    c.emergency = true;
    c.reason = "traffic_management";
    c.transfer_id = "";
    c.logged_by = "sam";
    c.note = "rang about\tthe A12\nsecond line";
    w.insert_call(c);
    c.source = "api";
    c.duration_s.reset();
    c.emergency = false;
    c.exercise = true;
    c.note.clear();
    w.insert_call(c);
    auto first = w.load_transfer(w.due_transfers(t0 + std::chrono::hours(48), 1).at(0));
    REQUIRE(first);
    w.insert_phone_claim({first->id, "fire", "delivery_overdue", "sam", "Sam Patel", "police",
                          t0 + std::chrono::minutes(3)});
    w.commit();
  }
  {
    auto accounts = bl::store::open_sqlite_account_store(opts);
    auto id = accounts->add_user({"sam", "Sam Patel", "operator", "fire", "$argon2id$v=19$x", 1});
    REQUIRE(id);
    accounts->add_user({"kim", "Kim Hall", "admin", "", "$argon2id$v=19$y", 2});
    accounts->open_session({std::string(64, 'a'), *id, "csrf-1", 10, 1'000'000, "10.0.0.7"}, {});
    accounts->open_session({std::string(64, 'b'), *id, "csrf-2", 20, 2'000'000, ""}, {});
    accounts->end_session(std::string(64, 'b'), 30);
  }
  {
    auto calls = bl::store::open_sqlite_call_store(opts);
    auto imp = calls->begin_import(1'000);
    imp->insert_calls({{"import:1", "fire", "police", 5'000, 60, true}});
    imp->finish({{"import:2", "police", "ambulance", 6'000, 30, false}},
                [](const bl::store::batch_result& r) {
                  bl::store::import_ledger_entry e;
                  e.file_name = "calls-2025-12.csv";
                  e.file_sha256 = std::string(64, 'c');
                  e.imported_at_ms = 7'000;
                  e.rows = 3;
                  e.imported = static_cast<std::int64_t>(r.inserted) + 1;
                  e.already_imported = 0;
                  e.skipped = 1;
                  e.summary = "{\"bad_time\":1}";
                  return e;
                });
  }
  bl::store::db d(path, false, false);
  d.exec(
      "INSERT INTO settings(key, value) VALUES ('cost_per_call_pence', '400'),"
      " ('note', 'back\\slash\ttab')");
}

// Each table's rows as text, in key order, as both engines print them: SQLite's 0/1 flags as
// PostgreSQL's f/t, NULL as a marker no value holds.
struct table_key {
  std::string name, order_by;
  std::set<std::string> flags;
};
const std::vector<table_key> compared = {
    {"settings", "key", {}},          {"messages", "id", {}},
    {"originals", "message_id", {}},  {"transfers", "id", {"delivery_alerted", "decision_alerted"}},
    {"legal_holds", "id", {}},        {"incident_numbers", "transfer_id, agency", {}},
    {"transfer_events", "id", {}},    {"deliveries", "agency, seq", {}},
    {"endpoints", "agency", {}},      {"audit", "seq", {}},
    {"access_log", "seq", {}},        {"users", "id", {"disabled"}},
    {"sessions", "token_sha256", {}}, {"calls", "id", {"emergency", "exercise"}},
    {"call_imports", "id", {}},       {"phone_claims", "transfer_id, agency, prompt", {}},
};

std::vector<std::string> sqlite_columns(bl::store::db& d, const std::string& table) {
  bl::store::stmt s(d, "SELECT name FROM pragma_table_info(?1) ORDER BY cid");
  s.bind(1, table);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

std::vector<std::string> sqlite_rows(bl::store::db& d, const table_key& t,
                                     const std::vector<std::string>& cols) {
  std::string sql = "SELECT ";
  for (std::size_t i = 0; i < cols.size(); ++i) sql += (i ? ", " : "") + cols[i];
  bl::store::stmt s(d, sql + " FROM " + t.name + " ORDER BY " + t.order_by);
  std::vector<std::string> out;
  while (s.step()) {
    std::string row;
    for (std::size_t i = 0; i < cols.size(); ++i) {
      int c = static_cast<int>(i);
      std::string v = s.is_null(c) ? "<NULL>" : s.text(c);
      if (t.flags.count(cols[i]) && !s.is_null(c)) v = s.int64(c) ? "t" : "f";
      row += v + "|";
    }
    out.push_back(row);
  }
  return out;
}

std::vector<std::string> pg_rows(connection& c, const table_key& t,
                                 const std::vector<std::string>& cols) {
  std::string sql = "SELECT ";
  for (std::size_t i = 0; i < cols.size(); ++i) sql += (i ? ", " : "") + cols[i];
  auto r = c.query(sql + " FROM " + t.name + " ORDER BY " + t.order_by);
  std::vector<std::string> out;
  for (int row = 0; row < r.rows(); ++row) {
    std::string line;
    for (std::size_t i = 0; i < cols.size(); ++i) {
      int c2 = static_cast<int>(i);
      line += (r.is_null(row, c2) ? std::string("<NULL>") : r.text(row, c2)) + "|";
    }
    out.push_back(line);
  }
  return out;
}

// Both sides sorted as text: the engines' collations may order the keys differently.
void compare_every_table(const std::string& sqlite_path, connection& c) {
  bl::store::db d(sqlite_path, false, true);
  for (const auto& t : compared) {
    INFO("table " << t.name);
    auto cols = sqlite_columns(d, t.name);
    REQUIRE_FALSE(cols.empty());
    auto a = sqlite_rows(d, t, cols);
    auto b = pg_rows(c, t, cols);
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    CHECK(a.size() == b.size());
    CHECK(a == b);
  }
}

std::int64_t verify_chain(connection& c) {
  auto r =
      c.query("SELECT " + std::string(bl::store::audit_chain_columns) + " FROM audit ORDER BY seq");
  // The checks of `bluelink audit verify` (store/audit_verify.hpp).
  bl::store::audit_chain_check chain;
  bl::store::audit_report rep;
  for (int i = 0; i < r.rows(); ++i) {
    INFO(rep.problem);
    REQUIRE(chain.next(bl::store::audit_chain_row_of(r, i), rep));
  }
  chain.finish(rep);
  REQUIRE(rep.ok);
  auto tail = c.query("SELECT seq, hash FROM audit_tail");
  CHECK(tail.int64(0, 0) == r.rows());
  CHECK(tail.text(0, 1) == chain.last_hash());
  return r.rows();
}

std::int64_t count(connection& c, const std::string& table) {
  return c.query("SELECT count(*) FROM " + table).int64(0, 0);
}

bl::store::copy_options options(const std::string& sqlite, const std::string& conninfo) {
  bl::store::copy_options o;
  o.sqlite_path = sqlite;
  o.pg_conninfo = conninfo;
  return o;
}

}  // namespace

TEST_CASE(
    "store copy moves every row of a SQLite store to PostgreSQL and the gateway continues "
    "where it stopped",
    "[postgres]") {
  bl::test::temp_dir dir;
  std::string file = dir.file("bluelink.db");
  fill_sqlite(file, 40);
  bl::test::pg_server pg;
  pg.create_database("bl");

  std::vector<bl::store::copy_progress> seen;
  auto o = options(file, pg.conninfo("bl"));
  o.batch_rows = 7;
  o.progress = [&](const bl::store::copy_progress& p) { seen.push_back(p); };
  auto sum = bl::store::copy_sqlite_to_postgres(o);

  CHECK(sum.source_schema == bl::store::all_migrations().back().version);
  CHECK(sum.target_schema >= 1);
  REQUIRE(sum.tables.size() == compared.size());
  for (const auto& t : sum.tables) {
    INFO(t.table);
    CHECK(t.source_rows == t.target_rows);
  }
  // 40 request audit rows and one gateway.start.
  CHECK(sum.audit_rows == 41);
  // Progress: batches of 7 within a table, and every table finished once.
  std::map<std::string, int> finished;
  bool batch_seen = false;
  for (const auto& p : seen) {
    if (p.finished) ++finished[p.table];
    if (p.table == "messages" && !p.finished && p.done == 7 && p.total == 40) batch_seen = true;
  }
  CHECK(batch_seen);
  for (const auto& t : compared) CHECK(finished[t.name] == 1);
  CHECK(finished["audit chain (verify)"] == 1);
  bool noted = false;
  for (const auto& n : sum.notes)
    noted = noted || n.find("transfer_state_counts") != std::string::npos;
  CHECK(noted);

  connection c(pg.conninfo("bl"));
  compare_every_table(file, c);
  CHECK(verify_chain(c) == 41);

  // What the SQLite writer would have handed out next, from the source file.
  std::int64_t sqlite_next_police, sqlite_next_event;
  std::string sqlite_next_id;
  {
    bl::store::sqlite::writer w{bl::store::store_options(file)};
    w.begin();
    sqlite_next_police = w.enqueue("police", "x", "", "transfer.update", t0);
    sqlite_next_id = w.next_transfer_id(t0);
    w.add_event({"T", t0, "note", "fire", "", "", "", 0, "{}"});
    sqlite_next_event = w.last_event_id();
    w.rollback();
  }

  // A gateway on the target continues: the next delivery number, transfer id, event id, audit row
  // and call id follow the source's last ones.
  pg_writer w(pg.conninfo("bl"));
  w.begin();
  CHECK(w.last_seq("police") == 40);
  CHECK(w.last_seq("ambulance") == 10);
  CHECK(w.acked_upto("police") == 20);
  CHECK(w.enqueue("police", "fire:next", "", "transfer.update", t0, "fire") == sqlite_next_police);
  CHECK(w.enqueue("ambulance", "fire:next", "", "transfer.update", t0, "fire") == 11);
  CHECK(w.next_transfer_id(t0) == sqlite_next_id);
  CHECK(sqlite_next_id == "T-20251205-000041");
  w.add_event({"T", t0, "note", "fire", "", "", "", 0, "{}"});
  CHECK(w.last_event_id() == sqlite_next_event);
  bl::store::call_record call;
  call.source = "console";
  call.agency = call.from_agency = "fire";
  call.to_agency = "police";
  call.started_at = call.created_at = t0;
  call.reason = "other";
  call.logged_by = "sam";
  CHECK(w.insert_call(call) == 5);  // two logged, two imported
  w.audit(t0, "bluelink", "gateway.start", "", "", "{}");
  w.commit();
  CHECK(verify_chain(c) == 42);
  c.query(
      "INSERT INTO users(username, display_name, role, password_hash, created_at, updated_at)"
      " VALUES('lee', 'Lee', 'manager', 'h', 1, 1)");
  CHECK(c.query("SELECT id FROM users WHERE username = 'lee'").int64(0, 0) == 3);
  c.query(
      "INSERT INTO call_imports(file_name, file_sha256, imported_at, rows, imported,"
      " already_imported, skipped, summary) VALUES('f', 'h', 1, 0, 0, 0, 0, '{}')");
  CHECK(c.query("SELECT max(id) FROM call_imports").int64(0, 0) == 2);
}

TEST_CASE("store copy refuses a target that already holds data and leaves it as it was",
          "[postgres]") {
  bl::test::temp_dir dir;
  std::string file = dir.file("bluelink.db");
  fill_sqlite(file, 3);
  bl::test::pg_server pg;
  pg.create_database("bl");
  bl::store::copy_sqlite_to_postgres(options(file, pg.conninfo("bl")));

  connection c(pg.conninfo("bl"));
  auto before = count(c, "messages");
  try {
    bl::store::copy_sqlite_to_postgres(options(file, pg.conninfo("bl")));
    FAIL("a second copy into the same database was not refused");
  } catch (const store_error& e) {
    CHECK(e.kind() == fault::conflict);
    CHECK_THAT(e.what(),
               Catch::Contains("not empty") && Catch::Contains("only fills an empty store"));
  }
  CHECK(count(c, "messages") == before);
  CHECK(verify_chain(c) == 4);

  // A database that a gateway has only counted in (no rows but a moved counter) is not empty.
  pg.create_database("used");
  {
    pg_writer w(pg.conninfo("used"));
    w.begin();
    w.audit(t0, "bluelink", "gateway.start", "", "", "{}");
    w.commit();
  }
  CHECK_THROWS_WITH(bl::store::copy_sqlite_to_postgres(options(file, pg.conninfo("used"))),
                    Catch::Contains("not empty"));

  // A database that is not Bluelink's is refused by the migration, untouched.
  pg.create_database("other");
  pg.psql("CREATE TABLE invoices(id int)", "other");
  try {
    bl::store::copy_sqlite_to_postgres(options(file, pg.conninfo("other")));
    FAIL("a foreign database was not refused");
  } catch (const store_error& e) {
    CHECK(e.kind() == fault::corrupt);
    CHECK_THAT(e.what(), Catch::Contains("not a Bluelink store"));
  }
}

TEST_CASE("a store copy interrupted half-way leaves the target empty and a re-run completes it",
          "[postgres]") {
  bl::test::temp_dir dir;
  std::string file = dir.file("bluelink.db");
  fill_sqlite(file, 60);
  bl::test::pg_server pg;
  pg.create_database("bl");

  SECTION("the connection is cut in the middle of a table") {
    auto o = options(file, pg.conninfo("bl"));
    o.batch_rows = 10;
    connection admin(pg.conninfo("postgres"));
    bool cut = false;
    o.progress = [&](const bl::store::copy_progress& p) {
      // Terminate the copy's backend as a crash or a network cut would.
      if (!cut && p.table == "transfer_events" && p.done == 20) {
        cut = true;
        admin.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'bluelink store copy'");
      }
    };
    try {
      bl::store::copy_sqlite_to_postgres(o);
      FAIL("the copy survived its connection being cut");
    } catch (const store_error& e) {
      CHECK(e.kind() == fault::unavailable);
    }
    REQUIRE(cut);
  }
  SECTION("the copy is abandoned by its caller (Ctrl-C in the CLI) in the middle of a table") {
    auto o = options(file, pg.conninfo("bl"));
    o.batch_rows = 10;
    o.progress = [&](const bl::store::copy_progress& p) {
      if (p.table == "deliveries" && p.done == 30) throw std::runtime_error("interrupted");
    };
    CHECK_THROWS_WITH(bl::store::copy_sqlite_to_postgres(o), "interrupted");
  }
  SECTION("the server is killed in the middle of a table and started again") {
    auto o = options(file, pg.conninfo("bl"));
    o.batch_rows = 10;
    o.progress = [&](const bl::store::copy_progress& p) {
      if (p.table == "audit" && p.done == 40) pg.kill();
    };
    CHECK_THROWS_AS(bl::store::copy_sqlite_to_postgres(o), store_error);
    pg.start();
  }

  // Nothing of the interrupted copy is there: an empty store, not a partial one.
  connection c(pg.conninfo("bl"));
  for (const auto& t : compared) {
    INFO(t.name);
    CHECK(count(c, t.name) == 0);
  }
  CHECK(c.query("SELECT seq FROM audit_tail").int64(0, 0) == 0);

  auto sum = bl::store::copy_sqlite_to_postgres(options(file, pg.conninfo("bl")));
  CHECK(sum.audit_rows == 61);
  compare_every_table(file, c);
  CHECK(verify_chain(c) == 61);
}

TEST_CASE("store copy refuses a SQLite store that another process has open", "[postgres]") {
  bl::test::temp_dir dir;
  std::string file = dir.file("bluelink.db");
  fill_sqlite(file, 2);
  bl::test::pg_server pg;
  pg.create_database("bl");

  // A child process holds the file open as a stopped-but-not-really gateway would.
  int ready[2], release[2];
  REQUIRE(pipe(ready) == 0);
  REQUIRE(pipe(release) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    {
      bl::store::db d(file, false, false);
      bl::store::stmt s(d, "SELECT count(*) FROM transfers");
      s.step();
      char b = 1;
      (void)!write(ready[1], &b, 1);
      (void)!read(release[0], &b, 1);
    }
    _exit(0);
  }
  char b = 0;
  REQUIRE(read(ready[0], &b, 1) == 1);
  try {
    bl::store::copy_sqlite_to_postgres(options(file, pg.conninfo("bl")));
    FAIL("the copy ran while another process had the file open");
  } catch (const store_error& e) {
    CHECK(e.kind() == fault::busy);
    CHECK_THAT(e.what(), Catch::Contains("open in another process") &&
                             Catch::Contains("pid " + std::to_string(child)) &&
                             Catch::Contains("stop the gateway"));
  }
  REQUIRE(write(release[1], &b, 1) == 1);
  int status = 0;
  waitpid(child, &status, 0);
  for (int fd : {ready[0], ready[1], release[0], release[1]}) close(fd);

  // Once it has closed the file, the copy runs.
  auto sum = bl::store::copy_sqlite_to_postgres(options(file, pg.conninfo("bl")));
  CHECK(sum.audit_rows == 3);
}

TEST_CASE("store copy refuses a SQLite file that is not a Bluelink store or is missing",
          "[postgres]") {
  bl::test::temp_dir dir;
  bl::test::pg_server pg;
  pg.create_database("bl");
  CHECK_THROWS_WITH(
      bl::store::copy_sqlite_to_postgres(options(dir.file("none.db"), pg.conninfo("bl"))),
      Catch::Contains("no SQLite store at"));
  {
    bl::store::db d(dir.file("foreign.db"), true, false);
    d.exec("CREATE TABLE t(x)");
  }
  CHECK_THROWS_WITH(
      bl::store::copy_sqlite_to_postgres(options(dir.file("foreign.db"), pg.conninfo("bl"))),
      Catch::Contains("is not a Bluelink SQLite store"));
  // A table this copy does not know would be lost: refused, naming it.
  std::string file = dir.file("extra.db");
  fill_sqlite(file, 1);
  {
    bl::store::db d(file, false, false);
    d.exec("CREATE TABLE local_notes(x TEXT)");
  }
  CHECK_THROWS_WITH(bl::store::copy_sqlite_to_postgres(options(file, pg.conninfo("bl"))),
                    Catch::Contains("'local_notes'") && Catch::Contains("would be lost"));
  // Refused before the target was touched: not even migrated.
  CHECK(pg.psql("SELECT to_regclass('bluelink_schema') IS NULL", "bl") == "t");
}
