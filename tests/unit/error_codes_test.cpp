#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "gateway/core/error.hpp"

using namespace bl;

TEST_CASE("error ids are unique and look like bl.area.name", "[unit][errors]") {
  std::set<std::string_view> seen;
  std::regex shape("^bl\\.[a-z][a-z0-9_]*\\.[a-z_]+$");
  for (auto& e : all_errors()) {
    CHECK(seen.insert(e.id).second);
    CHECK(std::regex_match(std::string(e.id), shape));
    CHECK(errc_from_id(e.id) == e.code);
    CHECK_FALSE(e.operator_text.empty());
  }
}

TEST_CASE("docs/error-codes.md lists every code with its HTTP status", "[unit][errors][docs]") {
  std::ifstream in(std::string(BL_SOURCE_DIR) + "/docs/error-codes.md");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  for (auto& e : all_errors()) {
    INFO(e.id);
    // A table row: | `bl.x.y` | 422 | ...
    std::regex row("\\|\\s*`" + std::regex_replace(std::string(e.id), std::regex("\\."), "\\.") +
                   "`\\s*\\|\\s*" + std::to_string(e.http_status) + "\\s*\\|");
    CHECK(std::regex_search(doc, row));
  }
}
