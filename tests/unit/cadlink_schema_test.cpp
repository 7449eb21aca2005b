// The CAD link frame schemas (schemas/cadlink/) against the examples in
// schemas/examples/{valid,invalid}/cadlink/: what docs/protocols/cad-link.md promises a CAD vendor.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/schema/schema_set.hpp"
#include "tests/support/test_helpers.hpp"

using namespace bl;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {
const fs::path root = BL_SOURCE_DIR;

// The frame types of section 3 of docs/protocols/cad-link.md.
const std::vector<std::string> protocol_ops = {"hello",   "welcome", "submit", "receipt",
                                               "deliver", "ack",     "acked",  "heartbeat",
                                               "error",   "goodbye"};

std::string describe(const std::optional<error>& e) {
  return e ? "'" + e->pointer + "': " + e->message : std::string("accepted");
}
}  // namespace

TEST_CASE("every frame op of the protocol has a schema and the dispatch schema lists them all",
          "[unit][schema][cadlink]") {
  auto frame = test::read_json(root / "schemas/cadlink/frame.schema.json");
  auto listed = frame.at("properties").at("op").at("enum").get<std::vector<std::string>>();
  CHECK(std::set<std::string>(listed.begin(), listed.end()) ==
        std::set<std::string>(protocol_ops.begin(), protocol_ops.end()));
  for (const auto& op : protocol_ops) {
    INFO(op);
    CHECK(test::repo_schemas().has("cadlink/" + op));
  }
}

TEST_CASE("every valid CAD link frame passes the dispatch schema and the schema of its op",
          "[unit][schema][cadlink]") {
  auto files = test::example_files(root / "schemas/examples/valid/cadlink");
  std::set<std::string> seen;
  for (auto& f : files) {
    INFO(f.filename().string());
    auto doc = test::read_json(f);
    auto e = test::repo_schemas().validate("cadlink/frame", doc);
    INFO("frame: " << describe(e));
    REQUIRE_FALSE(e.has_value());
    auto op = doc.at("op").get<std::string>();
    seen.insert(op);
    e = test::repo_schemas().validate("cadlink/" + op, doc);
    INFO("cadlink/" << op << ": " << describe(e));
    CHECK_FALSE(e.has_value());
  }
  for (const auto& op : protocol_ops) {
    INFO("no valid example for op " << op);
    CHECK(seen.count(op) == 1);
  }
}

TEST_CASE("the messages carried by the valid submit and deliver examples are valid messages",
          "[unit][schema][cadlink]") {
  int carried = 0;
  for (auto& f : test::example_files(root / "schemas/examples/valid/cadlink")) {
    auto doc = test::read_json(f);
    if (doc.at("op") != "submit" && doc.at("op") != "deliver") continue;
    INFO(f.filename().string());
    auto e = test::repo_schemas().validate_message(doc.at("message"));
    INFO(describe(e));
    CHECK_FALSE(e.has_value());
    ++carried;
  }
  CHECK(carried >= 2);
}

TEST_CASE("every invalid CAD link frame fails at the pointer its expectation names",
          "[unit][schema][cadlink]") {
  auto dir = root / "schemas/examples/invalid/cadlink";
  auto expect = test::read_json(dir / "expectations.json");
  auto files = test::example_files(dir);
  REQUIRE(files.size() >= 8);
  REQUIRE(expect.size() == files.size());
  for (auto& f : files) {
    auto name = f.filename().string();
    INFO(name);
    REQUIRE(expect.contains(name));
    const auto& want = expect.at(name);
    auto schema = want.at("schema").get<std::string>();
    REQUIRE(test::repo_schemas().has(schema));
    auto e = test::repo_schemas().validate(schema, test::read_json(f));
    INFO(schema << " -> " << describe(e) << " (expected because " << want.at("why") << ")");
    REQUIRE(e.has_value());
    CHECK(e->code == errc::schema_invalid);
    CHECK(e->pointer == want.at("pointer").get<std::string>());
  }
}

TEST_CASE("a misspelt key passes dispatch but is refused by the op's schema, naming the key",
          "[unit][schema][cadlink]") {
  json hello = {{"v", 1},
                {"op", "hello"},
                {"agency", "essex-fire"},
                {"resume_from", 0},
                {"clinet", "FireCAD/7.2"}};
  CHECK_FALSE(test::repo_schemas().validate("cadlink/frame", hello).has_value());
  auto e = test::repo_schemas().validate("cadlink/hello", hello);
  REQUIRE(e.has_value());
  CHECK(e->pointer == "/clinet");
  CHECK_THAT(e->message, Catch::Contains("clinet"));
}
