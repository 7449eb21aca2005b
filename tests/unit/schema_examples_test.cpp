#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "gateway/schema/config_loader.hpp"
#include "gateway/schema/schema_set.hpp"

using namespace bl;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {
const fs::path root = BL_SOURCE_DIR;

json read(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

const schema_set& schemas() {
  static schema_set s(root / "schemas");
  return s;
}

std::vector<fs::path> examples(const fs::path& dir) {
  std::vector<fs::path> out;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".json" && e.path().filename() != "expectations.json")
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST_CASE("every valid message example passes the gateway's validator", "[unit][schema]") {
  auto files = examples(root / "schemas/examples/valid/message");
  REQUIRE(files.size() >= 16);
  for (auto& f : files) {
    INFO(f.filename().string());
    auto e = schemas().validate_message(read(f));
    CHECK_FALSE(e.has_value());
    if (e) INFO(e->pointer << ": " << e->message);
  }
}

TEST_CASE("every invalid message example fails at the pointer its expectation names",
          "[unit][schema]") {
  auto dir = root / "schemas/examples/invalid/message";
  auto expect = read(dir / "expectations.json");
  auto files = examples(dir);
  REQUIRE(files.size() >= 14);
  for (auto& f : files) {
    INFO(f.filename().string());
    REQUIRE(expect.contains(f.filename().string()));
    auto e = schemas().validate_message(read(f));
    REQUIRE(e.has_value());
    CHECK(e->code == errc::schema_invalid);
    CHECK(e->pointer == expect[f.filename().string()]["pointer"].get<std::string>());
  }
}

TEST_CASE("config examples are accepted or refused naming the JSON pointer",
          "[unit][schema][config]") {
  for (auto& f : examples(root / "schemas/examples/valid/config")) {
    INFO(f.filename().string());
    CHECK_NOTHROW(load_config(f, schemas()));
  }
  auto dir = root / "schemas/examples/invalid/config";
  auto expect = read(dir / "expectations.json");
  auto files = examples(dir);
  REQUIRE(files.size() >= 5);
  for (auto& f : files) {
    INFO(f.filename().string());
    REQUIRE(expect.contains(f.filename().string()));
    std::string pointer = expect[f.filename().string()]["pointer"].get<std::string>();
    try {
      load_config(f, schemas());
      FAIL("accepted an invalid config");
    } catch (const config_error& e) {
      CHECK_THAT(e.what(), Catch::Contains(pointer.empty() ? "(root)" : pointer));
    }
  }
}
