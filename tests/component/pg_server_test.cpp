// The test PostgreSQL server (tools/pg_server/pg_server): the store's PostgreSQL tests stand on it,
// so it must really start, stop, crash and come back with what was committed.

#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "tools/pg_server/pg_server.hpp"

using bl::test::pg_server;

TEST_CASE("a test PostgreSQL server starts on a Unix socket only and answers queries",
          "[postgres]") {
  pg_server pg;
  REQUIRE(pg.running());
  CHECK(std::filesystem::exists(pg.dir() / (".s.PGSQL." + std::to_string(pg.port()))));
  CHECK(pg.psql("SHOW listen_addresses") == "");
  CHECK(pg.psql("SHOW fsync") == "on");
  CHECK(pg.psql("SHOW synchronous_commit") == "on");
  pg.create_database("bluelink_a");
  CHECK(pg.psql("SELECT current_database()", "bluelink_a") == "bluelink_a");
  CHECK_THROWS(pg.psql("SELECT 1", "no_such_db"));
}

TEST_CASE("a test PostgreSQL server keeps committed rows across a stop and a crash", "[postgres]") {
  pg_server pg;
  pg.create_database("crash");
  pg.psql("CREATE TABLE t(x int); INSERT INTO t VALUES (1)", "crash");

  pg.stop();
  CHECK_FALSE(pg.running());
  CHECK_THROWS(pg.psql("SELECT 1", "crash"));
  pg.start();
  CHECK(pg.psql("SELECT count(*) FROM t", "crash") == "1");

  pg.psql("INSERT INTO t VALUES (2)", "crash");
  pg.kill();
  CHECK_FALSE(pg.running());
  CHECK_THROWS(pg.psql("SELECT 1", "crash"));
  // Crash recovery replays the WAL: the committed row is there.
  pg.start();
  CHECK(pg.psql("SELECT string_agg(x::text, ',' ORDER BY x) FROM t", "crash") == "1,2");
}

TEST_CASE("a destroyed test PostgreSQL server leaves no process and no directory behind",
          "[postgres]") {
  std::filesystem::path dir;
  int pid = 0;
  {
    pg_server pg;
    dir = pg.dir();
    std::ifstream f(dir / "data" / "postmaster.pid");
    f >> pid;
    REQUIRE(pid > 0);
  }
  CHECK_FALSE(std::filesystem::exists(dir));
  // Gone, or a zombie that only waits for its reaper.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  CHECK((line.empty() || line.substr(line.rfind(')') + 2, 1) == "Z"));
}
