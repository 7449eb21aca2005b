#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "gateway/core/json_bounded.hpp"

using namespace bl;
using nlohmann::json;

TEST_CASE("a document within the limits parses", "[unit][json]") {
  json out;
  auto e = parse_json_bounded(R"({"a":[1,{"b":"[[[{{{"}],"c":"\"]"})", out);
  REQUIRE_FALSE(e);
  CHECK(out["a"][1]["b"] == "[[[{{{");
}

TEST_CASE("brackets inside strings and escapes do not count towards the depth", "[unit][json]") {
  CHECK(json_nesting_depth(R"({"x":"[[[[\"[[[["})", 10) == 1);
  CHECK(json_nesting_depth(R"([[["\\"],[]]])", 10) == 3);
}

TEST_CASE("300,000 nested arrays are refused by a scan, without recursion", "[unit][json]") {
  std::string deep(300000, '[');
  deep += std::string(300000, ']');
  json out = 7;
  auto e = parse_json_bounded(deep, out);
  REQUIRE(e);
  CHECK(e->id() == "bl.request.too_deep");
  CHECK(out == 7);  // untouched
}

TEST_CASE("the depth limit is exact", "[unit][json]") {
  json_limits l;
  l.max_depth = 4;
  json out;
  CHECK_FALSE(parse_json_bounded("[[[[1]]]]", out, l));
  auto e = parse_json_bounded(R"([[[{"a":[]}]]])", out, l);
  REQUIRE(e);
  CHECK(e->id() == "bl.request.too_deep");
}

TEST_CASE("an oversized document is refused before it is parsed", "[unit][json]") {
  json_limits l;
  l.max_bytes = 10;
  json out;
  auto e = parse_json_bounded(R"({"a":"0123456789"})", out, l, "the frame");
  REQUIRE(e);
  CHECK(e->id() == "bl.request.too_large");
  CHECK(e->message.find("the frame") == 0);
}

TEST_CASE("text that is not JSON is malformed_json", "[unit][json]") {
  json out;
  auto e = parse_json_bounded("{\"a\":", out);
  REQUIRE(e);
  CHECK(e->id() == "bl.request.malformed_json");
  // Unbalanced closers never make the scan's depth negative.
  e = parse_json_bounded("]]]]]][[", out);
  REQUIRE(e);
  CHECK(e->id() == "bl.request.malformed_json");
}
