// Schema validation that no input can crash: every pattern is length-bounded in the schemas, and
// matched by libstdc++'s breadth-first executor whatever the schema says (gateway/core/safe_regex,
// gateway/schema/schema_set). Also the submission order: a gateway-only type is refused before
// its body is validated. The SIGSEGV these guard against (a 30,000-character what3words, a
// 40,000-character error code) took the whole process down from one request.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/core/json_bounded.hpp"
#include "gateway/core/message.hpp"
#include "gateway/core/safe_regex.hpp"
#include "gateway/schema/schema_set.hpp"
#include "tests/support/sample_messages.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_helpers.hpp"

using namespace bl;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path root = BL_SOURCE_DIR;

// Every problem in one schema document: a pattern without maxLength, format, patternProperties.
void audit(const json& node, const std::string& where, std::vector<std::string>& problems) {
  if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i)
      audit(node[i], where + "/" + std::to_string(i), problems);
    return;
  }
  if (!node.is_object()) return;
  if (node.contains("pattern") && node["pattern"].is_string() && !node.contains("maxLength"))
    problems.push_back(where + ": 'pattern' without 'maxLength'");
  // valijson's format checks compile their own std::regex with the recursive executor.
  if (node.contains("format") && node["format"].is_string())
    problems.push_back(where + ": 'format' (use a bounded pattern instead)");
  // valijson compiles patternProperties regexes itself, per object, with the recursive executor.
  if (node.contains("patternProperties") && node["patternProperties"].is_object())
    problems.push_back(where + ": 'patternProperties' (use propertyNames with a bounded pattern)");
  for (const auto& [key, value] : node.items()) {
    if (key == "enum" || key == "const" || key == "default" || key == "examples") continue;
    audit(value, where + "/" + key, problems);
  }
}

// A temporary schemas/ directory holding one schema, `name`.schema.json.
fs::path one_schema(const test::temp_dir& dir, const std::string& name, const json& schema) {
  fs::path folder = dir.path() / "schemas" / "t";
  fs::create_directories(folder);
  std::ofstream(folder / (name + ".schema.json")) << schema.dump(2);
  return dir.path() / "schemas";
}

json with_location(json msg, const json& location) {
  msg["body"]["methane"]["exact_location"].update(location);
  return msg;
}

}  // namespace

TEST_CASE("every schema pattern has a maxLength and no schema uses format or patternProperties",
          "[unit][schema][safety]") {
  std::vector<std::string> problems;
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(root / "schemas")) {
    auto name = e.path().filename().string();
    if (!e.is_regular_file() || name.size() < 12 ||
        name.compare(name.size() - 12, 12, ".schema.json") != 0)
      continue;
    ++files;
    auto rel = fs::relative(e.path(), root / "schemas").generic_string();
    audit(test::read_json(e.path()), rel + "#", problems);
  }
  CHECK(files > 30);
  for (const auto& p : problems) UNSCOPED_INFO(p);
  CHECK(problems.empty());
}

TEST_CASE("a million-character string is matched against an unbounded pattern without a crash",
          "[unit][schema][safety]") {
  // No maxLength here on purpose: the executor itself must not recurse per character.
  test::temp_dir dir;
  auto schemas =
      one_schema(dir, "w3w",
                 {{"$schema", "http://json-schema.org/draft-07/schema#"},
                  {"type", "object"},
                  {"properties",
                   {{"w3w", {{"type", "string"}, {"pattern", "^///[a-z]+\\.[a-z]+\\.[a-z]+$"}}},
                    {"nested", {{"type", "string"}, {"pattern", "^(a+)+$"}}}}}});
  schema_set s(schemas);
  const std::string letters(1000000, 'a');

  SECTION("a long string that does not match is refused") {
    auto e = s.validate("t/w3w", json{{"w3w", "///" + letters + ".b.c!"}});
    REQUIRE(e);
    CHECK(e->pointer == "/w3w");
    CHECK(s.validate_all("t/w3w", json{{"w3w", "///" + letters + "!"}}).size() == 1);
  }
  SECTION("a long string that matches is accepted") {
    CHECK_FALSE(s.validate("t/w3w", json{{"w3w", "///" + letters + ".b.c"}}));
  }
  SECTION("nested quantifiers do not backtrack exponentially") {
    CHECK(s.validate("t/w3w", json{{"nested", std::string(5000, 'a') + "b"}}));
    CHECK_FALSE(s.validate("t/w3w", json{{"nested", std::string(5000, 'a')}}));
  }
}

TEST_CASE("a schema pattern with a back-reference is refused when the schemas are loaded",
          "[unit][schema][safety]") {
  test::temp_dir dir;
  auto schemas =
      one_schema(dir, "backref", {{"type", "string"}, {"pattern", "^(a+)\\1$"}, {"maxLength", 10}});
  try {
    schema_set s(schemas);
    FAIL("the schema was loaded");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(),
               Catch::Contains("backref.schema.json") && Catch::Contains("back-reference"));
  }
}

TEST_CASE("safe regexes refuse back-references and use the breadth-first executor",
          "[unit][schema][safety]") {
  CHECK(has_back_reference("^(a)\\1$"));
  CHECK(has_back_reference("(?:x)\\k<name>"));
  CHECK_FALSE(has_back_reference("^\\\\1$"));  // an escaped backslash, then the digit 1
  CHECK_FALSE(has_back_reference("^a\\0b$"));
  CHECK_FALSE(has_back_reference("^[a-z]+\\.[0-9]{1,3}$"));
  CHECK_THROWS_AS(make_safe_regex("(a)\\1"), std::invalid_argument);
  CHECK_THROWS_AS(make_safe_regex("(unbalanced"), std::regex_error);
  auto re = make_safe_regex("^///[a-z]+\\.[a-z]+\\.[a-z]+$");
  CHECK(is_safe_regex(re));
  CHECK_FALSE(is_safe_regex(std::regex("^a+$")));
  CHECK(std::regex_match("///" + std::string(200000, 'x') + ".b.c", re));
  CHECK_FALSE(std::regex_match("///" + std::string(200000, 'x') + ".b.", re));
}

TEST_CASE("the security review's crashing messages are refused by schema validation",
          "[unit][schema][safety]") {
  const auto& s = test::repo_schemas();
  const std::string letters(30000, 'a');

  SECTION("a 30,000-letter what3words is a schema violation at its pointer") {
    auto msg = with_location(test::rtc_request("essex-fire:w3w-1"),
                             {{"what3words", "///" + letters + ".b.c"}});
    auto e = s.validate_submission(msg);
    REQUIRE(e);
    CHECK(e->code == errc::schema_invalid);
    CHECK(e->pointer == "/body/methane/exact_location/what3words");
    CHECK_FALSE(s.validate_message_all(msg).empty());
    CHECK_FALSE(s.validate_submission_all(msg).empty());
  }
  SECTION("a what3words of ordinary length is still accepted") {
    auto msg = with_location(test::rtc_request("essex-fire:w3w-2"),
                             {{"what3words", "///filled.count.soap"}});
    CHECK_FALSE(s.validate_submission(msg));
  }
  SECTION("an error message is refused as not submittable before its 40,000-character code") {
    auto msg = test::read_json(root / "schemas/examples/valid/message/22-error-stale-version.json");
    msg["from"] = "essex-fire";
    msg["id"] = "essex-fire:err-1";
    msg["body"]["code"] = "bl." + std::string(40000, 'x') + ".y";
    auto e = s.validate_submission(msg);
    REQUIRE(e);
    CHECK(e->code == errc::not_submittable);
    CHECK(e->pointer == "/type");
    auto all = s.validate_submission_all(msg);
    REQUIRE(all.size() == 1);
    CHECK(all[0].code == errc::not_submittable);
    // validate_message() (for what the gateway generates itself) still checks the body.
    auto body = s.validate_message(msg);
    REQUIRE(body);
    CHECK(body->pointer == "/body/code");
  }
}

TEST_CASE("every gateway-only type is refused on submission, whatever its body",
          "[unit][schema][safety]") {
  const auto& s = test::repo_schemas();
  for (const char* file : {"20-receipt-a12-rtc-stored.json", "22-error-stale-version.json",
                           "24-alert-delivery-overdue-violence.json"}) {
    auto msg = test::read_json(root / "schemas/examples/valid/message" / file);
    INFO(file);
    CHECK_FALSE(s.validate_message(msg));  // valid as the gateway generates it
    msg["body"] = json{{"anything", std::string(50000, 'z')}};
    auto e = s.validate_submission(msg);
    REQUIRE(e);
    CHECK(e->code == errc::not_submittable);
  }
  SECTION("an agency's own types pass on to the body") {
    auto msg = test::rtc_request("essex-fire:ok-1");
    CHECK_FALSE(s.validate_submission(msg));
    CHECK(s.validate_submission_all(msg).empty());
  }
}

TEST_CASE("the message validation fuzzer's corpus and kept crashers are validated without a crash",
          "[unit][schema][safety]") {
  // The same steps as tests/fuzz/fuzz_message_validation.cpp, for every file it keeps.
  const auto& s = test::repo_schemas();
  int files = 0;
  for (const char* tree : {"regressions", "corpus"}) {
    fs::path dir = root / "tests/fuzz" / tree / "fuzz_message_validation";
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (!e.is_regular_file() || e.path().filename().string().front() == '.') continue;
      ++files;
      INFO(e.path().string());
      std::ifstream in(e.path(), std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      json doc;
      json_limits limits;
      limits.max_bytes = 64 * 1024;
      if (parse_json_bounded(text, doc, limits, "the request body")) continue;
      (void)s.validate_submission_all(doc);
      (void)s.validate_message_all(doc);
      if (!doc.is_object() || s.validate_submission(doc)) continue;
      auto parsed = parse_message(doc);
      if (auto* m = std::get_if<message>(&parsed)) CHECK_FALSE(m->doc.dump().empty());
    }
  }
  CHECK(files >= 25);
}
