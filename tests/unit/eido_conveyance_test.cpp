// The EIDO conveyance frame parser (adapters/eido/eido_conveyance): every message type as the
// gateway reads it, each refusal with the response the sender gets, its correlation and the JSON
// pointer of the offending member, and the fuzzer's kept inputs
// (tests/fuzz/{corpus,regressions}/fuzz_eido_frame/).

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>

#include "adapters/eido/eido_conveyance.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

namespace fs = std::filesystem;
namespace cv = bl::adapters::conveyance;
using nlohmann::json;

cv::frame parse_ok(const json& frame) {
  auto r = cv::parse_frame(frame.dump());
  if (auto* e = std::get_if<cv::frame_error>(&r)) FAIL(e->err.message);
  return std::get<cv::frame>(r);
}

cv::frame_error parse_bad(const std::string& text) {
  auto r = cv::parse_frame(text);
  REQUIRE(std::holds_alternative<cv::frame_error>(r));
  return std::get<cv::frame_error>(r);
}

}  // namespace

TEST_CASE("conveyance frames parse into their typed messages", "[unit][eido][conveyance]") {
  auto s = std::get<cv::subscribe>(parse_ok({{"subscribe",
                                              {{"requestId", "r1"},
                                               {"requestType", "eido"},
                                               {"requestSubType", "new"},
                                               {"expires", 300},
                                               {"minRate", 2}}}}));
  CHECK(s.request_id == "r1");
  CHECK(s.sub_type == "new");
  CHECK(s.expires == 300);
  CHECK(s.min_rate == 2);

  auto single = std::get<cv::subscribe>(parse_ok({{"subscribe",
                                                   {{"requestId", "r2"},
                                                    {"requestSubType", "single"},
                                                    {"incidentId", "T-20261121-000123"}}}}));
  CHECK(single.incident_id == "T-20261121-000123");
  CHECK_FALSE(single.expires);

  // A renewal names its subscription and needs no requestSubType.
  auto renew = std::get<cv::subscribe>(
      parse_ok({{"subscribe", {{"requestId", "r3"}, {"subscriptionId", "S-1"}, {"expires", 60}}}}));
  CHECK(renew.subscription_id == "S-1");

  auto ev = std::get<cv::event_response>(
      parse_ok({{"eventResponse", {{"transactionId", "S-1-7"}, {"statusCode", 503}}}}));
  CHECK(ev.transaction_id == "S-1-7");
  CHECK(ev.status_code == 503);
  CHECK(std::get<cv::event_response>(parse_ok({{"eventResponse", {{"transactionId", "t"}}}}))
            .status_code == 200);

  auto cancel = std::get<cv::request>(parse_ok(
      {{"cancelRequest",
        {{"requestId", "c1"}, {"incidentId", "T-20261121-000123"}, {"reason", "all safe"}}}}));
  CHECK(cancel.by_incident);
  CHECK(cancel.reason == "all safe");

  auto rfs = std::get<cv::request>(parse_ok(
      {{"requestForService",
        {{"requestId", "q"}, {"to", {"essex-fire"}}, {"eido", {{"messageKind", "New"}}}}}}));
  CHECK(rfs.kind == "requestForService");
  CHECK_FALSE(rfs.by_incident);
  CHECK(rfs.to == std::vector<std::string>{"essex-fire"});
  CHECK(rfs.eido["messageKind"] == "New");

  CHECK(std::holds_alternative<cv::terminate_response>(
      parse_ok({{"terminateResponse", json::object()}})));
  CHECK(std::get<cv::unsubscribe>(
            parse_ok({{"unsubscribe", {{"requestId", "u"}, {"subscriptionId", "S-1"}}}}))
            .subscription_id == "S-1");
}

TEST_CASE("each refused frame names its response, its correlation and the member",
          "[unit][eido][conveyance]") {
  auto e = parse_bad("{not json");
  CHECK(e.reply == "errorResponse");
  CHECK(e.err.id() == "bl.request.malformed_json");

  e = parse_bad(R"({"subscribe":{},"unsubscribe":{}})");
  CHECK(e.err.id() == "bl.eido.bad_message");

  e = parse_bad(R"({"subscribe":[1]})");
  CHECK(e.err.pointer == "/subscribe");

  e = parse_bad(R"({"publish":{}})");
  CHECK(e.err.id() == "bl.eido.unknown_message");
  CHECK(e.err.pointer == "/publish");

  e = parse_bad(R"({"subscribe":{"requestId":"r9","requestSubType":"all"}})");
  CHECK(e.reply == "subscribeResponse");
  CHECK(e.correlation == json{{"requestId", "r9"}});
  CHECK(e.err.pointer == "/subscribe/requestSubType");

  e = parse_bad(R"({"subscribe":{"requestId":"r9","requestSubType":"new","expires":-1}})");
  CHECK(e.err.pointer == "/subscribe/expires");

  e = parse_bad(R"({"subscribe":{"requestId":"r9","requestSubType":"single","incidentId":"F-1"}})");
  CHECK(e.err.pointer == "/subscribe/incidentId");
  CHECK(e.err.message.find("F-1") != std::string::npos);

  e = parse_bad(R"({"subscribe":{"requestId":"r9","requestType":"presence"}})");
  CHECK(e.err.pointer == "/subscribe/requestType");

  e = parse_bad(R"({"subscribe":{"requestSubType":"new"}})");
  CHECK(e.correlation == json::object());
  CHECK(e.err.pointer == "/subscribe/requestId");

  e = parse_bad("{\"subscribe\":{\"requestId\":\"" + std::string(cv::max_id + 1, 'x') + "\"}}");
  CHECK(e.err.pointer == "/subscribe/requestId");

  e = parse_bad(R"({"eventResponse":{"transactionId":"t1","statusCode":"OK"}})");
  CHECK(e.reply == "errorResponse");
  CHECK(e.correlation == json{{"transactionId", "t1"}});
  CHECK(e.err.pointer == "/eventResponse/statusCode");

  e = parse_bad(R"({"requestForService":{"requestId":"q1"}})");
  CHECK(e.reply == "requestForServiceResponse");
  CHECK(e.err.pointer == "/requestForService/eido");

  e = parse_bad(R"({"requestAwareness":{"requestId":"q2","eido":{},"to":["a",7]}})");
  CHECK(e.reply == "requestAwarenessResponse");
  CHECK(e.err.pointer == "/requestAwareness/to/1");

  e = parse_bad(R"({"cancelRequest":{"requestId":"c2","incidentId":"T-20261121-000123"}})");
  CHECK(e.reply == "cancelRequestResponse");
  CHECK(e.err.pointer == "/cancelRequest/reason");

  e = parse_bad(R"({"unsubscribe":{"requestId":"u1"}})");
  CHECK(e.reply == "unsubscribeResponse");
  CHECK(e.err.pointer == "/unsubscribe/subscriptionId");
}

TEST_CASE("the conveyance fuzzer's corpus and kept crashers parse or are refused cleanly",
          "[unit][eido][conveyance][fuzz]") {
  bl::test::for_each_fuzz_input("fuzz_eido_frame",
                                [&](const std::filesystem::path& path, const std::string& input) {
                                  auto r = cv::parse_frame(input);
                                  if (path.parent_path().parent_path().filename() == "corpus")
                                    CHECK(std::holds_alternative<cv::frame>(r));  // seeds
                                  if (auto* e = std::get_if<cv::frame_error>(&r)) {
                                    CHECK_FALSE(e->reply.empty());
                                    CHECK_FALSE(e->err.message.empty());
                                  }
                                });
}

TEST_CASE("a frame nesting too deep is refused before anything is copied out of it",
          "[unit][eido][conveyance]") {
  // 100,000 arrays inside requestForService: copying or dumping them (as the session did with
  // the EIDO before any depth check) recursed once per level until the stack overflowed.
  const std::string deep = R"({"requestForService":{"requestId":"r1","eido":)" +
                           std::string(100000, '[') + std::string(100000, ']') + "}}";
  auto r = cv::parse_frame(deep);
  REQUIRE(std::holds_alternative<cv::frame_error>(r));
  const auto& fe = std::get<cv::frame_error>(r);
  CHECK(fe.reply == "errorResponse");
  CHECK(fe.err.id() == "bl.request.too_deep");

  bl::json_limits tight;
  tight.max_depth = 3;
  auto shallow = cv::parse_frame(R"({"subscribe":{"a":{"b":[1]}}})", tight);
  REQUIRE(std::holds_alternative<cv::frame_error>(shallow));
  CHECK(std::get<cv::frame_error>(shallow).err.id() == "bl.request.too_deep");

  tight.max_depth = 32;
  tight.max_bytes = 10;
  auto big = cv::parse_frame(R"({"terminateResponse":{}})", tight);
  REQUIRE(std::holds_alternative<cv::frame_error>(big));
  CHECK(std::get<cv::frame_error>(big).err.id() == "bl.request.too_large");
}

TEST_CASE("a request keeps its EIDO exactly as the frame carried it", "[unit][eido][conveyance]") {
  // Spacing, member order, number forms and escapes as the CAD wrote them: the bytes between
  // the "eido" member's colon and the comma or brace after it.
  const std::string eido =
      "{ \"$id\" : \"urn:emergency:uid:incidentid:9:x\",\n  \"n\": 1.50E1, \"s\": "
      "\"a\\\"}b\\u00e9\","
      "\"k\":[{\"}\":\"]\"}] }";
  auto r = cv::parse_frame(
      "\xEF\xBB\xBF {\"requestForService\" :\n {\"requestId\":\"r1\", \"eido\" :  " + eido +
      " ,\"to\":[\"essex-fire\"]}}");
  REQUIRE(std::holds_alternative<cv::frame>(r));
  const auto& q = std::get<cv::request>(std::get<cv::frame>(r));
  CHECK(q.eido_text == eido);
  CHECK(q.eido == json::parse(eido));

  SECTION("an escaped member name means what it decodes to; a repeated one, the last") {
    auto e = cv::parse_frame(
        R"({"requestAwareness":{"requestId":"r2","eido":{"a":1},"\u0065ido":{"b":2}}})");
    REQUIRE(std::holds_alternative<cv::frame>(e));
    const auto& a = std::get<cv::request>(std::get<cv::frame>(e));
    CHECK(a.eido_text == R"({"b":2})");
    CHECK(a.eido == json::parse(a.eido_text));
  }
}
