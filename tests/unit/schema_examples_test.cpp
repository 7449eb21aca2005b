#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "gateway/schema/config_loader.hpp"
#include "gateway/schema/schema_set.hpp"
#include "tests/support/test_helpers.hpp"

using namespace bl;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {
const fs::path root = BL_SOURCE_DIR;

}  // namespace

TEST_CASE("every valid message example passes the gateway's validator", "[unit][schema]") {
  auto files = test::example_files(root / "schemas/examples/valid/message");
  REQUIRE(files.size() >= 16);
  for (auto& f : files) {
    INFO(f.filename().string());
    auto e = test::repo_schemas().validate_message(test::read_json(f));
    CHECK_FALSE(e.has_value());
    if (e) INFO(e->pointer << ": " << e->message);
  }
}

TEST_CASE("every invalid message example fails at the pointer its expectation names",
          "[unit][schema]") {
  auto dir = root / "schemas/examples/invalid/message";
  auto expect = test::read_json(dir / "expectations.json");
  auto files = test::example_files(dir);
  REQUIRE(files.size() >= 14);
  for (auto& f : files) {
    INFO(f.filename().string());
    REQUIRE(expect.contains(f.filename().string()));
    auto e = test::repo_schemas().validate_message(test::read_json(f));
    REQUIRE(e.has_value());
    CHECK(e->code == errc::schema_invalid);
    CHECK(e->pointer == expect[f.filename().string()]["pointer"].get<std::string>());
  }
}

TEST_CASE("config examples are accepted or refused naming the JSON pointer",
          "[unit][schema][config]") {
  for (auto& f : test::example_files(root / "schemas/examples/valid/config")) {
    INFO(f.filename().string());
    CHECK_NOTHROW(load_config(f, test::repo_schemas()));
  }
  auto dir = root / "schemas/examples/invalid/config";
  auto expect = test::read_json(dir / "expectations.json");
  auto files = test::example_files(dir);
  REQUIRE(files.size() >= 5);
  for (auto& f : files) {
    INFO(f.filename().string());
    REQUIRE(expect.contains(f.filename().string()));
    std::string pointer = expect[f.filename().string()]["pointer"].get<std::string>();
    try {
      load_config(f, test::repo_schemas());
      FAIL("accepted an invalid config");
    } catch (const config_error& e) {
      CHECK_THAT(e.what(), Catch::Contains(pointer.empty() ? "(root)" : pointer));
    }
  }
}
