// The EDXL-DE 2.0 JSON envelope: wrap and unwrap give back the message unchanged, a CAP alert
// can travel inside it, and every way an envelope can be wrong has its own error. Also replays
// the fuzzers' kept crash inputs (tests/fuzz/regressions/) through the parsers.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "adapters/cap/cap_alert.hpp"
#include "adapters/cap/edxl_envelope.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

namespace fs = std::filesystem;
using bl::adapters::edxl_content;
using bl::adapters::translate_error;
using nlohmann::json;

const fs::path root = BL_SOURCE_DIR;

json example(const std::string& name) {
  return bl::test::read_json(root / "schemas/examples/valid/message" / name);
}

translate_error unwrap_error(const json& doc) {
  auto r = bl::adapters::edxl_unwrap(doc.dump(), bl::test::repo_schemas());
  if (std::holds_alternative<edxl_content>(r)) FAIL("expected an error for " << doc.dump());
  return std::get<translate_error>(r);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("every request, update and cancel example survives bluelink -> EDXL-DE -> bluelink",
          "[unit][edxl]") {
  int n = 0;
  for (const auto& f : bl::test::example_files(root / "schemas/examples/valid/message")) {
    auto msg = bl::test::read_json(f);
    auto type = msg.value("type", "");
    if (type != "transfer.request" && type != "transfer.update" && type != "transfer.cancel")
      continue;
    INFO(f.filename().string());
    ++n;
    auto env = bl::adapters::edxl_wrap(msg);
    CHECK_FALSE(bl::test::repo_schemas().validate(bl::adapters::edxl_schema, env).has_value());
    auto r = bl::adapters::edxl_unwrap(env.dump(2), bl::test::repo_schemas());
    REQUIRE(std::holds_alternative<edxl_content>(r));
    CHECK(std::get<edxl_content>(r).message.dump() == msg.dump());
  }
  CHECK(n >= 14);
}

TEST_CASE("an envelope carries the routing fields of its message", "[unit][edxl]") {
  auto msg = example("01-request-police-traffic-management-a12-rtc.json");
  auto d = bl::adapters::edxl_wrap(msg)["EDXLDistribution"];
  CHECK(d["distributionID"] == msg["id"]);
  CHECK(d["senderID"] == "essex-fire@bluelink");
  CHECK(d["dateTimeSent"] == "2026-11-21T14:02:11Z");
  CHECK(d["dateTimeExpires"] == "2026-11-21T14:17:11Z");
  CHECK(d["distributionStatus"] == "Actual");
  CHECK(d["distributionKind"] == "Request");
  CHECK(d["explicitAddress"][0]["explicitAddressScheme"] == "bluelink");
  CHECK(d["explicitAddress"][0]["explicitAddressValue"] == json::array({"essex-police"}));
  CHECK(d["content"][0]["contentObject"]["jsonContent"] == msg);

  auto cancel = bl::adapters::edxl_wrap(example("19-cancel-hanningfield-misper-found.json"));
  CHECK(cancel["EDXLDistribution"]["distributionKind"] == "Cancel");
  CHECK(cancel["EDXLDistribution"]["dateTimeExpires"] == "2026-11-22T06:38:12Z");
  CHECK(cancel["EDXLDistribution"]["content"][0]["contentObject"]["contentDescriptor"]
              ["incidentID"] == "T-20261121-000058");
}

TEST_CASE("a CAP alert travels inside an envelope and is imported on unwrap", "[unit][edxl]") {
  auto msg = example("12-request-exercise-major-incident-wickford.json");
  auto xml = std::get<std::string>(bl::adapters::cap_export(msg));
  auto env = bl::adapters::edxl_wrap_cap(xml, msg);
  CHECK(env["EDXLDistribution"]["distributionStatus"] == "Exercise");
  auto r = bl::adapters::edxl_unwrap(env.dump(), bl::test::repo_schemas());
  REQUIRE(std::holds_alternative<edxl_content>(r));
  CHECK(std::get<edxl_content>(r).message == msg);
  CHECK(std::get<edxl_content>(r).cap_xml == xml);
}

TEST_CASE("a wrong envelope gets an error naming what is wrong", "[unit][edxl]") {
  auto msg = example("01-request-police-traffic-management-a12-rtc.json");
  auto env = bl::adapters::edxl_wrap(msg);

  SECTION("not JSON") {
    auto r = bl::adapters::edxl_unwrap("{\"EDXLDistribution\":", bl::test::repo_schemas());
    REQUIRE(std::holds_alternative<translate_error>(r));
    CHECK(std::get<translate_error>(r).code == "bl.edxl.malformed_json");
  }
  SECTION("too large") {
    auto r = bl::adapters::edxl_unwrap(std::string(2 * 1024 * 1024, ' '), bl::test::repo_schemas());
    REQUIRE(std::holds_alternative<translate_error>(r));
    CHECK(std::get<translate_error>(r).code == "bl.edxl.too_large");
  }
  SECTION("a missing distributionID") {
    env["EDXLDistribution"].erase("distributionID");
    auto e = unwrap_error(env);
    CHECK(e.code == "bl.edxl.invalid");
    CHECK(e.message.find("distributionID") != std::string::npos);
    CHECK(e.message.find("'/EDXLDistribution'") != std::string::npos);
  }
  SECTION("a bad distributionStatus") {
    env["EDXLDistribution"]["distributionStatus"] = "Live";
    auto e = unwrap_error(env);
    CHECK(e.code == "bl.edxl.invalid");
    CHECK(e.message.find("'/EDXLDistribution/distributionStatus'") != std::string::npos);
  }
  SECTION("an unknown key") {
    env["EDXLDistribution"]["senderRole"] = "fire";
    auto e = unwrap_error(env);
    CHECK(e.code == "bl.edxl.invalid");
    CHECK(e.message.find("'/EDXLDistribution/senderRole'") != std::string::npos);
  }
  SECTION("two content objects") {
    env["EDXLDistribution"]["content"].push_back(env["EDXLDistribution"]["content"][0]);
    auto e = unwrap_error(env);
    CHECK(e.code == "bl.edxl.content");
    CHECK(e.message.find("has 2 content objects") != std::string::npos);
  }
  SECTION("a message inside that fails its schema") {
    env["EDXLDistribution"]["content"][0]["contentObject"]["jsonContent"]["body"]["priority"] =
        "high";
    auto e = unwrap_error(env);
    CHECK(e.code == "bl.schema.invalid");
    CHECK(e.message.find("jsonContent: ") == 0);
    CHECK(e.message.find("'/body/priority'") != std::string::npos);
  }
  SECTION("a sender that does not match the message") {
    env["EDXLDistribution"]["senderID"] = "essex-police@bluelink";
    auto e = unwrap_error(env);
    CHECK(e.code == "bl.edxl.mismatch");
    CHECK(e.message ==
          "/EDXLDistribution/senderID is 'essex-police@bluelink' but the message "
          "inside says 'essex-fire@bluelink'");
  }
  SECTION("a status that does not match the message's mode") {
    env["EDXLDistribution"]["distributionStatus"] = "Exercise";
    CHECK(unwrap_error(env).code == "bl.edxl.mismatch");
  }
  SECTION("an embedded CAP alert with a DOCTYPE") {
    auto cap = bl::adapters::edxl_wrap_cap("<!DOCTYPE alert><alert/>", msg);
    auto e = unwrap_error(cap);
    CHECK(e.code == "bl.xml.dtd_refused");
    CHECK(e.message.find("embedded CAP alert: DTDs are not accepted") == 0);
  }
}

TEST_CASE("the fuzzers' kept inputs are read without crashing", "[unit][cap][edxl]") {
  // Every crasher the fuzzers find is saved under tests/fuzz/regressions/<target>/ and replayed
  // here in the ordinary test build; each must give a result or a specific error.
  for (const char* target : {"fuzz_cap_import", "fuzz_edxl_unwrap"}) {
    for (const char* tree : {"regressions", "corpus"}) {
      fs::path dir = root / "tests/fuzz" / tree / target;
      if (!fs::exists(dir)) continue;
      for (const auto& f : fs::directory_iterator(dir)) {
        INFO(f.path().string());
        auto data = slurp(f.path());
        if (std::string(target) == "fuzz_cap_import") {
          auto r = bl::adapters::cap_import(data, bl::test::repo_schemas());
          if (auto* e = std::get_if<translate_error>(&r)) CHECK_FALSE(e->message.empty());
        } else {
          auto r = bl::adapters::edxl_unwrap(data, bl::test::repo_schemas());
          if (auto* e = std::get_if<translate_error>(&r)) CHECK_FALSE(e->message.empty());
        }
      }
    }
  }
}

TEST_CASE("an EDXL-DE envelope nesting too deep is refused before it is parsed", "[unit][edxl]") {
  auto r = bl::adapters::edxl_unwrap(std::string(50000, '[') + std::string(50000, ']'),
                                     bl::test::repo_schemas());
  REQUIRE(std::holds_alternative<bl::adapters::translate_error>(r));
  CHECK(std::get<bl::adapters::translate_error>(r).code == "bl.request.too_deep");
}
