// The CAD link frame parser (adapters/zmq_cad/cad_frame): every frame a CAD sends as the gateway
// reads it, each refusal with its error code and pointer, and the fuzzer's kept inputs
// (tests/fuzz/{corpus,regressions}/fuzz_cad_frame/).

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>

#include "adapters/zmq_cad/cad_frame.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

namespace fs = std::filesystem;
namespace cad = bl::cad;
using nlohmann::json;

cad::cad_frame parse_ok(const json& frame) {
  auto r = cad::parse_cad_frame(frame.dump(), bl::test::repo_schemas());
  if (auto* e = std::get_if<cad::frame_refusal>(&r)) FAIL(e->err.message);
  return std::get<cad::cad_frame>(r);
}

cad::frame_refusal parse_bad(std::string_view text, const cad::frame_limits& limits = {}) {
  auto r = cad::parse_cad_frame(text, bl::test::repo_schemas(), limits);
  REQUIRE(std::holds_alternative<cad::frame_refusal>(r));
  auto e = std::get<cad::frame_refusal>(r);
  CHECK_FALSE(e.err.message.empty());
  return e;
}

}  // namespace

TEST_CASE("each frame a CAD sends parses into its typed value", "[unit][cadlink][frame]") {
  auto hello = std::get<cad::hello_frame>(parse_ok({{"v", 1},
                                                    {"op", "hello"},
                                                    {"agency", "essex-fire"},
                                                    {"resume_from", 41},
                                                    {"client", "FireCAD/7.2"},
                                                    {"window", 64}}));
  CHECK(hello.agency == "essex-fire");
  CHECK(hello.resume_from == 41);
  CHECK(hello.client == "FireCAD/7.2");
  CHECK(hello.window == 64);

  auto bare = std::get<cad::hello_frame>(
      parse_ok({{"v", 1}, {"op", "hello"}, {"agency", "essex-fire"}, {"resume_from", 0}}));
  CHECK(bare.client.empty());
  CHECK_FALSE(bare.window.has_value());

  auto submit = std::get<cad::submit_frame>(
      parse_ok({{"v", 1}, {"op", "submit"}, {"message", {{"id", "essex-fire:1"}, {"type", "x"}}}}));
  CHECK(submit.message_id == "essex-fire:1");
  CHECK(submit.message["type"] == "x");

  CHECK(std::get<cad::ack_frame>(parse_ok({{"v", 1}, {"op", "ack"}, {"upto", 7}})).upto == 7);
  CHECK(std::holds_alternative<cad::heartbeat_frame>(parse_ok({{"v", 1}, {"op", "heartbeat"}})));
  CHECK(std::get<cad::goodbye_frame>(parse_ok({{"v", 1}, {"op", "goodbye"}, {"reason", "bye"}}))
            .reason == "bye");
  CHECK(cad::op_name(parse_ok({{"v", 1}, {"op", "heartbeat"}})) == "heartbeat");
}

TEST_CASE("a frame larger than 1 MiB is refused as too large", "[unit][cadlink][frame]") {
  std::string big =
      R"({"v":1,"op":"goodbye","reason":")" + std::string(cad::max_frame_bytes, 'x') + R"("})";
  CHECK(parse_bad(big).err.code == bl::errc::payload_too_large);
}

TEST_CASE("a frame nested deeper than the limit is refused before it is parsed",
          "[unit][cadlink][frame]") {
  constexpr int depth = 300000;
  std::string deep = R"({"v":1,"op":"submit","message":{"id":"essex-fire:deep","body":)" +
                     std::string(depth, '[') + std::string(depth, ']') + "}}";
  CHECK(parse_bad(deep).err.code == bl::errc::json_too_deep);

  // The limit is the configured one (edge.max_json_depth): this frame nests 10 levels.
  std::string nested = R"({"v":1,"op":"submit","message":{"id":"a:b","x":)" + std::string(8, '[') +
                       std::string(8, ']') + "}}";
  CHECK(parse_bad(nested, cad::frame_limits{cad::max_frame_bytes, 8}).err.code ==
        bl::errc::json_too_deep);
  CHECK(std::holds_alternative<cad::cad_frame>(
      cad::parse_cad_frame(nested, bl::test::repo_schemas(), {cad::max_frame_bytes, 10})));
}

TEST_CASE("a frame that is not one JSON object is refused", "[unit][cadlink][frame]") {
  CHECK(parse_bad("{\"v\":1,").err.code == bl::errc::malformed_json);
  CHECK(parse_bad("").err.code == bl::errc::malformed_json);
  CHECK(parse_bad("[1,2]").err.code == bl::errc::link_bad_frame);
  CHECK(parse_bad("\"hello\"").err.code == bl::errc::link_bad_frame);
}

TEST_CASE("a frame of another version or an unknown op is refused as a bad frame",
          "[unit][cadlink][frame]") {
  auto v2 = parse_bad(R"({"v":2,"op":"hello","agency":"essex-fire","resume_from":0})");
  CHECK(v2.err.code == bl::errc::link_bad_frame);
  CHECK(v2.err.pointer == "/v");
  CHECK(parse_bad(R"({"v":1,"op":"launch"})").err.code == bl::errc::link_bad_frame);
  CHECK(parse_bad(R"({"op":"heartbeat"})").err.code == bl::errc::link_bad_frame);
}

TEST_CASE("a frame only the gateway sends is refused when a CAD sends it",
          "[unit][cadlink][frame]") {
  for (const char* op : {"welcome", "receipt", "deliver", "acked", "error"}) {
    INFO(op);
    auto e = parse_bad(json{{"v", 1}, {"op", op}}.dump());
    CHECK(e.err.code == bl::errc::link_bad_frame);
    CHECK(e.err.pointer == "/op");
    CHECK(e.op == op);
  }
}

TEST_CASE("a frame that breaks the schema of its op is refused with the pointer",
          "[unit][cadlink][frame]") {
  auto e = parse_bad(R"({"v":1,"op":"hello","agency":"essex-fire"})");
  CHECK(e.err.code == bl::errc::schema_invalid);
  CHECK(e.op == "hello");
  e = parse_bad(R"({"v":1,"op":"ack","upto":"7"})");
  CHECK(e.err.code == bl::errc::schema_invalid);
  CHECK(e.err.pointer == "/upto");
  e = parse_bad(R"({"v":1,"op":"heartbeat","seq":3})");
  CHECK(e.err.code == bl::errc::schema_invalid);
  e = parse_bad(R"({"v":1,"op":"submit","message":"essex-fire:1"})");
  CHECK(e.err.code == bl::errc::schema_invalid);
  CHECK(e.message_id.empty());
}

TEST_CASE("a refused submit names its message id so that the CAD stops retrying it",
          "[unit][cadlink][frame]") {
  auto e = parse_bad(R"({"v":1,"op":"submit","message":{"id":"essex-fire:9"},"extra":1})");
  CHECK(e.err.code == bl::errc::schema_invalid);
  CHECK(e.message_id == "essex-fire:9");
}

TEST_CASE("a sequence beyond a signed 64-bit integer is refused, not wrapped",
          "[unit][cadlink][frame]") {
  auto e =
      parse_bad(R"({"v":1,"op":"hello","agency":"essex-fire","resume_from":18446744073709551615})");
  CHECK(e.err.code == bl::errc::schema_invalid);
  CHECK(e.err.pointer == "/resume_from");
  e = parse_bad(R"({"v":1,"op":"ack","upto":9223372036854775808})");
  CHECK(e.err.pointer == "/upto");
  CHECK(std::get<cad::ack_frame>(
            parse_ok(json::parse(R"({"v":1,"op":"ack","upto":9223372036854775807})")))
            .upto == 9223372036854775807);
}

TEST_CASE("the CAD frame fuzzer's corpus parses and its kept crashers are refused cleanly",
          "[unit][cadlink][frame][fuzz]") {
  bl::test::for_each_fuzz_input("fuzz_cad_frame",
                                [&](const std::filesystem::path& path, const std::string& input) {
                                  auto r = cad::parse_cad_frame(input, bl::test::repo_schemas());
                                  if (path.parent_path().parent_path().filename() == "corpus")
                                    CHECK(std::holds_alternative<cad::cad_frame>(r));
                                  if (auto* e = std::get_if<cad::frame_refusal>(&r))
                                    CHECK_FALSE(e->err.message.empty());
                                });
}
