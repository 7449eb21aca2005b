// The database setting names its engine: the embedded SQLite file (today's {"path": ...} form
// still accepted) or PostgreSQL with a connection string whose password comes from a file or the
// environment, never from the config itself. Each wrong form is refused with the setting named.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/core/config.hpp"
#include "gateway/schema/config_loader.hpp"
#include "gateway/store/open_store.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_helpers.hpp"

using namespace bl;
using nlohmann::json;

namespace {
json essex() {
  return test::read_json(std::filesystem::path(BL_SOURCE_DIR) /
                         "schemas/examples/valid/config/full-essex.json");
}

/// Loads `doc` as a config file (schema, then the gateway's own checks); the refusal, or "".
std::string refusal(const json& doc, gateway_config* out = nullptr) {
  test::temp_dir dir;
  auto file = dir.file("config.json");
  std::ofstream(file) << doc.dump();
  try {
    auto cfg = load_config(file, test::repo_schemas());
    if (out) *out = cfg;
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("database: the SQLite forms, old and new, name the file", "[unit][config]") {
  auto doc = essex();
  doc["database"] = {{"path", "/var/lib/bluelink/a.db"}};
  gateway_config cfg;
  REQUIRE(refusal(doc, &cfg).empty());
  CHECK(cfg.database_engine == "sqlite");
  CHECK(cfg.database_path == "/var/lib/bluelink/a.db");
  doc["database"] = {{"engine", "sqlite"}, {"path", "b.db"}, {"synchronous", "normal"}};
  REQUIRE(refusal(doc, &cfg).empty());
  CHECK(cfg.database_path == "b.db");
  CHECK_FALSE(cfg.synchronous_full);
  auto o = store::options_for(cfg);
  CHECK(o.engine == store::engine_kind::sqlite);
  CHECK(store::describe(o) == "sqlite:b.db");
}

TEST_CASE("database: PostgreSQL with its password from a file or the environment",
          "[unit][config]") {
  test::temp_dir dir;
  auto doc = essex();
  auto pw = dir.file("pw");
  std::ofstream(pw) << "s3cret-pass\n";
  doc["database"] = {{"engine", "postgres"},
                     {"conninfo", "host=pg1,pg2 dbname=bluelink user=gw sslmode=verify-full"},
                     {"password_file", pw}};
  gateway_config cfg;
  REQUIRE(refusal(doc, &cfg).empty());
  CHECK(cfg.database_engine == "postgres");
  auto o = store::options_for(cfg);
  CHECK(o.engine == store::engine_kind::postgres);
  CHECK(o.password == "s3cret-pass");
  CHECK(store::describe(o).find("s3cret") == std::string::npos);

  doc["database"].erase("password_file");
  doc["database"]["password_env"] = "BL_TEST_DB_PASSWORD";
  REQUIRE(refusal(doc, &cfg).empty());
  ::unsetenv("BL_TEST_DB_PASSWORD");
  CHECK_THROWS_WITH(store::options_for(cfg), Catch::Contains("BL_TEST_DB_PASSWORD"));
  ::setenv("BL_TEST_DB_PASSWORD", "from-env", 1);
  CHECK(store::options_for(cfg).password == "from-env");
  ::unsetenv("BL_TEST_DB_PASSWORD");

  cfg.database_password_env.clear();
  cfg.database_password_file = dir.file("absent");
  CHECK_THROWS_WITH(store::options_for(cfg), Catch::Contains("absent"));
}

TEST_CASE("database: wrong forms are refused naming the setting", "[unit][config]") {
  auto doc = essex();
  SECTION("a password inside the connection string") {
    for (const char* c : {"host=pg dbname=b user=u password=x", "host=pg PASSWORD = x",
                          "postgresql://u:secret@pg/bluelink", "postgres://pg/b?password=x"}) {
      doc["database"] = {{"engine", "postgres"}, {"conninfo", c}};
      CHECK_THAT(refusal(doc), Catch::Contains("/database/conninfo: holds a password"));
    }
    doc["database"] = {{"engine", "postgres"}, {"conninfo", "host=pg passfile=/etc/pgpass"}};
    CHECK(refusal(doc).empty());
  }
  SECTION("both password sources") {
    doc["database"] = {{"engine", "postgres"},
                       {"conninfo", "host=pg"},
                       {"password_file", "/x"},
                       {"password_env", "PGPW"}};
    CHECK_THAT(refusal(doc), Catch::Contains("password_file and password_env are both given"));
  }
  SECTION("PostgreSQL without a connection string, or with SQLite's settings") {
    doc["database"] = {{"engine", "postgres"}, {"path", "a.db"}};
    CHECK_THAT(refusal(doc), Catch::Contains("database"));
    doc["database"] = {{"engine", "postgres"}};
    CHECK_THAT(refusal(doc), Catch::Contains("conninfo"));
  }
  SECTION("SQLite without a file, with a connection string, or an unknown engine") {
    doc["database"] = {{"engine", "sqlite"}};
    CHECK_THAT(refusal(doc), Catch::Contains("path"));
    doc["database"] = {{"path", "a.db"}, {"conninfo", "host=pg"}};
    CHECK_THAT(refusal(doc), Catch::Contains("conninfo"));
    doc["database"] = {{"engine", "oracle"}, {"path", "a.db"}};
    CHECK_THAT(refusal(doc), Catch::Contains("engine"));
  }
}
