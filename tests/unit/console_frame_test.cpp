// The console WebSocket frame parser (gateway/net/console_frame): hello with and without after,
// ping, each refusal with its error code, message and pointer as the console shows them, and the
// fuzzer's kept inputs (tests/fuzz/{corpus,regressions}/fuzz_console_frame/).

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>

#include "gateway/net/console_frame.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

namespace fs = std::filesystem;
using bl::console_frame;

// The console's defaults: 64 KiB messages, edge.max_json_depth 32.
const bl::json_limits limits{64 * 1024, 32};

console_frame parse_ok(std::string_view text) {
  auto r = bl::parse_console_frame(text, bl::test::repo_schemas(), limits);
  if (auto* e = std::get_if<bl::error>(&r)) FAIL(e->message);
  return std::get<console_frame>(r);
}

bl::error parse_bad(std::string_view text, const bl::json_limits& l = limits) {
  auto r = bl::parse_console_frame(text, bl::test::repo_schemas(), l);
  REQUIRE(std::holds_alternative<bl::error>(r));
  auto e = std::get<bl::error>(r);
  CHECK_FALSE(e.message.empty());
  return e;
}

}  // namespace

TEST_CASE("a hello says which events the console has seen, and ping is a ping",
          "[unit][console][frame]") {
  auto h = parse_ok(R"({"op":"hello"})");
  CHECK(h.what == console_frame::op::hello);
  CHECK(h.after == -1);  // absent: from now on
  h = parse_ok(R"({"op":"hello","after":0})");
  CHECK(h.what == console_frame::op::hello);
  CHECK(h.after == 0);  // 0 is a cursor: every event after event 0
  CHECK(parse_ok(R"({"op":"hello","after":41})").after == 41);
  CHECK(parse_ok(R"({"op":"hello","after":9223372036854775807})").after == 9223372036854775807);
  auto p = parse_ok(R"({"op":"ping"})");
  CHECK(p.what == console_frame::op::ping);
  CHECK(p.after == -1);
}

TEST_CASE("a frame that is not JSON, too big or too deep is refused before the schema",
          "[unit][console][frame]") {
  auto e = parse_bad("hello");
  CHECK(e.id() == "bl.request.malformed_json");
  CHECK(e.message == "the frame is not valid JSON");
  e = parse_bad(R"({"op":"hello","after":)" + std::string(100, '[') + std::string(100, ']') + "}");
  CHECK(e.id() == "bl.request.too_deep");
  CHECK(e.message == "the frame nests objects or arrays more than 32 deep");
  e = parse_bad(R"({"op":"ping"})", bl::json_limits{8, 32});
  CHECK(e.id() == "bl.request.too_large");
  CHECK(e.message == "the frame is 13 bytes; at most 8 are accepted");
  CHECK(parse_bad("").id() == "bl.request.malformed_json");
}

TEST_CASE("a frame the schema does not allow is refused with the pointer of what is wrong",
          "[unit][console][frame]") {
  auto e = parse_bad(R"({"op":"subscribe"})");
  CHECK(e.id() == "bl.schema.invalid");
  CHECK(e.pointer == "/op");
  e = parse_bad(R"({"after":3})");
  CHECK(e.id() == "bl.schema.invalid");
  for (const char* after : {"-1", "1.5", "\"12\"", "null", "1e3"}) {
    INFO(after);
    e = parse_bad(std::string(R"({"op":"hello","after":)") + after + "}");
    CHECK(e.id() == "bl.schema.invalid");
    CHECK(e.pointer == "/after");
  }
  // Above INT64_MAX no event id can be: refused, never wrapped to a negative cursor.
  for (const char* after :
       {"9223372036854775808", "18446744073709551615", "18446744073709551616"}) {
    INFO(after);
    e = parse_bad(std::string(R"({"op":"hello","after":)") + after + "}");
    CHECK(e.id() == "bl.schema.invalid");
    CHECK(e.pointer == "/after");
  }
  CHECK(parse_ok(R"({"op":"hello","after":-0})").after == 0);
  e = parse_bad(R"({"op":"hello","from":3})");
  CHECK(e.id() == "bl.schema.invalid");
  CHECK(parse_bad(R"(["op","hello"])").id() == "bl.schema.invalid");
  CHECK(parse_bad("42").id() == "bl.schema.invalid");
}

TEST_CASE("the console frame fuzzer's corpus and kept crashers are read without crashing",
          "[unit][console][frame][fuzz]") {
  bl::test::for_each_fuzz_input(
      "fuzz_console_frame", [&](const std::filesystem::path&, const std::string& input) {
        auto r = bl::parse_console_frame(input, bl::test::repo_schemas(), limits);
        if (auto* e = std::get_if<bl::error>(&r)) {
          CHECK_FALSE(e->message.empty());
        } else {
          CHECK(std::get<console_frame>(r).after >= -1);
        }
      });
}
