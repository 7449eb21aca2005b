// The query-string reader every HTTP route uses (gateway/net/query), and the fuzzer's kept inputs
// (tests/fuzz/{corpus,regressions}/fuzz_query/).

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gateway/net/query.hpp"
#include "tests/support/test_helpers.hpp"

using namespace bl;

TEST_CASE("percent-decoding takes exactly two hex digits and nothing else", "[unit][query]") {
  CHECK(percent_decode("%41%62c") == "Abc");
  CHECK(percent_decode("a+b") == "a b");
  CHECK(percent_decode("%2F%2f") == "//");
  // Not an escape: left as sent rather than turned into a byte nobody sent.
  CHECK(percent_decode("%-1") == "%-1");
  CHECK(percent_decode("%+1") == "% 1");  // the + is a space, as everywhere in a query
  CHECK(percent_decode("%4") == "%4");
  CHECK(percent_decode("%") == "%");
  CHECK(percent_decode("%zz") == "%zz");
  CHECK(percent_decode("100%") == "100%");
}

TEST_CASE("a query string becomes names and values; the last of a repeated name wins",
          "[unit][query]") {
  auto q = parse_query(
      "state=accepted&limit=20&&category=police.traffic_management&flag&"
      "since=2026-11-21T14%3A00%3A00Z&limit=30");
  CHECK(q.at("state") == "accepted");
  CHECK(q.at("limit") == "30");
  CHECK(q.at("category") == "police.traffic_management");
  CHECK(q.at("flag").empty());
  CHECK(q.at("since") == "2026-11-21T14:00:00Z");
  CHECK(q.size() == 5);
  CHECK(parse_query("").empty());
  CHECK(parse_query("&&&").empty());
}

TEST_CASE("the query fuzzer's corpus and kept crashers are read without crashing",
          "[unit][query][fuzz]") {
  bl::test::for_each_fuzz_input("fuzz_query",
                                [&](const std::filesystem::path&, const std::string& input) {
                                  const std::string q = input;
                                  std::size_t bytes = 0;
                                  for (const auto& [k, v] : parse_query(q))
                                    bytes += k.size() + v.size();
                                  CHECK(bytes <= q.size());
                                  CHECK(percent_decode(q).size() <= q.size());
                                });
}
