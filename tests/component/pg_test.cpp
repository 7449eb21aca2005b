// The libpq wrapper (gateway/store/postgres/pg): store faults from real server errors, and no
// password in any message.

#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "gateway/store/postgres/pg.hpp"
#include "tools/pg_server/pg_server.hpp"

using bl::store::fault;
using bl::store::store_error;
using namespace bl::store::postgres;

namespace {

// The fault and message of what `f` throws; fails the test if it throws nothing.
template <class F>
store_error error_of(F&& f) {
  try {
    f();
  } catch (const store_error& e) {
    return e;
  }
  FAIL("no store_error was thrown");
  return store_error(fault::unavailable, "");
}

}  // namespace

TEST_CASE("passwords are redacted from connection strings in every form", "[postgres]") {
  CHECK(redact_conninfo("host=/tmp port=5432 password=hunter2 user=a") ==
        "host=/tmp port=5432 password=*** user=a");
  CHECK(redact_conninfo("password = 'hunter 2\\' x' dbname=b") == "password = *** dbname=b");
  CHECK(redact_conninfo("user=a password=") == "user=a password=***");
  CHECK(redact_conninfo("postgresql://bob:hunter2@db.example/bl?sslmode=require") ==
        "postgresql://bob:***@db.example/bl?sslmode=require");
  CHECK(redact_conninfo("postgres://db/bl?user=bob&password=hunter2&x=1") ==
        "postgres://db/bl?user=bob&password=***&x=1");
  CHECK(redact_conninfo("host=/tmp dbname=passwordless") == "host=/tmp dbname=passwordless");
}

TEST_CASE("SQLSTATEs map to the store's faults", "[postgres]") {
  CHECK(fault_from_sqlstate("53100") == fault::full);
  CHECK(fault_from_sqlstate("53200") == fault::full);
  CHECK(fault_from_sqlstate("40001") == fault::conflict);
  CHECK(fault_from_sqlstate("40P01") == fault::conflict);
  CHECK(fault_from_sqlstate("23505") == fault::conflict);
  CHECK(fault_from_sqlstate("55P03") == fault::busy);
  CHECK(fault_from_sqlstate("57014") == fault::busy);
  CHECK(fault_from_sqlstate("08006") == fault::unavailable);
  CHECK(fault_from_sqlstate("57P01") == fault::unavailable);
  CHECK(fault_from_sqlstate("57P03") == fault::unavailable);
  CHECK(fault_from_sqlstate("XX001") == fault::corrupt);
  CHECK(fault_from_sqlstate("XX002") == fault::corrupt);
  CHECK(fault_from_sqlstate("3D000") == fault::unavailable);
  CHECK(fault_from_sqlstate("28P01") == fault::unavailable);
  CHECK(fault_from_sqlstate("42601") == fault::unavailable);
  CHECK(fault_from_sqlstate("") == fault::unavailable);
}

TEST_CASE("the server's own errors become store faults with their SQLSTATE", "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  connection a(pg.conninfo("bl"));
  a.exec("CREATE TABLE t(id int PRIMARY KEY, x int)");
  a.query("INSERT INTO t VALUES ($1, $2)", {p(std::int64_t{1}), p(std::int64_t{10})});

  SECTION("a duplicate key is a conflict") {
    auto e = error_of([&] { a.prepared("INSERT INTO t VALUES ($1, 0)", {p(std::int64_t{1})}); });
    CHECK(e.kind() == fault::conflict);
    CHECK_THAT(e.what(), Catch::Contains("23505") && Catch::Contains("duplicate key"));
  }
  SECTION("a serialization failure between two connections is a conflict") {
    connection b(pg.conninfo("bl"));
    a.exec("BEGIN ISOLATION LEVEL SERIALIZABLE");
    CHECK(a.query("SELECT x FROM t WHERE id = 1").int64(0, 0) == 10);
    b.exec("UPDATE t SET x = 11 WHERE id = 1");
    auto e = error_of([&] { a.exec("UPDATE t SET x = 12 WHERE id = 1"); });
    CHECK(e.kind() == fault::conflict);
    CHECK_THAT(e.what(), Catch::Contains("40001"));
    a.exec("ROLLBACK");
  }
  SECTION("a statement timeout is busy") {
    a.exec("SET statement_timeout = 50");
    auto e = error_of([&] { a.exec("SELECT pg_sleep(5)"); });
    CHECK(e.kind() == fault::busy);
    CHECK_THAT(e.what(), Catch::Contains("57014"));
  }
  SECTION("a lock not granted in time is busy") {
    connection b(pg.conninfo("bl"));
    b.exec("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
    a.exec("SET lock_timeout = 50");
    auto e = error_of([&] { a.exec("SELECT * FROM t FOR UPDATE"); });
    CHECK(e.kind() == fault::busy);
    CHECK_THAT(e.what(), Catch::Contains("55P03"));
    b.exec("ROLLBACK");
  }
  SECTION("a connection the administrator ended is unavailable") {
    connection b(pg.conninfo("bl"));
    b.query("SELECT pg_terminate_backend($1)", {p(std::int64_t{a.backend_pid()})});
    auto e = error_of([&] { a.exec("SELECT 1"); });
    CHECK(e.kind() == fault::unavailable);
  }
  SECTION("a crashed server is unavailable, to old and new connections") {
    pg.kill();
    CHECK(error_of([&] { a.exec("SELECT 1"); }).kind() == fault::unavailable);
    auto e = error_of([&] { connection c(pg.conninfo("bl") + " password=hunter2"); });
    CHECK(e.kind() == fault::unavailable);
    CHECK_THAT(e.what(), Catch::Contains("cannot be reached") && Catch::Contains("password=***"));
    CHECK_THAT(e.what(), !Catch::Contains("hunter2"));
    pg.start();
    connection c(pg.conninfo("bl"));
    CHECK(c.query("SELECT x FROM t WHERE id = 1").int64(0, 0) == 10);
  }
  SECTION("a database that does not exist is unavailable and says so, without the password") {
    auto e = error_of([&] { connection c(pg.conninfo("nope") + " password='s3cret pw'"); });
    CHECK(e.kind() == fault::unavailable);
    CHECK_THAT(e.what(), Catch::Contains("does not exist") && Catch::Contains("dbname"));
    CHECK_THAT(e.what(), !Catch::Contains("s3cret"));
  }
  SECTION("a syntax error names its SQLSTATE and its statement") {
    auto e = error_of([&] { a.exec("SELEC 1"); });
    CHECK(e.kind() == fault::unavailable);
    CHECK_THAT(e.what(), Catch::Contains("42601") && Catch::Contains("SELEC 1"));
  }
}

TEST_CASE("prepared statements are reused and read NULLs, text and integers", "[postgres]") {
  bl::test::pg_server pg;
  connection c(pg.conninfo());
  const std::string sql = "SELECT $1::bigint, $2::text, $3::text, $4::boolean";
  for (int i = 0; i < 3; ++i) {
    auto r = c.prepared(sql, {p(std::int64_t{-42} - i), p("a'b"), param(), p(true)});
    REQUIRE(r.rows() == 1);
    CHECK(r.int64(0, 0) == -42 - i);
    CHECK(r.text(0, 1) == "a'b");
    CHECK(r.is_null(0, 2));
    CHECK_FALSE(r.is_null(0, 1));
    CHECK(r.boolean(0, 3));
  }
  CHECK(c.query("SELECT count(*) FROM pg_prepared_statements").int64(0, 0) == 1);
  CHECK_FALSE(c.in_transaction());
  c.exec("BEGIN");
  CHECK(c.in_transaction());
  c.exec("ROLLBACK");
}
