// The gateway on "database": {"engine": "postgres", ...}: a PostgreSQL it cannot reach, or a
// database that is not a Bluelink store, stops it with exit code 3 and a clear message (as a
// corrupt SQLite file does), and the password given through the environment is never printed.
// The server is a real PostgreSQL 15 that the test starts itself (tools/pg_server/pg_server).

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/gateway_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tools/pg_server/pg_server.hpp"

using bl::test::gateway_process;
using nlohmann::json;

namespace {
bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

json postgres_at(const std::string& conninfo) {
  return json{{"database",
               {{"path", nullptr},
                {"synchronous", nullptr},
                {"engine", "postgres"},
                {"conninfo", conninfo},
                {"password_env", "BL_TEST_PG_PASSWORD"}}}};
}

constexpr const char* secret = "never-printed-9f3b";
}  // namespace

TEST_CASE("an unreachable PostgreSQL stops the gateway with code 3 and says why",
          "[system][startup][postgres]") {
  ::setenv("BL_TEST_PG_PASSWORD", secret, 1);
  bl::test::temp_dir nowhere;
  gateway_process gw(postgres_at("host=" + nowhere.path().string() +
                                 " port=1 dbname=bluelink user=bluelink connect_timeout=2"),
                     false);
  gw.launch();
  const int code = gw.wait_exit();
  const std::string err = gw.stderr_text();
  INFO("stderr:\n" << err);
  CHECK(code == 3);
  CHECK(contains(err, "cannot start"));
  CHECK_FALSE(contains(err, secret));
  ::unsetenv("BL_TEST_PG_PASSWORD");
}

TEST_CASE("a PostgreSQL database that is not a Bluelink store stops the gateway with code 3",
          "[system][startup][postgres]") {
  ::setenv("BL_TEST_PG_PASSWORD", secret, 1);
  bl::test::pg_server pg;
  pg.create_database("other_app");
  pg.psql("CREATE TABLE customers(id bigint PRIMARY KEY, name text)", "other_app");
  gateway_process gw(postgres_at(pg.conninfo("other_app")), false);
  gw.launch();
  const int code = gw.wait_exit();
  const std::string err = gw.stderr_text();
  INFO("stderr:\n" << err);
  CHECK(code == 3);
  CHECK(contains(err, "cannot start"));
  CHECK(contains(err, "Bluelink"));
  CHECK_FALSE(contains(err, secret));
  // Nothing of ours was created in the foreign database.
  CHECK(pg.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", "other_app")
            .find('1') != std::string::npos);
  ::unsetenv("BL_TEST_PG_PASSWORD");
}
